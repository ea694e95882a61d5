"""Line-level fulfilment (issue 12): cancel some units, ship in parts, status derived."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from orders.documents import order_document, orders_with_document_relations
from orders.models import (
    Cancellation,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    Shipment,
)
from orders.services import (
    LineQuantity,
    OrderStateError,
    order_lines_cancel,
    order_set_status,
    order_shipment_create,
)
from testsupport.factories import place_order

THREE_LINES = [
    {"sku": "ACME-001", "quantity": 3},  # 9.50
    {"sku": "ACME-002", "quantity": 1},  # 7.25
    {"sku": "ACME-003", "quantity": 2},  # 24.00
]


@pytest.fixture
def order(acme, retailer):
    return place_order(retailer=retailer, lines=THREE_LINES)[0]


def state(order: Order) -> tuple:
    """What a reader sees of the order: status, per-line (cancelled, shipped), events, rows."""
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.commission_amount,
        [(line.quantity_cancelled, line.quantity_shipped) for line in order.lines.all()],
        list(order.events.values_list("type", flat=True)),
        Cancellation.objects.filter(order=order).count(),
        Shipment.objects.filter(order=order).count(),
    )


def document(order: Order) -> dict:
    return order_document(orders_with_document_relations(Order.objects.filter(pk=order.pk)).get())


def test_partial_cancellation_keeps_the_order_open_and_lowers_the_commission(order):
    cancellation = order_lines_cancel(
        order=order,
        actor="user:sam",
        reason="out_of_stock",
        note="Two left",
        lines=[LineQuantity(line=1, quantity=1), LineQuantity(line=3, quantity=2)],
    )
    status, version, commission, lines, events, cancellations, _ = state(order)
    assert status == "placed" and version == 2
    assert lines == [(1, 0), (0, 0), (2, 0)]
    # Kept: 2 x 9.50 + 7.25 = 26.25; 10% = 2.625 -> 2.63 (half-up).
    assert commission == Decimal("2.63")
    assert events == ["order.created", "order.lines_cancelled"]
    event = order.events.latest("id")
    assert event.actor == "user:sam" and event.note == "Two left"
    assert event.data == {
        "from": "placed",
        "to": "placed",
        "reason": "out_of_stock",
        "cancellation": cancellation.pk,
        "lines": [{"line": 1, "quantity": 1}, {"line": 3, "quantity": 2}],
    }
    doc = document(order)
    assert [(x["quantity_cancelled"], x["quantity_shipped"]) for x in doc["lines"]] == lines
    assert doc["cancellation"] is None  # only for a whole cancellation
    assert doc["cancellations"] == [
        {
            "reason": "out_of_stock",
            "note": "Two left",
            "cancelled_at": doc["updated_at"],
            "lines": [{"line": 1, "quantity": 1}, {"line": 3, "quantity": 2}],
        }
    ]
    assert order.cancellation_reason == "" and order.cancelled_at is None


def test_cancelling_what_is_left_cancels_the_order(order):
    order_lines_cancel(
        order=order, actor="ops", reason="out_of_stock", note="a", lines=[LineQuantity(2, 1)]
    )
    order_lines_cancel(order=order, actor="ops", reason="customer_request", note="rest")
    status, _, commission, lines, events, cancellations, _ = state(order)
    assert status == "cancelled" and commission == Decimal("0.00")
    assert lines == [(3, 0), (1, 0), (2, 0)]
    assert events[-1] == "order.cancelled" and cancellations == 2
    doc = document(order)
    assert doc["cancellation"] == {
        "reason": "customer_request",
        "note": "rest",
        "cancelled_at": doc["updated_at"],
    }
    assert [c["lines"] for c in doc["cancellations"]] == [
        [{"line": 2, "quantity": 1}],
        [{"line": 1, "quantity": 3}, {"line": 3, "quantity": 2}],
    ]


def test_shipping_in_parts_goes_processing_then_shipped(order):
    order_shipment_create(
        order=order, actor="ops", carrier="DPD", tracking_number="A1", lines=[LineQuantity(1, 2)]
    )
    assert state(order)[0] == "processing"
    order_lines_cancel(
        order=order, actor="ops", reason="discontinued", note="gone", lines=[LineQuantity(1, 1)]
    )
    shipment = order_shipment_create(order=order, actor="ops", carrier="UPS", tracking_number="B2")
    status, _, commission, lines, events, _, shipments = state(order)
    assert status == "shipped" and shipments == 2
    assert lines == [(1, 2), (0, 1), (0, 2)]
    # Kept: 2 x 9.50 + 7.25 + 2 x 24.00 = 74.25 -> 7.43 (7.425 half-up).
    assert commission == Decimal("7.43")
    assert events[1:] == [
        "order.shipment_created",
        "order.lines_cancelled",
        "order.shipment_created",
    ]
    doc = document(order)
    assert doc["shipment"] == {
        "carrier": "UPS",
        "tracking_number": "B2",
        "shipped_at": doc["shipments"][-1]["shipped_at"],
    }
    assert [s["lines"] for s in doc["shipments"]] == [
        [{"line": 1, "quantity": 2}],
        [{"line": 2, "quantity": 1}, {"line": 3, "quantity": 2}],
    ]
    assert shipment.order.status == "shipped"


def test_the_portal_edit_still_cancels_the_whole_order(order):
    order_set_status(order=order, status="processing", actor="ops")
    order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    status, _, commission, lines, events, cancellations, _ = state(order)
    assert status == "cancelled" and lines == [(3, 0), (1, 0), (2, 0)]
    assert events == ["order.created", "order.updated", "order.cancelled"]
    assert commission == Decimal("0.00") and cancellations == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lines": []}, "lines"),
        ({"lines": [LineQuantity(9, 1)]}, "lines.0.line"),
        ({"lines": [LineQuantity(1, 0)]}, "lines.0.quantity"),
        ({"lines": [LineQuantity(1, True)]}, "lines.0.quantity"),
        ({"lines": [LineQuantity(1, 1), LineQuantity(1, 1)]}, "lines.1.line"),
        ({"lines": [{"line": 1, "quantity": 1}]}, "lines.0"),
        ({"reason": "bored"}, "reason"),
        ({"note": "  "}, "note"),
        ({"note": "a\x00b"}, "note"),
    ],
)
def test_bad_cancellation_input_names_the_field_and_changes_nothing(order, kwargs, field):
    before = state(order)
    arguments = {"reason": "other", "note": "n", **kwargs}
    with pytest.raises(ValidationError) as caught:
        order_lines_cancel(order=order, actor="ops", **arguments)
    assert field in caught.value.message_dict
    assert not isinstance(caught.value, OrderStateError)
    assert state(order) == before


def test_more_than_is_open_is_a_conflict_and_changes_nothing(order):
    order_shipment_create(order=order, actor="ops", carrier="DPD", lines=[LineQuantity(1, 2)])
    before = state(order)
    with pytest.raises(OrderStateError) as caught:
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="n", lines=[LineQuantity(1, 2)]
        )
    assert caught.value.code == "conflict"
    assert caught.value.error_dict["lines.0.quantity"][0].code == "conflict"
    assert "1 of 3 open" in caught.value.message_dict["lines.0.quantity"][0]
    assert state(order) == before


@pytest.mark.parametrize("final", ["cancelled", "shipped"])
def test_a_final_order_refuses_both_with_a_conflict(order, final):
    if final == "cancelled":
        order_lines_cancel(order=order, actor="ops", reason="other", note="n")
    else:
        order_shipment_create(order=order, actor="ops", carrier="DPD")
    before = state(order)
    with pytest.raises(OrderStateError, match="nothing is left to cancel"):
        order_lines_cancel(order=order, actor="ops", reason="other", note="n")
    with pytest.raises(OrderStateError, match="nothing is left to ship"):
        order_shipment_create(order=order, actor="ops", carrier="DPD")
    assert state(order) == before


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"carrier": ""}, "carrier"),
        ({"carrier": "x" * 101}, "carrier"),
        ({"tracking_number": "\x00"}, "tracking_number"),
        ({"lines": [LineQuantity(1, -1)]}, "lines.0.quantity"),
        ({"shipped_at": "yesterday"}, "shipped_at"),
    ],
)
def test_bad_shipment_input_names_the_field_and_changes_nothing(order, kwargs, field):
    before = state(order)
    with pytest.raises(ValidationError) as caught:
        order_shipment_create(order=order, actor="ops", **{"carrier": "DPD", **kwargs})
    assert field in caught.value.message_dict
    assert state(order) == before


def test_the_database_refuses_more_than_the_quantity(order):
    line = OrderLine.objects.get(order=order, line_no=2)  # quantity 1
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(
            quantity_cancelled=F("quantity_cancelled") + 1, quantity_shipped=1
        )
    line.refresh_from_db()
    assert (line.quantity_cancelled, line.quantity_shipped) == (0, 0)
    assert not OrderEvent.objects.filter(type=OrderEventType.LINES_CANCELLED).exists()


def test_admin_shows_line_quantities_cancellations_and_shipments_read_only(order, admin_client):
    order_lines_cancel(
        order=order, actor="ops", reason="out_of_stock", note="Short", lines=[LineQuantity(1, 1)]
    )
    order_shipment_create(
        order=order, actor="ops", carrier="DPD", tracking_number="TRK9", lines=[LineQuantity(3, 2)]
    )
    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Quantity cancelled", "Quantity shipped", "Short", "TRK9", "line 1 x 1"):
        assert text in page
    assert "line 3 x 2" in page
    assert 'name="cancellations-0-note"' not in page  # read-only: no form field
