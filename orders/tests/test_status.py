"""Order status changes: one map, one function, one event per change, announced on commit."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from orders.documents import order_document
from orders.models import (
    ORDER_TRANSITIONS,
    CancellationReason,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
)
from orders.services import OrderChangedError, order_set_status
from orders.signals import order_events_committed
from testsupport.factories import make_supplier_user, place_order

# The shortest way from a new order to each status, through the service itself.
PATH_TO = {
    OrderStatus.PLACED: [],
    OrderStatus.PROCESSING: [OrderStatus.PROCESSING],
    OrderStatus.SHIPPED: [OrderStatus.PROCESSING, OrderStatus.SHIPPED],
    OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
}
ALL_PAIRS = list(itertools.product(OrderStatus.values, repeat=2))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in ORDER_TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in ALL_PAIRS if b not in ORDER_TRANSITIONS[a]]


def change_kwargs(status: str) -> dict:
    if status == OrderStatus.CANCELLED:
        return {"reason": CancellationReason.OUT_OF_STOCK, "note": "Sold out at the warehouse."}
    if status == OrderStatus.SHIPPED:
        return {"carrier": "Royal Mail", "tracking_number": "RM1GB"}
    return {}


def order_in(status: str, *, retailer) -> Order:
    order = place_order(retailer=retailer)[0]
    for step in PATH_TO[status]:
        order = order_set_status(order=order, status=step, actor="ops:test", **change_kwargs(step))
    assert order.status == status
    return order


@pytest.fixture
def order(acme, retailer):
    return place_order(retailer=retailer)[0]


@pytest.fixture
def announced():
    """Every event_ids list announced through the signal, in order."""
    calls = []

    def receiver(sender, event_ids, **kwargs):
        calls.append(list(event_ids))

    order_events_committed.connect(receiver, dispatch_uid="test_status_receiver")
    yield calls
    order_events_committed.disconnect(dispatch_uid="test_status_receiver")


def snapshot(order: Order) -> tuple:
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.updated_at,
        order.cancellation_reason,
        order.cancellation_note,
        order.cancelled_at,
        order.shipment_carrier,
        order.shipped_at,
        OrderEvent.objects.filter(order=order).count(),
    )


def test_the_map_is_the_contract():
    assert {k: set(v) for k, v in ORDER_TRANSITIONS.items()} == {
        "placed": {"processing", "cancelled"},
        "processing": {"shipped", "cancelled"},
        "shipped": set(),
        "cancelled": set(),
    }
    assert len(ALLOWED) == 4 and len(FORBIDDEN) == 12


@pytest.mark.parametrize("current, new", ALLOWED)
def test_every_allowed_change_applies_and_writes_one_event(acme, retailer, current, new):
    order = order_in(current, retailer=retailer)
    events_before = OrderEvent.objects.filter(order=order).count()
    version_before = order.version

    changed = order_set_status(order=order, status=new, actor="ops:test", **change_kwargs(new))

    order.refresh_from_db()
    assert changed.status == order.status == new
    assert order.version == version_before + 1
    events = list(OrderEvent.objects.filter(order=order).order_by("id"))
    assert len(events) == events_before + 1
    event = events[-1]
    expected_type = {
        OrderStatus.CANCELLED: OrderEventType.CANCELLED,
        OrderStatus.SHIPPED: OrderEventType.SHIPMENT_CREATED,  # issue 12: a shipment's event
    }.get(new, OrderEventType.UPDATED)
    assert event.type == expected_type
    assert event.actor == "ops:test"
    assert event.data["from"] == current and event.data["to"] == new
    assert event.created_at == order.updated_at


@pytest.mark.parametrize("current, new", FORBIDDEN)
def test_every_forbidden_change_is_refused_and_writes_nothing(acme, retailer, current, new):
    order = order_in(current, retailer=retailer)
    before = snapshot(order)

    with pytest.raises(ValidationError) as info:
        order_set_status(order=order, status=new, actor="ops:test", **change_kwargs(new))

    assert "status" in info.value.message_dict
    assert snapshot(order) == before


def test_unknown_status_is_refused(order):
    before = snapshot(order)
    with pytest.raises(ValidationError) as info:
        order_set_status(order=order, status="lost", actor="ops:test")
    assert "status" in info.value.message_dict
    assert snapshot(order) == before


@pytest.mark.parametrize(
    "kwargs, fields",
    [
        ({"reason": "out_of_stock"}, {"note"}),
        ({"reason": "out_of_stock", "note": ""}, {"note"}),
        ({"reason": "out_of_stock", "note": "   \n\t "}, {"note"}),
        ({"note": "Sold out."}, {"reason"}),
        ({"reason": "", "note": "Sold out."}, {"reason"}),
        ({"reason": "because", "note": "Sold out."}, {"reason"}),
        ({}, {"reason", "note"}),
    ],
)
@pytest.mark.parametrize("current", [OrderStatus.PLACED, OrderStatus.PROCESSING])
def test_cancel_needs_a_reason_code_and_a_note(acme, retailer, announced, current, kwargs, fields):
    order = order_in(current, retailer=retailer)
    before = snapshot(order)
    announced.clear()

    with pytest.raises(ValidationError) as info:
        order_set_status(order=order, status=OrderStatus.CANCELLED, actor="ops:test", **kwargs)

    assert set(info.value.message_dict) == fields
    assert snapshot(order) == before
    assert order.cancellation_reason == "" and order.cancelled_at is None
    assert announced == []


@pytest.mark.parametrize("reason", CancellationReason.values)
def test_cancel_with_each_reason_code_records_reason_note_and_time(order, reason):
    cancelled = order_set_status(
        order=order, status="cancelled", actor="ops:test", reason=reason, note="  Why, plainly.  "
    )
    order.refresh_from_db()
    assert order.cancellation_reason == reason
    assert order.cancellation_note == "Why, plainly."
    assert order.cancelled_at == cancelled.cancelled_at == order.updated_at
    event = OrderEvent.objects.get(order=order, type=OrderEventType.CANCELLED)
    assert event.note == "Why, plainly."
    assert event.data["reason"] == reason
    document = order_document(Order.objects.get(pk=order.pk))
    assert document["cancellation"]["reason"] == reason
    assert document["cancellation"]["note"] == "Why, plainly."


def test_every_change_records_the_actor_and_the_user(acme, order):
    user = make_supplier_user(supplier=acme, username="sam")
    order_set_status(order=order, status="processing", actor="user:sam", user=user, note="Picked")
    order_set_status(
        order=order,
        status="cancelled",
        actor="user:sam",
        user=user,
        reason="customer_request",
        note="Customer rang to cancel.",
    )
    events = list(
        OrderEvent.objects.filter(order=order).exclude(type="order.created").order_by("pk")
    )
    assert [(e.type, e.actor, e.actor_user_id, e.note) for e in events] == [
        # the user's first change acknowledged the order, and says so first
        ("order.acknowledged", "user:sam", user.pk, ""),
        ("order.updated", "user:sam", user.pk, "Picked"),
        ("order.cancelled", "user:sam", user.pk, "Customer rang to cancel."),
    ]


def test_stale_expected_version_is_refused_and_writes_nothing(order, announced):
    seen_version = order.version
    order_set_status(
        order=order, status="processing", actor="user:a", expected_version=seen_version
    )
    before = snapshot(order)
    announced.clear()

    with pytest.raises(OrderChangedError) as info:
        order_set_status(
            order=order,
            status="cancelled",
            actor="user:b",
            reason="other",
            note="Too late.",
            expected_version=seen_version,
        )

    assert "changed since you opened this page" in " ".join(info.value.messages)
    assert "it is now processing" in " ".join(info.value.messages)
    assert snapshot(order) == before
    assert order.status == "processing"
    assert announced == []


def test_current_expected_version_is_accepted(order):
    changed = order_set_status(
        order=order, status="processing", actor="ops:test", expected_version=order.version
    )
    assert changed.status == "processing"
    assert changed.version == 2


def test_stale_in_memory_order_cannot_bypass_the_map(order):
    """The service reads the row under lock; a stale object in memory cannot skip the map."""
    stale = Order.objects.get(pk=order.pk)
    order_set_status(order=order, status="cancelled", actor="ops:test", reason="other", note="x")
    before = snapshot(order)
    with pytest.raises(ValidationError):
        order_set_status(order=stale, status="processing", actor="ops:test")
    assert snapshot(order) == before


def test_shipped_records_carrier_tracking_and_time(order):
    order_set_status(order=order, status="processing", actor="ops:test")
    shipped = order_set_status(
        order=order,
        status="shipped",
        actor="ops:test",
        carrier=" DPD ",
        tracking_number=" 1Z999 ",
    )
    order.refresh_from_db()
    assert (order.shipment_carrier, order.shipment_tracking_number) == ("DPD", "1Z999")
    assert order.shipped_at is not None and order.shipped_at == shipped.shipped_at
    event = OrderEvent.objects.filter(order=order).latest("id")
    shipment = order.shipments.get()
    assert event.type == OrderEventType.SHIPMENT_CREATED
    assert event.data == {
        "from": "processing",
        "to": "shipped",
        "carrier": "DPD",
        "tracking_number": "1Z999",
        "shipment": shipment.pk,
        "lines": [{"line": line.line_no, "quantity": line.quantity} for line in order.lines.all()],
    }
    document = order_document(Order.objects.get(pk=order.pk))
    assert document["shipment"]["carrier"] == "DPD"
    assert document["shipment"]["tracking_number"] == "1Z999"
    assert document["cancellation"] is None


def test_change_is_announced_only_after_commit(
    order, announced, django_capture_on_commit_callbacks
):
    announced.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_set_status(order=order, status="processing", actor="ops:test")
        assert announced == []
    assert announced == []  # the test's transaction has not committed
    assert len(callbacks) == 1
    callbacks[0]()
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert announced == [[event.pk]]


def test_rolled_back_change_is_never_announced(
    order, announced, django_capture_on_commit_callbacks
):
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            order_set_status(order=order, status="processing", actor="ops:test")
            raise RuntimeError("the caller's transaction fails after the change")
    assert callbacks == []
    assert announced == []
    order.refresh_from_db()
    assert order.status == "placed"
    assert OrderEvent.objects.filter(order=order).count() == 1  # only order.created


def test_refused_change_is_never_announced(order, announced, django_capture_on_commit_callbacks):
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            order_set_status(order=order, status="shipped", actor="ops:test")
    assert callbacks == [] and announced == []


@pytest.mark.django_db(transaction=True)
def test_announcement_follows_a_real_commit_and_a_failing_listener_undoes_nothing(
    acme, retailer, announced
):
    order = place_order(retailer=retailer)[0]
    seen = []

    def checking_receiver(sender, event_ids, **kwargs):
        # Runs outside any transaction, when the rows are committed and visible.
        seen.append(
            (
                transaction.get_connection().in_atomic_block,
                list(OrderEvent.objects.filter(pk__in=event_ids).values_list("type", flat=True)),
            )
        )

    def broken_receiver(sender, event_ids, **kwargs):
        raise RuntimeError("listener down")

    order_events_committed.connect(checking_receiver, dispatch_uid="checking")
    order_events_committed.connect(broken_receiver, dispatch_uid="broken")
    try:
        announced.clear()
        order_set_status(order=order, status="processing", actor="ops:test")
    finally:
        order_events_committed.disconnect(dispatch_uid="checking")
        order_events_committed.disconnect(dispatch_uid="broken")

    event = OrderEvent.objects.filter(order=order).latest("id")
    assert announced == [[event.pk]]
    assert seen == [(False, ["order.updated"])]
    order.refresh_from_db()
    assert order.status == "processing"


def test_intake_announces_its_created_events_after_commit(
    acme, bolt, retailer, announced, django_capture_on_commit_callbacks
):
    announced.clear()
    with django_capture_on_commit_callbacks(execute=True):
        orders = place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-001", "quantity": 1}, {"sku": "BOLT-7", "quantity": 1}],
        )
    created = set(
        OrderEvent.objects.filter(order__in=orders, type="order.created").values_list(
            "pk", flat=True
        )
    )
    assert len(announced) == 1 and set(announced[0]) == created and len(created) == 2
