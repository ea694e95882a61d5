"""Migration 0006: whole-order cancellations and shipments of before issue 12 become records
and line quantities, so old orders read the same (their document, status and commission)."""

import importlib
from decimal import Decimal
from types import SimpleNamespace

from django.apps import apps
from django.db import connection
from django.utils import timezone

from orders.documents import order_document, orders_with_document_relations
from orders.models import Cancellation, Order, OrderEvent, OrderLine, Shipment
from testsupport.factories import place_order

forward = importlib.import_module("orders.migrations.0006_line_level_records").forward


def as_before_issue_12(order: Order, **fields) -> None:
    """The row as the seed's order_set_status left it: fields only, no records."""
    Order.objects.filter(pk=order.pk).update(**fields)


def test_old_cancelled_and_shipped_orders_become_records(acme, retailer):
    lines = [{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}]
    cancelled, shipped, processing, placed = (
        place_order(retailer=retailer, lines=lines)[0] for _ in range(4)
    )
    at = timezone.now()
    as_before_issue_12(
        cancelled,
        status="cancelled",
        cancellation_reason="out_of_stock",
        cancellation_note="Sold out",
        cancelled_at=at,
    )
    OrderEvent.objects.create(
        order=cancelled, type="order.cancelled", actor="user:sam", created_at=at, data={}
    )
    as_before_issue_12(
        shipped,
        status="shipped",
        shipment_carrier="DPD",
        shipment_tracking_number="1Z",
        shipped_at=at,
    )
    as_before_issue_12(processing, status="processing")

    forward(apps, SimpleNamespace(connection=connection))

    (cancellation,) = Cancellation.objects.filter(order=cancelled)
    assert (cancellation.reason, cancellation.note, cancellation.actor) == (
        "out_of_stock",
        "Sold out",
        "user:sam",
    )
    assert cancellation.created_at == at
    assert sorted(cancellation.lines.values_list("quantity", flat=True)) == [1, 2]
    (shipment,) = Shipment.objects.filter(order=shipped)
    assert (shipment.carrier, shipment.tracking_number, shipment.shipped_at) == ("DPD", "1Z", at)
    quantities = {
        order.pk: list(
            OrderLine.objects.filter(order=order)
            .order_by("line_no")
            .values_list("quantity_cancelled", "quantity_shipped")
        )
        for order in (cancelled, shipped, processing, placed)
    }
    assert quantities == {
        cancelled.pk: [(2, 0), (1, 0)],
        shipped.pk: [(0, 2), (0, 1)],
        processing.pk: [(0, 0), (0, 0)],
        placed.pk: [(0, 0), (0, 0)],
    }
    rows = {o.pk: o for o in Order.objects.all()}
    assert rows[cancelled.pk].commission_amount == Decimal("0.00")
    assert rows[processing.pk].processing_set and rows[shipped.pk].processing_set
    assert not rows[placed.pk].processing_set
    doc = order_document(
        orders_with_document_relations(Order.objects.filter(pk=cancelled.pk)).get()
    )
    assert doc["cancellation"]["note"] == "Sold out"
    assert doc["cancellations"][0]["lines"] == [
        {"line": 1, "quantity": 2},
        {"line": 2, "quantity": 1},
    ]
    doc = order_document(orders_with_document_relations(Order.objects.filter(pk=shipped.pk)).get())
    assert doc["shipment"]["carrier"] == "DPD" and len(doc["shipments"]) == 1
