"""The acknowledgement deadline (issue 13): which orders are overdue.

An order is overdue when it is still open (placed or processing), nobody acknowledged it
(nor shipped or cancelled any of it as the supplier) and its `acknowledge_by` (set when it
arrived: placed_at + ORDER_ACKNOWLEDGE_HOURS as it was then) has passed. One rule, used by
ORDER HISTORY, the API, the command and the reminder; the partial index
`order_unacknowledged_by` serves it.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..models import Order, OrderStatus

OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)


def overdue_q(*, now: datetime | None = None) -> Q:
    return Q(
        acknowledged_at__isnull=True,
        status__in=OPEN_STATUSES,
        acknowledge_by__lt=now or timezone.now(),
    )


def order_is_overdue(order, *, now: datetime) -> bool:
    """The same rule for one loaded order (or ORDER HISTORY row)."""
    return (
        order.acknowledged_at is None
        and order.status in OPEN_STATUSES
        and order.acknowledge_by < now
    )


def orders_overdue(*, supplier=None, now: datetime | None = None) -> QuerySet[Order]:
    """Overdue orders, oldest deadline first (one supplier's, or everyone's)."""
    qs = Order.objects.filter(overdue_q(now=now))
    if supplier is not None:
        qs = qs.filter(supplier=supplier)
    return qs.order_by("acknowledge_by", "id")


def overdue_counts_by_supplier(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """(supplier slug, overdue orders) for every supplier that has any, by slug."""
    rows = (
        Order.objects.filter(overdue_q(now=now))
        .values("supplier__slug")
        .annotate(n=Count("id"))
        .order_by("supplier__slug")
    )
    return [(row["supplier__slug"], row["n"]) for row in rows]
