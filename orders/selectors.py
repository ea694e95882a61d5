"""Every non-trivial read of orders, with bounded query counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import F, Q, Subquery
from django.utils import timezone

from suppliers.models import Supplier

from .documents import orders_with_document_relations
from .models import Order, OrderLine, Retailer

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
    if updated_after is not None:
        # Late row lookup: pick the page's ids from the (supplier, updated_at) index alone,
        # then read 100 rows. Filtering the creation-ordered index instead can read the
        # supplier's whole history to find a few recent changes.
        ids = queryset.order_by("created_at", "id").values("id")[: limit + 1]
        queryset = Order.objects.filter(id__in=Subquery(ids))
    rows = list(
        queryset.only(*_DOCUMENT_ORDER_FIELDS)
        .annotate(_retailer_slug=F("retailer__slug"), _retailer_name=F("retailer__name"))
        .order_by("created_at", "id")[: limit + 1]
    )
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_position = OrderPosition(created_at=last.created_at, id=last.id)
    _attach_document_relations(rows, supplier=supplier)
    return OrderPage(orders=rows, next_position=next_position, settled_before=horizon)


# What `order_document` reads. A page loads only these columns, shares one supplier and one
# Retailer object per retailer instead of a model per row, and carries its lines as light
# read-only rows: model instances were most of a page's time. Should the document grow a
# field, the query-count tests fail loudly rather than pages going N+1.
_DOCUMENT_ORDER_FIELDS = (
    "id",
    "number",
    "status",
    "supplier_id",
    "retailer_id",
    "retailer_reference",
    "placed_at",
    "created_at",
    "updated_at",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
    "currency",
    "total",
    "cancellation_reason",
    "cancellation_note",
    "cancelled_at",
    "shipment_carrier",
    "shipment_tracking_number",
    "shipped_at",
)


class DocumentLine(NamedTuple):
    """An order line as `order_document` reads it (a page holds hundreds)."""

    order_id: int
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


def _attach_document_relations(orders: list[Order], *, supplier: Supplier) -> None:
    """One query for all the page's lines; supplier and retailers shared, not re-made."""
    by_order: dict[int, list[DocumentLine]] = {order.id: [] for order in orders}
    if by_order:
        for row in (
            OrderLine.objects.filter(order_id__in=list(by_order))
            .order_by("order_id", "line_no")
            .values_list(*DocumentLine._fields)
        ):
            by_order[row[0]].append(DocumentLine._make(row))
    retailers: dict[int, Retailer] = {}
    for order in orders:
        retailer = retailers.get(order.retailer_id)
        if retailer is None:
            retailer = Retailer(id=order.retailer_id, slug=order._retailer_slug)
            retailer.name = order._retailer_name
            retailers[order.retailer_id] = retailer
        order.retailer = retailer
        order.supplier = supplier
        order._prefetched_objects_cache = {"lines": by_order[order.id]}


def order_get_for_supplier(*, supplier: Supplier, number: str) -> Order | None:
    """One of the supplier's orders by number, or None (also for another supplier's order)."""
    return orders_with_document_relations(
        Order.objects.filter(supplier=supplier, number=number)
    ).first()
