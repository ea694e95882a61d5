"""Acknowledgement and its deadline (issue 13): recorded from any channel, overdue orders
marked, counted, filterable, listed by command and reminded once by email; the timeline
says how each update came in."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from delivery.models import Delivery, DeliveryPurpose
from delivery.services import acknowledge_reminders_send
from orders.documents import iso, order_document, orders_with_document_relations
from orders.models import Order
from orders.services import order_acknowledge, order_lines_cancel, order_set_status, source_file
from suppliers.models import ApiToken
from suppliers.services import api_token_create
from testsupport.factories import make_supplier_user, place_order


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def acme_user(acme):
    return make_supplier_user(supplier=acme, username="ann")


@pytest.fixture
def portal(client, acme_user):
    client.force_login(acme_user)
    return client


def placed(retailer, *, hours_ago: float, sku="ACME-001") -> Order:
    """An order placed `hours_ago` (placed_at is the retailer's time, so it can be earlier)."""
    placed_at = (timezone.now() - timedelta(hours=hours_ago)).isoformat()
    (order,) = place_order(
        retailer=retailer, lines=[{"sku": sku, "quantity": 1}], placed_at=placed_at
    )
    return order


@pytest.fixture
def late_and_on_time(acme, retailer):
    late = placed(retailer, hours_ago=30)
    on_time = placed(retailer, hours_ago=30)
    fresh = placed(retailer, hours_ago=1)
    source = source_file(name="wms.csv", row=2)
    order_acknowledge(order=on_time, actor=source.actor, channel=source)
    return late, on_time, fresh


def test_overdue_is_marked_counted_and_filtered_in_order_history(portal, late_and_on_time):
    late, on_time, fresh = late_and_on_time
    page = portal.get("/orders/").content.decode()
    assert 'id="overdue-link"><span class="stat-n">1</span>' in page
    rows = {
        row.split('">', 1)[0]: row
        for row in page.split('<tr><td data-label="Order"><a href="/orders/')[1:]
    }
    assert "Overdue" in rows[f"{late.number}/"]
    assert "Overdue" not in rows[f"{on_time.number}/"] and "Overdue" not in rows[f"{fresh.number}/"]

    listed = portal.get("/orders/?overdue=on").content.decode()
    assert late.number in listed
    assert on_time.number not in listed and fresh.number not in listed


def test_api_filters_by_acknowledged(settings, acme, late_and_on_time):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    late, on_time, fresh = late_and_on_time
    _, plain = api_token_create(supplier=acme, name="poller")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")

    def numbers(value):
        response = api.get(
            "/api/v1/orders", {"created_after": "2000-01-01T00:00:00Z", "acknowledged": value}
        )
        assert response.status_code == 200, response.content
        return sorted(doc["number"] for doc in response.json()["results"])

    assert numbers("false") == sorted([late.number, fresh.number])
    assert numbers("true") == [on_time.number]
    # Cancelled by ops, never acknowledged: nothing left to acknowledge, so on neither list.
    order_set_status(order=late, status="cancelled", actor="ops", reason="other", note="gone")
    assert numbers("false") == [fresh.number]
    assert numbers("true") == [on_time.number]
    bad = api.get(
        "/api/v1/orders", {"created_after": "2000-01-01T00:00:00Z", "acknowledged": "maybe"}
    )
    assert bad.status_code == 400 and "acknowledged" in bad.json()["errors"]


def test_orders_overdue_command_lists_them_per_supplier(acme, late_and_on_time, capsys):
    late, on_time, _ = late_and_on_time
    call_command("orders_overdue")
    assert capsys.readouterr().out.splitlines() == ["supplier\toverdue", "acme\t1"]
    call_command("orders_overdue", "acme")
    out = capsys.readouterr().out
    assert late.number in out and on_time.number not in out


def test_overdue_orders_are_reminded_once_by_one_email_per_supplier(
    retailer, acme, bolt, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    late = [placed(retailer, hours_ago=30), placed(retailer, hours_ago=26)]
    on_time = placed(retailer, hours_ago=30)
    source = source_file(name="wms.csv", row=1)
    order_acknowledge(order=on_time, actor=source.actor, channel=source)
    bolts_late = placed(retailer, hours_ago=48, sku="BOLT-7")
    placed(retailer, hours_ago=2)  # not due yet

    with django_capture_on_commit_callbacks(execute=True):
        made = acknowledge_reminders_send()
    assert len(made) == 2  # acme and bolt, one each
    mails = email_via_smtp.wait_for(2)
    by_rcpt = {tuple(m.rcpt_tos): m for m in mails}
    acme_mail = by_rcpt[("orders@acme.example",)]
    body = acme_mail.body("plain")
    assert all(order.number in body for order in late)
    assert on_time.number not in body and bolts_late.number not in body
    assert "2 orders not acknowledged in time" == acme_mail.subject
    assert bolts_late.number in by_rcpt[("po@bolt.example",)].body("plain")
    assert Delivery.objects.filter(purpose=DeliveryPurpose.ACKNOWLEDGE_REMINDER).count() == 2

    # The next run: nothing new is overdue, so nothing is sent again.
    email_via_smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert acknowledge_reminders_send() == []
    assert email_via_smtp.messages == []

    # A newly overdue order gets its own reminder, listing only it.
    newly = placed(retailer, hours_ago=25)
    with django_capture_on_commit_callbacks(execute=True):
        assert len(acknowledge_reminders_send()) == 1
    (mail,) = email_via_smtp.wait_for(1)
    assert newly.number in mail.body("plain")
    assert all(order.number not in mail.body("plain") for order in late)


def test_an_order_acknowledged_in_time_is_never_overdue_nor_reminded(retailer, acme, settings):
    order = placed(retailer, hours_ago=1)
    source = source_file(name="wms.csv", row=3)
    order_acknowledge(order=order, actor=source.actor, channel=source)
    later = timezone.now() + timedelta(hours=48)
    assert acknowledge_reminders_send(now=later) == []
    order.refresh_from_db()
    assert order.acknowledge_reminded_at is None
    assert order.acknowledged_via == "file"


def test_deadline_follows_the_setting_and_is_in_the_document(settings, retailer, acme):
    settings.ORDER_ACKNOWLEDGE_HOURS = 2
    order = placed(retailer, hours_ago=3)
    assert order.document_tail  # stored
    from orders.documents import order_document

    document = order_document(order)
    assert document["acknowledged_at"] is None
    assert document["acknowledge_by"] == (order.placed_at + timedelta(hours=2)).isoformat().replace(
        "+00:00", "Z"
    )
    assert acknowledge_reminders_send() != []


def test_a_deadline_is_fixed_when_the_order_arrives_and_every_reader_agrees(
    settings, portal, acme, retailer, capsys
):
    """Changing ORDER_ACKNOWLEDGE_HOURS moves no promised deadline: the API's document, the
    webhook's, the order page, ORDER HISTORY, the command and the reminder all read the one
    stored `acknowledge_by`; orders that arrive after the change get the new one."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    before_change = placed(retailer, hours_ago=3)  # 24 h: due in 21 h
    settings.ORDER_ACKNOWLEDGE_HOURS = 2
    after_change = placed(retailer, hours_ago=3)  # 2 h: overdue by 1 h
    expected = {
        before_change.number: before_change.placed_at + timedelta(hours=24),
        after_change.number: after_change.placed_at + timedelta(hours=2),
    }
    for order in (before_change, after_change):
        order.refresh_from_db()
        assert order.acknowledge_by == expected[order.number]

    _, plain = api_token_create(supplier=acme, name="poller")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    response = api.get("/api/v1/orders", {"created_after": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200
    served = {doc["number"]: doc["acknowledge_by"] for doc in response.json()["results"]}
    one = api.get(f"/api/v1/orders/{before_change.number}").json()["acknowledge_by"]
    webhook = order_document(
        orders_with_document_relations(Order.objects.filter(pk=before_change.pk)).get()
    )["acknowledge_by"]
    assert served[before_change.number] == one == webhook == iso(expected[before_change.number])
    assert served[after_change.number] == iso(expected[after_change.number])

    history = portal.get("/orders/").content.decode()
    assert 'id="overdue-link"><span class="stat-n">1</span>' in history
    listed = portal.get("/orders/?overdue=on").content.decode()
    assert after_change.number in listed and before_change.number not in listed
    page = portal.get(f"/orders/{before_change.number}/").content.decode()
    assert "Overdue" not in page
    shown = timezone.localtime(expected[before_change.number]).isoformat(timespec="seconds")
    assert f'datetime="{shown}"' in page

    call_command("orders_overdue", "acme")
    out = capsys.readouterr().out
    assert after_change.number in out and before_change.number not in out
    assert len(acknowledge_reminders_send()) == 1
    reminded = Order.objects.filter(acknowledge_reminded_at__isnull=False)
    assert list(reminded.values_list("number", flat=True)) == [after_change.number]


def test_portal_button_acknowledges_and_the_timeline_shows_each_channel(portal, acme, retailer):
    order = placed(retailer, hours_ago=30)
    page = portal.get(f"/orders/{order.number}/").content.decode()
    assert 'id="acknowledge"' in page and "Overdue" in page
    response = portal.post(f"/orders/{order.number}/acknowledge/", {"version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.acknowledged_via == "portal" and order.acknowledged_at is not None

    token, plain = api_token_create(supplier=acme, name="WMS live", can_update=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    (lines_order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])
    api.post(
        f"/api/v1/orders/{lines_order.number}/shipments",
        {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]},
        format="json",
    )
    source = source_file(name="returns.csv", row=7)
    order_lines_cancel(
        order=lines_order, actor=source.actor, reason="other", note="gone", source=source
    )

    page = portal.get(f"/orders/{order.number}/").content.decode()
    assert 'id="acknowledge"' not in page and "via the portal" in page
    timeline = portal.get(f"/orders/{lines_order.number}/").content.decode()
    assert "via API token “WMS live”" in timeline
    assert "via update file “returns.csv”, row 7" in timeline
    # the shipment was the first answer, so the timeline also shows the acknowledgement it made
    assert "with “Shipment created”" in timeline
    assert [e.type for e in lines_order.events.order_by("pk")] == [
        "order.created",
        "order.acknowledged",
        "order.shipment_created",
        "order.lines_cancelled",
    ]


def test_acknowledging_an_order_cancelled_before_is_refused_on_its_page(portal, acme, retailer):
    """A final order nobody acknowledged (ops cancelled it): the button's POST is a 409 on
    the order page saying why, and records nothing (it was a 302, as a success is)."""
    order = placed(retailer, hours_ago=2)
    order = order_set_status(
        order=order, status="cancelled", actor="ops:test", reason="other", note="Withdrawn"
    )
    order.refresh_from_db()
    assert order.acknowledged_at is None
    events = order.events.count()

    response = portal.post(f"/orders/{order.number}/acknowledge/", {"version": order.version})
    assert response.status_code == 409
    body = response.content.decode()
    assert f"Order {order.number} is cancelled: nothing to acknowledge." in body
    assert "Nothing was changed." in body
    order.refresh_from_db()
    assert order.acknowledged_at is None and order.events.count() == events


def test_an_edit_page_status_change_acknowledges_with_an_event(portal, acme, retailer):
    order = placed(retailer, hours_ago=2)
    response = portal.post(
        f"/orders/{order.number}/edit/",
        {"status": "processing", "note": "", "version": order.version},
    )
    assert response.status_code == 302, response.content
    order.refresh_from_db()
    assert order.status == "processing" and order.acknowledged_via == "portal"
    assert [e.type for e in order.events.order_by("pk")] == [
        "order.created",
        "order.acknowledged",
        "order.updated",
    ]
    ack = order.events.get(type="order.acknowledged")
    assert ack.data["channel"]["via"] == "portal" and ack.actor_user is not None
    assert ack.data["with_event"] == "order.updated"
    assert ack.data["from"] == ack.data["to"] == "placed"


def test_portal_token_checkbox_makes_an_update_token(portal, acme):
    portal.post("/settings/api-tokens/", {"name": "WMS", "can_update": "on"})
    portal.post("/settings/api-tokens/", {"name": "BI"})
    scopes = dict(ApiToken.objects.filter(supplier=acme).values_list("name", "scope"))
    assert scopes == {"WMS": "read_update", "BI": "read"}
    page = portal.get("/settings/api-tokens/").content.decode()
    assert "Read and update" in page and 'name="can_update"' in page


def test_orders_overdue_streams_the_columns_it_prints(acme, late_and_on_time, capsys):
    """A supplier's overdue orders are listed from a stream of the four columns printed: the
    command held every whole overdue order (its stored API document too) before printing
    the first line, and a supplier that never acknowledges has tens of thousands."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    late, on_time, _ = late_and_on_time
    with CaptureQueriesContext(connection) as queries:
        call_command("orders_overdue", "acme")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "number\tplaced_at\tacknowledge_by\treminded_at"
    assert [line.split("\t")[0] for line in lines[1:]] == [late.number]
    read = [q["sql"] for q in queries.captured_queries if "acknowledge_by" in q["sql"]]
    assert read and not any("document_tail" in sql or "customer_name" in sql for sql in read)
