"""The retailer intake API, as a retailer's system sees it."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent, OrderIntake, OrderLine
from testsupport.factories import intake_payload, make_products, make_supplier

URL = "/api/v1/retailer/orders"


def nothing_written():
    assert OrderIntake.objects.count() == 0
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.fixture
def cole(db):
    supplier = make_supplier(slug="cole", name="Cole Candles")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    return supplier


def test_three_supplier_order_splits_into_three_orders(retailer_client, acme, bolt, cole):
    payload = intake_payload(
        reference="R-1001",
        placed_at="2026-11-27T10:00:00Z",
        lines=[
            {"sku": "ACME-001", "quantity": 2},
            {"sku": "BOLT-7", "quantity": 1},
            {"sku": "ACME-003", "quantity": 1},
            {"sku": "COLE-1", "quantity": 3},
        ],
    )
    response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "R-1001"
    by_supplier = {doc["supplier"]: doc for doc in body["orders"]}
    assert set(by_supplier) == {"acme", "bolt", "cole"}

    acme_doc = by_supplier["acme"]
    assert [(ln["sku"], ln["quantity"], ln["line_total"]) for ln in acme_doc["lines"]] == [
        ("ACME-001", 2, "19.00"),
        ("ACME-003", 1, "24.00"),
    ]
    assert [ln["line"] for ln in acme_doc["lines"]] == [1, 2]
    assert acme_doc["total"] == "43.00"
    assert acme_doc["currency"] == "GBP"
    assert acme_doc["status"] == "placed"
    assert acme_doc["placed_at"] == "2026-11-27T10:00:00Z"
    assert acme_doc["retailer"] == {"slug": "shopco", "name": "Shopco", "reference": "R-1001"}
    assert acme_doc["shipping_address"]["country"] == "GB"
    assert acme_doc["cancellation"] is None and acme_doc["shipment"] is None
    assert by_supplier["bolt"]["total"] == "5.80"
    assert by_supplier["cole"]["total"] == "36.00"

    numbers = {doc["number"] for doc in body["orders"]}
    assert len(numbers) == 3 and all(n.startswith("PO-") for n in numbers)
    acme_order = Order.objects.get(number=acme_doc["number"])
    assert acme_order.commission_rate == Decimal("0.1000")
    assert acme_order.commission_amount == Decimal("4.30")
    assert acme_order.item_count == 3
    assert OrderEvent.objects.filter(type="order.created").count() == 3
    assert set(OrderEvent.objects.values_list("actor", flat=True)) == {"retailer:shopco"}


def test_same_reference_twice_returns_the_same_orders(retailer_client, acme, bolt):
    payload = intake_payload(
        reference="R-2",
        lines=[{"sku": "ACME-001", "quantity": 1}, {"sku": "BOLT-7", "quantity": 1}],
    )
    first = retailer_client.post(URL, payload, format="json")
    second = retailer_client.post(URL, payload, format="json")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"  # as a replayed update answer says it
    assert second.json() == first.json()
    assert Order.objects.count() == 2
    assert OrderEvent.objects.count() == 2


def test_a_reference_reused_for_another_order_says_it_was_replayed_and_places_nothing(
    retailer_client, acme, bolt
):
    """The contract answers a known reference with its first orders; the header is how a
    retailer that reused a reference for a new order learns that nothing was placed."""
    first = retailer_client.post(URL, intake_payload(reference="R-9"), format="json")
    other = intake_payload(reference="R-9", lines=[{"sku": "BOLT-7", "quantity": 5}])
    again = retailer_client.post(URL, other, format="json")
    assert first.status_code == 201
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert not Order.objects.filter(supplier__slug="bolt").exists()


def test_same_reference_from_another_retailer_is_a_new_order(retailer_client, acme):
    from testsupport.factories import make_retailer

    _, other_key = make_retailer(slug="other")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    payload = intake_payload(reference="R-3")
    assert retailer_client.post(URL, payload, format="json").status_code == 201
    assert other.post(URL, payload, format="json").status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_posts_make_one_set(on_postgres, retailer_and_key, acme, bolt):
    payload = intake_payload(
        reference="R-RACE",
        lines=[{"sku": "ACME-001", "quantity": 1}, {"sku": "BOLT-7", "quantity": 2}],
    )
    key = retailer_and_key[1]
    barrier = threading.Barrier(20)
    results = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        try:
            barrier.wait(timeout=30)
            response = client.post(URL, payload, format="json")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(code for code, _ in results)
    assert len(results) == 20
    assert codes.count(201) == 1 and codes.count(200) == 19, [
        r for r in results if r[0] not in (200, 201)
    ]
    numbers = {tuple(sorted(o["number"] for o in body["orders"])) for _, body in results}
    assert len(numbers) == 1
    assert Order.objects.count() == 2
    assert OrderIntake.objects.count() == 1
    assert OrderEvent.objects.count() == 2


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda p: p["lines"].__setitem__(0, {"sku": "NOPE-1", "quantity": 1}), "lines.0.sku"),
        (
            lambda p: p["lines"].__setitem__(0, {"sku": "ACME-001", "quantity": 0}),
            "lines.0.quantity",
        ),
        (
            lambda p: p["lines"].__setitem__(0, {"sku": "ACME-001", "quantity": -3}),
            "lines.0.quantity",
        ),
        (
            lambda p: p["lines"].__setitem__(0, {"sku": "ACME-001", "quantity": "2"}),
            "lines.0.quantity",
        ),
        (
            lambda p: p["lines"].__setitem__(0, {"sku": "ACME-001", "quantity": 1.5}),
            "lines.0.quantity",
        ),
        (lambda p: p["lines"].__setitem__(0, {"sku": 17, "quantity": 1}), "lines.0.sku"),
        (lambda p: p["shipping_address"].pop("city"), "shipping_address.city"),
        (lambda p: p["shipping_address"].__setitem__("country", "XX"), "shipping_address.country"),
        (lambda p: p["customer"].__setitem__("name", ["Ann"]), "customer.name"),
        (lambda p: p["customer"].__setitem__("email", "not-an-email"), "customer.email"),
        (lambda p: p.__setitem__("lines", []), "lines"),
        (lambda p: p.__setitem__("lines", "ACME-001"), "lines"),
        (lambda p: p.pop("reference"), "reference"),
        (lambda p: p.__setitem__("reference", 1001), "reference"),
        (lambda p: p.__setitem__("placed_at", "yesterday"), "placed_at"),
        (lambda p: p.__setitem__("placed_at", "2026-11-27T10:00:00"), "placed_at"),
        (lambda p: p.pop("shipping_address"), "shipping_address"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(retailer_client, acme, mutate, field):
    payload = intake_payload(reference="R-BAD")
    mutate(payload)
    response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    assert all(isinstance(m, str) and m for m in errors[field])
    nothing_written()


def test_a_bad_line_among_good_ones_writes_nothing(retailer_client, acme, bolt):
    payload = intake_payload(
        lines=[
            {"sku": "ACME-001", "quantity": 1},
            {"sku": "BOLT-7", "quantity": 1},
            {"sku": "X", "quantity": 1},
        ]
    )
    response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["lines.2.sku"]
    nothing_written()


def test_non_json_body_is_400(retailer_client, acme):
    response = retailer_client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    nothing_written()


def test_json_that_is_not_an_object_is_400(retailer_client, acme):
    response = retailer_client.post(URL, data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    nothing_written()


def test_oversized_body_is_400(retailer_client, acme, settings):
    settings.INTAKE_MAX_BODY_BYTES = 2000
    payload = intake_payload(reference="R-BIG")
    payload["customer"]["name"] = "A" * 5000
    response = retailer_client.post(URL, data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    nothing_written()


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_wrong_key_is_401(db, acme, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(URL, intake_payload(), format="json")
    assert response.status_code == 401
    assert "authorization" in response.json()["errors"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    nothing_written()


def test_inactive_retailer_key_is_401(retailer_client, retailer, acme):
    retailer.is_active = False
    retailer.save(update_fields=["is_active"])
    response = retailer_client.post(URL, intake_payload(), format="json")
    assert response.status_code == 401
    nothing_written()


def test_order_numbers_are_unique_and_increasing(retailer_client, acme):
    numbers = []
    for i in range(5):
        body = retailer_client.post(URL, intake_payload(reference=f"N-{i}"), format="json").json()
        numbers.append(int(body["orders"][0]["number"].removeprefix("PO-")))
    assert numbers == sorted(numbers) and len(set(numbers)) == 5


def test_mixed_currencies_for_one_supplier_are_refused(retailer_client, acme):
    make_products(supplier=acme, skus={"ACME-USD": "3.00"}, currency="USD")
    payload = intake_payload(
        lines=[{"sku": "ACME-001", "quantity": 1}, {"sku": "ACME-USD", "quantity": 1}]
    )
    response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "lines" in response.json()["errors"]
    nothing_written()


def test_repeat_after_the_catalogue_changed_still_returns_the_first_orders(retailer_client, acme):
    payload = intake_payload(reference="R-AGAIN")
    first = retailer_client.post(URL, payload, format="json")
    assert first.status_code == 201
    acme.products.filter(sku="ACME-001").update(is_active=False)
    second = retailer_client.post(URL, payload, format="json")
    assert second.status_code == 200, second.content
    assert second.json() == first.json()
    assert Order.objects.count() == 1 and OrderEvent.objects.count() == 1


def test_new_intake_query_count_is_bounded(retailer_client, acme, django_assert_max_num_queries):
    payload = intake_payload(
        lines=[
            {"sku": "ACME-001", "quantity": 1},
            {"sku": "ACME-002", "quantity": 1},
            {"sku": "ACME-003", "quantity": 1},
        ]
    )
    # Inside the test's transaction. SQLite: key, catalogue, savepoint, intake, number,
    # orders, lines, events, release. PostgreSQL: key, catalogue, savepoint, the one write
    # statement (orders/services/intake_write.py), NOTIFY, release; outside a transaction it
    # is three round trips in all (test_intake_round_trips.py).
    from django.db import connection

    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 9):
        response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 201


def test_requests_validated_one_after_another_keep_their_own_errors(retailer_client, acme):
    """One serializer validates every request (orders/intake/); nothing carries over."""
    bad_city = intake_payload(reference="R-1")
    bad_city["shipping_address"].pop("city")
    bad_qty = intake_payload(reference="R-2", lines=[{"sku": "ACME-001", "quantity": 0}])
    good = intake_payload(reference="R-3")

    first = retailer_client.post(URL, bad_city, format="json")
    assert list(first.json()["errors"]) == ["shipping_address.city"]
    assert retailer_client.post(URL, good, format="json").status_code == 201
    third = retailer_client.post(URL, bad_qty, format="json")
    assert list(third.json()["errors"]) == ["lines.0.quantity"]
    assert OrderIntake.objects.get().reference == "R-3"


def test_an_order_too_big_to_store_is_refused_naming_lines(retailer_client, acme):
    make_products(supplier=acme, skus={"ACME-GOLD": "9999999999.99"})
    payload = intake_payload(reference="R-HUGE", lines=[{"sku": "ACME-GOLD", "quantity": 100_000}])
    response = retailer_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert "more than one order can hold" in response.json()["errors"]["lines"][0]
    nothing_written()


def test_an_inactive_suppliers_items_are_unknown_skus(retailer_client, acme):
    acme.is_active = False
    acme.save(update_fields=["is_active"])
    response = retailer_client.post(URL, intake_payload(reference="R-OFF"), format="json")
    assert response.status_code == 400
    assert "Unknown SKU 'ACME-001'." in response.json()["errors"]["lines.0.sku"]
    nothing_written()


def test_stored_prices_and_totals_are_exact(retailer_client, acme):
    """Prices read with plain SQL (suppliers.selectors) are the catalogue's Decimals."""
    payload = intake_payload(
        lines=[{"sku": "ACME-002", "quantity": 3}, {"sku": "ACME-003", "quantity": 1}]
    )
    body = retailer_client.post(URL, payload, format="json").json()
    order = Order.objects.get()
    assert order.total == Decimal("45.75") and body["orders"][0]["total"] == "45.75"
    assert order.commission_amount == Decimal("4.58")  # 10%, half up
    assert [line.unit_price for line in order.lines.order_by("line_no")] == [
        Decimal("7.25"),
        Decimal("24.00"),
    ]


def test_a_body_that_is_not_json_by_its_content_type_is_415(retailer_client, acme):
    body = json.dumps(intake_payload(reference="R-TXT"))
    response = retailer_client.post(URL, data=body, content_type="text/plain")
    assert response.status_code == 415
    assert "errors" in response.json()
    nothing_written()


def test_json_with_a_charset_is_accepted_and_any_accept_header_gets_json(retailer_client, acme):
    body = json.dumps(intake_payload(reference="R-CS"))
    response = retailer_client.post(
        URL, data=body, content_type="application/json; charset=utf-8", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["reference"] == "R-CS"
