"""The supplier update API (issue 13) as a supplier's system sees it: acknowledge, cancel,
ship; scopes, errors, idempotency, and the update on the order's timeline."""

import json
import threading

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from orders.models import Cancellation, IdempotencyKey, Order, OrderEvent, OrderLine, Shipment
from suppliers.services import api_token_create
from testsupport.factories import place_order


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


def client_for(supplier, *, update=True, name="warehouse"):
    _, plain = api_token_create(supplier=supplier, name=name, can_update=update)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def order(retailer, acme):
    (order,) = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
    )
    return order


@pytest.fixture
def api(acme):
    return client_for(acme)


# A valid body for each update endpoint (an unknown key is a 400).
BODIES = {
    "acknowledgement": {},
    "cancellation": {"reason": "other", "note": "x"},
    "shipments": {"carrier": "DPD"},
}


def url(order_or_number, action):
    number = getattr(order_or_number, "number", order_or_number)
    return f"/api/v1/orders/{number}/{action}"


def snapshot(order):
    order = Order.objects.get(pk=order.pk)
    lines = list(
        OrderLine.objects.filter(order=order)
        .order_by("line_no")
        .values_list("quantity_cancelled", "quantity_shipped")
    )
    return (order.status, order.version, order.acknowledged_at, lines, order.events.count())


# --- Success -------------------------------------------------------------------------------


def test_acknowledge_records_when_and_how_and_repeating_is_harmless(api, order):
    response = api.post(url(order, "acknowledgement"), {}, format="json")
    assert response.status_code == 200, response.content
    document = response.json()
    assert document["number"] == order.number
    assert document["acknowledged_at"] is not None
    assert document["acknowledge_by"] is not None
    order.refresh_from_db()
    assert order.acknowledged_via == "api"
    event = order.events.get(type="order.acknowledged")
    assert event.actor == "api:warehouse"
    assert event.data["channel"] == {"via": "api", "by": "warehouse"}

    before = snapshot(order)
    again = api.post(url(order, "acknowledgement"), {}, format="json")
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == document["acknowledged_at"]
    assert snapshot(order) == before  # no second event, no new version


