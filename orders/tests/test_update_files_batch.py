"""Update files applied many orders a transaction (orders/updates/batch.py) end exactly as
applied order by order (UPDATE_FILE_BATCH_ORDERS = 0), and an order the batch cannot take
(another writer holds it) falls back to order by order without blocking the others."""

from __future__ import annotations

import json
import re

import psycopg
import pytest
from django.core import mail
from django.db import connection
from django.db.models import F

from delivery.models import Delivery
from orders.documents import order_document_tail_text
from orders.models import Order, OrderEvent
from orders.updates import update_file_receive_and_apply
from testsupport.factories import place_order
from testsupport.processes import database_url_for

from .test_update_files import HEADER, THREE_LINES, result_rows

pytestmark = pytest.mark.postgres


def _orders(retailer) -> list[Order]:
    return [place_order(retailer=retailer, lines=THREE_LINES)[0] for _ in range(5)]


def _file(orders: list[Order]) -> bytes:
    """Good, refused and repeated rows over five orders: acknowledgements (one twice), a
    partial cancel, a two-line shipment, a whole cancel, shipping the rest, too much."""
    a, b, c, d, e = (order.number for order in orders)
    rows = [
        f"{a},acknowledge,,,,,,",
        f"{a},cancel,1,1,out_of_stock,Short on stock,,",
        f"{a},ship,,,,,DPD,T-A",
        f"{b},ship,1,,,,UPS,1Z1",
        f"{b},ship,3,1,,,UPS,1Z1",
        f"{b},acknowledge,,,,,,",
        f"{c},cancel,,,out_of_stock,All gone,,",
        f"{c},ship,1,1,,,DHL,D1",
        f"{d},cancel,2,5,out_of_stock,Too many,,",
        f"{d},acknowledge,,,,,,",
        f"{d},acknowledge,,,,,,",
        f"{e},ship,2,x,,,DHL,D2",
        f"{e},ship,1,1,,,DHL,D2",
        f"{e},cancel,3,2,other,Broken,,",
    ]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _timeless(value):
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not k.endswith(("_at", "_by"))}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _outcome(orders: list[Order], result: str) -> dict:
    """Everything the applying left, with the orders' numbers and ids in place of letters."""
    names = {order.number: f"<{i}>" for i, order in enumerate(orders)}

    def plain(text: str) -> str:
        text = re.sub(r"\(R-\d+\)", "(the retailer's reference)", text)
        return re.sub(r"PO-\d+", lambda m: names.get(m.group(0), "<other>"), text)

    seen: dict = {"result": [(r["result"], plain(r["message"])) for r in result_rows(result)]}
    for i, order in enumerate(orders):
        order.refresh_from_db()
        # the stored document is the one built from the rows ...
        assert order.document_tail == order_document_tail_text(
            order,
            lines=order.lines.all(),
            cancellations=order.cancellations.prefetch_related("lines").order_by("created_at"),
            shipments=order.shipments.prefetch_related("lines").order_by("created_at"),
        )
        # ... and but for its times, the same either way
        document = _timeless(json.loads("{" + order.document_tail))
        events = list(order.events.order_by("id"))
        seen[i] = {
            "order": (
                order.status,
                order.version,
                order.commission_amount,
                order.acknowledged_via,
                order.acknowledged_at is not None,
                order.cancellation_reason,
                order.shipment_carrier,
                order.shipment_tracking_number,
                order.document_version,
            ),
            "lines": [(li.quantity_cancelled, li.quantity_shipped) for li in order.lines.all()],
            "document": document,
            "events": [
                (
                    event.type,
                    event.actor,
                    event.note,
                    {
                        k: v
                        for k, v in event.data.items()
                        if k not in ("cancellation", "shipment", "reference")
                    },
                )
                for event in events
            ],
            "deliveries": sorted(
                (d.event.type, d.channel, d.purpose)
                for d in Delivery.objects.filter(event__order=order).select_related("event")
            ),
            "records": (order.cancellations.count(), order.shipments.count()),
        }
    seen["emails"] = sorted((plain(m.subject), tuple(m.to)) for m in mail.outbox)
    return seen


def test_the_same_file_applied_in_one_transaction_or_order_by_order_ends_the_same(
    acme, retailer, tasks_inline, settings, django_capture_on_commit_callbacks
):
    batched_orders, single_orders = _orders(retailer), _orders(retailer)
    # one order each whose stored document is of an older version: its writer reads the
    # records from the database, the ones this file makes included
    for order in (batched_orders[0], single_orders[0]):
        Order.objects.filter(pk=order.pk).update(document_version=F("document_version") - 1)
    mail.outbox.clear()

    settings.UPDATE_FILE_BATCH_ORDERS = 50
    with django_capture_on_commit_callbacks(execute=True):  # events dispatched, as committed
        batched_file, batched_csv = update_file_receive_and_apply(
            supplier=acme, name="monday.csv", content=_file(batched_orders), source="sftp"
        )
    batched = _outcome(batched_orders, batched_csv)
    mail.outbox.clear()
    settings.UPDATE_FILE_BATCH_ORDERS = 0
    with django_capture_on_commit_callbacks(execute=True):
        single_file, single_csv = update_file_receive_and_apply(
            supplier=acme, name="monday.csv", content=_file(single_orders), source="sftp"
        )
    single = _outcome(single_orders, single_csv)

    assert batched == single
    counts = ("applied_count", "unchanged_count", "error_count")
    assert [getattr(batched_file, c) for c in counts] == [getattr(single_file, c) for c in counts]
    assert [getattr(batched_file, c) for c in counts] == [9, 1, 4]
    # and it is what the rows say: the whole cancel ended order <2>, its retailer was told once
    assert batched[2]["order"][0] == "cancelled"
    assert [r for r, _ in batched["result"]].count("applied") == 9
    cancellations = sum(batched[i]["records"][0] for i in range(len(batched_orders)))
    assert cancellations == 3  # <0>'s partial, <2>'s whole, <4>'s partial
    # one retailer email per cancellation, as from the portal
    assert sum("cancel" in subject.lower() for subject, _ in batched["emails"]) == cancellations


@pytest.mark.django_db(transaction=True)
def test_an_order_held_by_another_writer_is_busy_and_the_others_apply(
    acme, retailer, tasks_inline, settings
):
    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 0.5
    settings.UPDATE_FILE_BATCH_ORDERS = 50
    orders = _orders(retailer)
    held = orders[1]
    events_before = OrderEvent.objects.filter(order=held).count()
    with psycopg.connect(database_url_for(connection.settings_dict)) as other:
        other.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [held.pk])
        _, result = update_file_receive_and_apply(
            supplier=acme, name="busy.csv", content=_file(orders), source="sftp"
        )
        other.rollback()

    rows = result_rows(result)
    held_rows = [r for r in rows if r["order_number"] == held.number]
    assert {r["result"] for r in held_rows} == {"error"}
    assert all(
        "was busy; nothing was changed. Send the row again in a new file" in r["message"]
        for r in held_rows
    )
    held.refresh_from_db()
    assert held.status == "placed" and held.acknowledged_at is None
    assert OrderEvent.objects.filter(order=held).count() == events_before
    others = [r for r in rows if r["order_number"] != held.number]
    assert [r["result"] for r in others].count("applied") == 7
    orders[0].refresh_from_db()
    assert orders[0].status == "shipped"
