"""Every non-trivial read of orders, with bounded query counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from suppliers.models import Supplier

from .documents import orders_with_document_relations
from .models import Order

# --- Supplier read API ----------------------------------------------------------------------
# Orders of one supplier by creation window, change time and cursor. Two queries per page
# (orders with supplier and retailer joined; their lines), whatever the page size.


@dataclass(frozen=True)
class OrderPosition:
    """A place in the (created_at, id) order of a listing; what a cursor carries."""

    created_at: datetime
    id: int


@dataclass
class OrderPage:
    orders: list[Order]
    # The position after the last order when more orders follow, else None.
    next_position: OrderPosition | None
    # Everything stamped before this instant has committed; frozen for a whole walk.
    settled_before: datetime


def supplier_api_settled_before(*, now: datetime | None = None) -> datetime:
    """The instant before which no order write can still commit (now minus the settle time)."""
    now = now or timezone.now()
    return now - timedelta(seconds=settings.SUPPLIER_API_SETTLE_SECONDS)


def order_list_for_supplier(
    *,
    supplier: Supplier,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    status: str | None = None,
    after: OrderPosition | None = None,
    settled_before: datetime | None = None,
    limit: int = 100,
) -> OrderPage:
    """One page of a supplier's orders, ascending by (created_at, id), settled orders only.

    `settled_before` comes from the walk's first page (via the cursor) so every page of one
    walk lists the same fixed set; it is never later than now minus the settle time.
    """
    horizon = supplier_api_settled_before()
    if settled_before is not None and settled_before < horizon:
        horizon = settled_before
    end = horizon if created_before is None else min(created_before, horizon)

    queryset = Order.objects.filter(supplier=supplier, created_at__lt=end)
    if created_after is not None:
        queryset = queryset.filter(created_at__gte=created_after)
    if updated_after is not None:
        queryset = queryset.filter(updated_at__gte=updated_after, updated_at__lt=horizon)
    if status:
        queryset = queryset.filter(status=status)
    if after is not None:
        queryset = queryset.filter(created_at__gte=after.created_at).filter(
            Q(created_at__gt=after.created_at) | Q(id__gt=after.id)
        )
    rows = list(orders_with_document_relations(queryset.order_by("created_at", "id"))[: limit + 1])
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_position = OrderPosition(created_at=last.created_at, id=last.id)
    return OrderPage(orders=rows, next_position=next_position, settled_before=horizon)


def order_get_for_supplier(*, supplier: Supplier, number: str) -> Order | None:
    """One of the supplier's orders by number, or None (also for another supplier's order)."""
    return orders_with_document_relations(
        Order.objects.filter(supplier=supplier, number=number)
    ).first()