def test_partial_cancellation_answers_with_the_document(api, order):
    response = api.post(
        url(order, "cancellation"),
        {
            "reason": "out_of_stock",
            "note": "One sold in store",
            "lines": [{"line": 2, "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    document = response.json()
    assert document["status"] == "placed"
    assert [line["quantity_cancelled"] for line in document["lines"]] == [0, 1]
    assert document["acknowledged_at"] is not None  # cancelling acknowledges
    event = OrderEvent.objects.get(order=order, type="order.lines_cancelled")
    assert event.data["channel"] == {"via": "api", "by": "warehouse"}
    assert event.actor == "api:warehouse"


def test_shipping_every_open_unit_is_201_and_ships_the_order(api, order):
    response = api.post(
        url(order, "shipments"), {"carrier": "DPD", "tracking_number": "1550"}, format="json"
    )
    assert response.status_code == 201, response.content
    document = response.json()
    assert document["status"] == "shipped"
    assert document["shipments"][-1]["carrier"] == "DPD"
    assert [line["quantity_shipped"] for line in document["lines"]] == [2, 3]
    order.refresh_from_db()
    assert order.acknowledged_via == "api"


def test_cancellation_by_api_emails_the_retailer_at_a_real_smtp_server(
    api, order, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            url(order, "cancellation"),
            {"reason": "out_of_stock", "note": "Warehouse fire, sorry"},
            format="json",
        )
    assert response.status_code == 200, response.content
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["buyers@shopco.example"]
    assert order.number in mail.subject and "cancelled" in mail.subject.lower()
    assert "Warehouse fire, sorry" in mail.body("plain")
    # The supplier cancelled it itself (by API): no "do not ship" email to it.
    assert all(m.rcpt_tos != ["orders@acme.example"] for m in email_via_smtp.messages)


# --- 400, 403, 404, 409 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("cancellation", {"reason": "bored", "note": "x"}, "reason"),
        ("cancellation", {"reason": "other"}, "note"),
        (
            "cancellation",
            {"reason": "other", "note": "x", "lines": [{"line": 1}]},
            "lines.0.quantity",
        ),
        (
            "cancellation",
            {"reason": "other", "note": "x", "lines": [{"line": 9, "quantity": 1}]},
            "lines.0.line",
        ),
        ("cancellation", {"reason": "other", "note": "x", "lines": []}, "lines"),
        ("shipments", {"tracking_number": "1"}, "carrier"),
        (
            "shipments",
            {"carrier": "DPD", "lines": [{"line": 1, "quantity": 0}]},
            "lines.0.quantity",
        ),
        ("shipments", {"carrier": "D\x00PD"}, "carrier"),
        ("acknowledgement", [1, 2], "body"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_changes_nothing(api, order, action, body, field):
    before = snapshot(order)
    response = api.post(url(order, action), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert snapshot(order) == before


def test_each_body_is_judged_on_its_own_one_after_another(api, order):
    # The bodies' fields are shared by every request (orders/api/update_bodies.py `_Body`): no
    # answer carries anything of the one before.
    bad = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 0}, {"line": 2}]}
    first = api.post(url(order, "shipments"), bad, format="json")
    assert first.status_code == 400
    assert set(first.json()["errors"]) == {"lines.0.quantity", "lines.1.quantity"}
    good = {"carrier": "DPD", "lines": [{"line": 2, "quantity": 1}]}
    shipped = api.post(url(order, "shipments"), good, format="json")
    assert shipped.status_code == 201, shipped.content
    assert [line["quantity_shipped"] for line in shipped.json()["lines"]] == [0, 1]
    other = api.post(
        url(order, "shipments"), {"lines": [{"line": 1, "quantity": 1}]}, format="json"
    )
    assert other.status_code == 400 and set(other.json()["errors"]) == {"carrier"}


@pytest.mark.parametrize("action", ["acknowledgement", "cancellation", "shipments"])
def test_an_update_answer_is_never_cached(api, order, action):
    body = BODIES[action]
    response = api.post(url(order, action), body, format="json")
    assert response.status_code in (200, 201), response.content
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.parametrize("action", ["acknowledgement", "cancellation", "shipments"])
def test_a_read_only_token_is_403_naming_the_scope(acme, order, action):
    reader = client_for(acme, update=False)
    before = snapshot(order)
    body = BODIES[action]
    response = reader.post(url(order, action), body, format="json")
    assert response.status_code == 403
    assert "scope" in response.json()["errors"]
    assert snapshot(order) == before
    assert reader.get(f"/api/v1/orders/{order.number}").status_code == 200  # it still reads


@pytest.mark.parametrize("action", ["acknowledgement", "cancellation", "shipments"])
def test_unknown_or_another_suppliers_order_is_404(bolt, api, order, action):
    body = BODIES[action]
    assert api.post(url("PO-NOPE", action), body, format="json").status_code == 404
    before = snapshot(order)
    response = client_for(bolt).post(url(order, action), body, format="json")
    assert response.status_code == 404
    assert "detail" in response.json()["errors"]
    assert snapshot(order) == before


def test_more_than_is_open_is_409_and_changes_nothing(api, order):
    before = snapshot(order)
    response = api.post(
        url(order, "shipments"),
        {"carrier": "DPD", "lines": [{"line": 1, "quantity": 3}]},
        format="json",
    )
    assert response.status_code == 409, response.content
    assert "lines.0.quantity" in response.json()["errors"]
    assert snapshot(order) == before


@pytest.mark.parametrize("action", ["acknowledgement", "cancellation", "shipments"])
def test_a_final_order_is_409(api, order, action):
    from orders.services import order_set_status

    order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    before = snapshot(order)
    body = BODIES[action]
    response = api.post(url(order, action), body, format="json")
    assert response.status_code == 409, response.content
    assert snapshot(order) == before


def test_the_update_scope_is_made_by_command_and_listed(acme, capsys):
    call_command("create_api_token", "acme", "--name", "wms", "--update")
    plain = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert client.post(url("PO-NOPE", "acknowledgement"), {}, format="json").status_code == 404
    call_command("create_api_token", "acme", "--name", "reader")
    capsys.readouterr()
    call_command("list_api_tokens", "acme")
    listing = capsys.readouterr().out
    assert "\tscope\t" in listing.splitlines()[0]
    assert any("wms\tread_update" in line for line in listing.splitlines())
    assert any("reader\tread\t" in line for line in listing.splitlines())


# --- Idempotency-Key --------------------------------------------------------------------


def test_same_key_same_body_replays_the_first_answer_and_applies_nothing(api, order):
    body = {"carrier": "DPD", "tracking_number": "1", "lines": [{"line": 1, "quantity": 1}]}
    first = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    before = snapshot(order)
    again = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert snapshot(order) == before  # one shipment, not two
    assert Shipment.objects.filter(order=order).count() == 1


def test_same_key_other_body_is_422_naming_the_header(api, order):
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    assert (
        api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code
        == 201
    )
    before = snapshot(order)
    other = {"carrier": "DPD", "lines": [{"line": 2, "quantity": 1}]}
    response = api.post(url(order, "shipments"), other, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]
    assert snapshot(order) == before


def test_keys_are_per_supplier_and_a_bad_key_is_400(api, bolt, retailer, order):
    (bolts,) = place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])
    assert (
        api.post(
            url(order, "acknowledgement"), {}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        ).status_code
        == 200
    )
    bolt_api = client_for(bolt)
    response = bolt_api.post(
        url(bolts, "acknowledgement"), {}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert response.status_code == 200
    assert response.json()["number"] == bolts.number
    # A bad key is refused before anything is applied: a shipment it would have made is not.
    before, keys = snapshot(order), IdempotencyKey.objects.count()
    bad = api.post(
        url(order, "shipments"),
        {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="x" * 300,
    )
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["errors"]
    assert snapshot(order) == before
    assert not Shipment.objects.filter(order=order).exists()
    assert IdempotencyKey.objects.count() == keys == 2  # the two "same" keys only


def test_a_refused_request_keeps_nothing_so_its_fix_applies_with_the_same_key(api, order):
    # A field the service refused (no line 9): 400, and the key is not used up.
    wrong = {"reason": "other", "note": "n", "lines": [{"line": 9, "quantity": 1}]}
    before = snapshot(order)
    refused = api.post(url(order, "cancellation"), wrong, format="json", HTTP_IDEMPOTENCY_KEY="K")
    assert refused.status_code == 400 and "lines.0.line" in refused.json()["errors"]
    assert snapshot(order) == before
    assert not IdempotencyKey.objects.exists()
    fixed = {"reason": "other", "note": "n", "lines": [{"line": 2, "quantity": 1}]}
    applied = api.post(url(order, "cancellation"), fixed, format="json", HTTP_IDEMPOTENCY_KEY="K")
    assert applied.status_code == 200, applied.content
    assert "Idempotent-Replayed" not in applied
    assert [line["quantity_cancelled"] for line in applied.json()["lines"]] == [0, 1]
    # No such order (a mistyped number): 404, and the key ships the right one after it.
    body = {"carrier": "DPD"}
    missing = api.post(url("PO-99999", "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="L")
    assert missing.status_code == 404
    assert IdempotencyKey.objects.filter(key="L").count() == 0
    shipped = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="L")
    assert shipped.status_code == 201, shipped.content
    assert shipped.json()["status"] == "shipped"
    assert Shipment.objects.filter(order=order).count() == 1


def test_a_409_is_kept_and_replayed_and_applies_nothing(api, order):
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 3}]}  # line 1 has 2
    before = snapshot(order)
    first = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="K")
    assert first.status_code == 409 and "lines.0.quantity" in first.json()["errors"]
    again = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="K")
    assert again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert snapshot(order) == before
    assert not Shipment.objects.filter(order=order).exists()


