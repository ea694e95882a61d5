"""Reads of the delivery app, each with a bounded number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet

from common.labels import label
from orders.models import Order, OrderEvent

from .models import Channel, Delivery, DeliveryPurpose, DeliveryStatus, Destination


def destinations_for_supplier(*, supplier) -> dict[str, Destination]:
    return {d.channel: d for d in Destination.objects.filter(supplier=supplier)}


def supplier_channels_all_off(*, supplier) -> bool:
    """True when no channel of the supplier is on: it collects orders by the API alone."""
    return not Destination.objects.filter(supplier=supplier, enabled=True).exists()


def deliveries_for_supplier(
    *, supplier, channel: str | None = None, status: str | None = None
) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(supplier=supplier).select_related("event__order", "destination")
    if channel:
        qs = qs.filter(channel=channel)
    failing = Q(status=DeliveryStatus.PENDING, attempt_count__gt=0) & ~Q(last_error="")
    if status == "failing":
        qs = qs.filter(failing)
    elif status == DeliveryStatus.PENDING:
        # As the page says them: a pending row that failed a try is "failing", not pending
        # (found in review: it was listed under both filters).
        qs = qs.filter(status=status).exclude(failing)
    elif status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def _names(model, *fields: str) -> tuple[str, ...]:
    """The quoted table name of a model, then the quoted columns of the named fields."""
    qn = connection.ops.quote_name
    return (qn(model._meta.db_table), *(qn(model._meta.get_field(f).column) for f in fields))


# ORDER HISTORY asks for the two reads below on every view. They are fixed statements on a
# plain cursor: through the ORM each cost 0.5-0.8 ms of Python per view, more than its SQL
# (bench/portal.py). Their results are tested against deliveries made through the services.


def delivery_failing_count(*, supplier) -> int:
    """The supplier's deliveries failing (still retrying) or failed for good, one query.

    Both statuses in one IN, so the (supplier, status, created_at) index bounds the scan.
    """
    table, supplier_col, status, attempts, error = _names(
        Delivery, "supplier", "status", "attempt_count", "last_error"
    )
    sql = (
        f"SELECT COUNT(*) FROM {table} WHERE {supplier_col} = %s AND {status} IN (%s, %s)"
        f" AND ({status} = %s OR ({status} = %s AND {attempts} > 0 AND {error} <> ''))"
    )
    failed, pending = DeliveryStatus.FAILED.value, DeliveryStatus.PENDING.value
    with connection.cursor() as cursor:
        cursor.execute(sql, [supplier.pk, failed, pending, failed, pending])
        return cursor.fetchone()[0]


def deliveries_for_order(*, order: Order) -> QuerySet[Delivery]:
    """The order's deliveries as its supplier's order page lists them: not the retailer's
    webhook (the retailer's endpoint is the retailer's own; issue 19)."""
    return (
        Delivery.objects.filter(event__order=order)
        .exclude(purpose=DeliveryPurpose.RETAILER_WEBHOOK)
        .select_related("event", "destination")
        .prefetch_related("attempts")
        .order_by("created_at", "id")
    )


def delivery_state(*, status: str, attempt_count: int, last_error: str) -> str:
    if status == DeliveryStatus.PENDING and attempt_count and last_error:
        return "failing"
    return status


@dataclass(frozen=True)
class DeliveryFacts:
    """What every page says of one delivery (order page, Deliveries, ORDER HISTORY, admin)."""

    state: str  # pending | failing | failed | delivered | cancelled
    label: str  # "Failing (retrying)"
    tries: int  # tries since it was last (re)queued: what the retry schedule counts
    next_try_at: datetime | None  # only while it is pending
    error: str  # the last error in words ("" when none, or once delivered)
    error_detail: str  # the error as the channel raised it
    can_redeliver: bool  # "Redeliver" helps: failed, failing, cancelled, or delivered

    @property
    def tries_text(self) -> str:
        return f"{self.tries} {'try' if self.tries == 1 else 'tries'}"


def delivery_facts(delivery: Delivery) -> DeliveryFacts:
    """The one reading of a delivery's state, tries and next try; no query."""
    state = delivery_state(
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        last_error=delivery.last_error,
    )
    pending = delivery.status == DeliveryStatus.PENDING
    error = "" if delivery.status == DeliveryStatus.DELIVERED else delivery.last_error
    return DeliveryFacts(
        state=state,
        label=label("delivery_state", state),
        tries=delivery.attempt_count,
        next_try_at=delivery.next_attempt_at if pending else None,
        error=label("channel_error", error),
        error_detail=error,
        # A plain pending row goes out by itself; pressing Redeliver would not help it.
        can_redeliver=delivery.supplier_may_redeliver and state != DeliveryStatus.PENDING,
    )


def deliveries_with_facts(deliveries) -> list[Delivery]:
    """The deliveries, each given `.facts` (delivery_facts)."""
    rows = list(deliveries)
    for delivery in rows:
        delivery.facts = delivery_facts(delivery)
    return rows


# Worst first: the state an order shows is the worst of its supplier deliveries.
_STATE_RANK = ["failed", "failing", "pending", "cancelled", "delivered"]


def delivery_states_for_orders(*, order_ids) -> dict[int, str]:
    """{order_id: "delivered" | "pending" | "failing" | "failed" | "cancelled"}, one query.

    Only deliveries to the supplier count; orders without any are absent.
    """
    order_ids = [int(order_id) for order_id in order_ids]
    if not order_ids:
        return {}
    table, event_col, purpose, status, attempts, error = _names(
        Delivery, "event", "purpose", "status", "attempt_count", "last_error"
    )
    events, event_pk, event_order = _names(OrderEvent, "id", "order")
    sql = (
        f"SELECT e.{event_order}, d.{status}, d.{attempts}, d.{error}"
        f" FROM {table} d INNER JOIN {events} e ON d.{event_col} = e.{event_pk}"
        f" WHERE e.{event_order} IN ({', '.join(['%s'] * len(order_ids))})"
        f" AND d.{purpose} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*order_ids, DeliveryPurpose.SUPPLIER_ORDER.value])
        rows = cursor.fetchall()
    states: dict[int, str] = {}
    for order_id, status, attempts, error in rows:
        state = delivery_state(status=status, attempt_count=attempts, last_error=error)
        current = states.get(order_id)
        if current is None or _STATE_RANK.index(state) < _STATE_RANK.index(current):
            states[order_id] = state
    return states


def events_undispatched_summary() -> tuple[int, datetime | None]:
    """How many committed order events have no delivery rows yet, and the oldest one's time."""
    result = OrderEvent.objects.filter(dispatched_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    return result["count"], result["oldest"]


def delivery_status_summary() -> list[dict]:
    """Per supplier and channel: delivered, pending, failing, failed, oldest pending."""
    pending = Q(status=DeliveryStatus.PENDING)
    return list(
        Delivery.objects.values("supplier__slug", "channel")
        .annotate(
            delivered=Count("id", filter=Q(status=DeliveryStatus.DELIVERED)),
            pending=Count("id", filter=pending),
            failing=Count("id", filter=pending & Q(attempt_count__gt=0) & ~Q(last_error="")),
            failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
            oldest_pending=Min("created_at", filter=pending),
        )
        .order_by("supplier__slug", "channel")
    )


__all__ = [
    "Channel",
    "deliveries_for_order",
    "deliveries_for_supplier",
    "deliveries_with_facts",
    "delivery_facts",
    "delivery_failing_count",
    "delivery_states_for_orders",
    "delivery_status_summary",
    "events_undispatched_summary",
    "destinations_for_supplier",
    "supplier_channels_all_off",
]