def test_an_expired_key_is_forgotten(api, order, settings):
    from datetime import timedelta

    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25)
    )
    again = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201
    assert Shipment.objects.filter(order=order).count() == 2  # a new request after 24 h
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_identical_requests_with_one_key_apply_once(on_postgres, retailer, acme):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 5}])
    _, plain = api_token_create(supplier=acme, name="wms", can_update=True)
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    barrier = threading.Barrier(2)
    answers = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        try:
            barrier.wait(timeout=10)
            answers.append(
                client.post(
                    url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="race"
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [201, 201]
    assert answers[0].content == answers[1].content
    assert Shipment.objects.filter(order=order).count() == 1
    assert OrderLine.objects.get(order=order).quantity_shipped == 1


@pytest.mark.django_db(transaction=True)
def test_a_key_expired_and_deleted_by_another_request_mid_claim_is_claimed_afresh(
    on_postgres, acme, retailer, monkeypatch
):
    """Between the claim's INSERT (which met the stored key) and its read of that key,
    another request of the supplier's deletes the key as expired and commits: the key is
    free, so the request is applied as new, not answered 500 (found in review)."""
    from orders.services import idempotency

    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 2}])
    api = client_for(acme)
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    first = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="edge")
    assert first.status_code == 201
    original = idempotency.statements_pipelined

    def pipelined_then_expired_elsewhere(conn, statements):
        results = original(conn, statements)
        if not results[-1]:  # the INSERT met the stored key: now another request expires it

            def other_request():
                try:
                    IdempotencyKey.objects.filter(supplier=acme, key="edge").delete()
                finally:
                    connection.close()

            thread = threading.Thread(target=other_request)
            thread.start()
            thread.join(timeout=30)
        return results

    monkeypatch.setattr(idempotency, "statements_pipelined", pipelined_then_expired_elsewhere)
    again = api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="edge")
    assert again.status_code == 201, again.content
    assert "Idempotent-Replayed" not in again
    assert Shipment.objects.filter(order=order).count() == 2  # applied as a new request
    assert IdempotencyKey.objects.filter(supplier=acme, key="edge").count() == 1


@pytest.mark.parametrize(
    ("action", "body", "typo"),
    [
        # Meant: cancel one unit of line 2; with the key misspelt it cancelled the whole order
        # and emailed the retailer so.
        (
            "cancellation",
            {"reason": "other", "note": "n", "line": [{"line": 2, "quantity": 1}]},
            "line",
        ),
        (
            "cancellation",
            {"reason": "other", "note": "n", "items": [{"line": 2, "quantity": 1}]},
            "items",
        ),
        ("shipments", {"carrier": "DPD", "Lines": [{"line": 1, "quantity": 1}]}, "Lines"),
        ("shipments", {"carrier": "DPD", "lines": [{"line": 1, "qty": 1, "quantity": 1}]}, "lines"),
        ("acknowledgement", {"note": "ok"}, "note"),
    ],
)
def test_an_unknown_body_key_is_a_400_naming_it_and_changes_nothing(
    api, order, action, body, typo, email_via_smtp
):
    before = snapshot(order)
    response = api.post(url(order, action), body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(key == typo or key.startswith(f"{typo}.") for key in errors), errors
    assert "Unknown field" in json.dumps(errors)
    assert snapshot(order) == before
    assert not Shipment.objects.filter(order=order).exists()
    assert not Cancellation.objects.filter(order=order).exists()
    assert email_via_smtp.messages == []


@pytest.mark.parametrize(
    "action, body, field",
    [
        ("shipments", b'{"carrier": "DPD", "\\ud800": 1}', "\\ud800"),
        (
            "shipments",
            b'{"carrier": "DPD", "lines": [{"line": 1, "quantity": 1, "x\\udfff": 1}]}',
            "lines.0.x\\udfff",
        ),
        ("cancellation", b'{"reason": "other", "note": "n", "\\ud800lines": []}', "\\ud800lines"),
        ("acknowledgement", b'{"\\udc80": true}', "\\udc80"),
        # DRF's message quotes the choice given.
        ("cancellation", b'{"reason": "\\ud800", "note": "n"}', "reason"),
    ],
)
def test_a_lone_surrogate_quoted_in_the_error_is_a_400_naming_the_field(
    api, order, action, body, field, email_via_smtp
):
    # JSON's "\ud800" decodes to a lone surrogate, which no answer can encode: an error that
    # quoted it (an unknown key, a choice) was a 500. It is written as its escape.
    before = snapshot(order)
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": f"odd-{action}"}):
        response = api.generic(
            "POST", url(order, action), body, content_type="application/json", **headers
        )
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert list(errors) == [field], errors
    assert snapshot(order) == before
    assert not IdempotencyKey.objects.exists()
    assert not Shipment.objects.filter(order=order).exists()
    assert not Cancellation.objects.filter(order=order).exists()
    assert email_via_smtp.messages == []


@pytest.mark.parametrize("action", ["cancellation", "shipments"])
def test_more_lines_than_an_order_can_have_is_one_400_naming_lines(
    api, order, action, email_via_smtp
):
    from orders.intake import MAX_LINES

    # Was one error per item: 80,000 items (within the body limit) took a worker some 10 s
    # and answered 4.5 MB.
    items = [{"line": 1 + i % 2, "quantity": 1} for i in range(MAX_LINES + 1)]
    before = snapshot(order)
    response = api.post(url(order, action), {**BODIES[action], "lines": items}, format="json")
    assert response.status_code == 400, response.content[:300]
    errors = response.json()["errors"]
    assert list(errors) == ["lines"] and str(MAX_LINES) in errors["lines"][0], errors
    assert snapshot(order) == before
    assert not Shipment.objects.filter(order=order).exists()
    assert not Cancellation.objects.filter(order=order).exists()
    assert email_via_smtp.messages == []


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/order", "/api/v2/orders"])
def test_a_path_under_api_that_names_no_endpoint_is_a_json_404(api, path):
    response = api.get(path, {"created_after": "2026-01-01T00:00:00Z"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "path" in response.json()["errors"]
    # The portal keeps its own page.
    assert "text/html" in api.get("/orders/no-such-page/")["Content-Type"]
