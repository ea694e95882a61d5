"""The retailer read API's reads (issue 19): a retailer's own orders, each supplier's part
as its order document, by change time and cursor, and one retailer order by its reference.

The same no-gap rule as the supplier API (docs/polling.md): only changes stamped before the
settled horizon (now minus SUPPLIER_API_SETTLE_SECONDS) are listed, and a walk keeps the
horizon of its first page, so consecutive `updated_after` windows see each change once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..documents import order_document, orders_with_document_relations
from ..models import Order, Retailer
from .supplier_api import OrderPosition, supplier_api_walk_horizon


@dataclass
class RetailerOrderPage:
    # Each supplier part's order document, in (created_at, id) order.
    documents: list[dict]
    next_position: OrderPosition | None
    settled_before: datetime


def order_list_for_retailer(
    *,
    retailer: Retailer,
    updated_after: datetime,
    after: OrderPosition | None = None,
    settled_before: datetime | None = None,
    limit: int = 100,
) -> RetailerOrderPage:
    """One page of the retailer's orders changed in [updated_after, horizon), ascending by
    (created_at, id); three queries whatever the page size (orders, lines, records)."""
    horizon = supplier_api_walk_horizon(settled_before=settled_before)
    orders = Order.objects.filter(
        retailer=retailer,
        created_at__lt=horizon,
        updated_at__gte=updated_after,
        updated_at__lt=horizon,
    )
    if after is not None:
        orders = orders.filter(created_at__gte=after.created_at).exclude(
            created_at=after.created_at, id__lte=after.id
        )
    rows = list(orders_with_document_relations(orders.order_by("created_at", "id"))[: limit + 1])
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_position = OrderPosition(created_at=rows[-1].created_at, id=rows[-1].id)
    return RetailerOrderPage(
        documents=[order_document(order) for order in rows],
        next_position=next_position,
        settled_before=horizon,
    )


def order_get_for_retailer(*, retailer: Retailer, reference: str) -> list[dict] | None:
    """Every supplier's part of the retailer's order with this reference, or None (also for
    another retailer's reference). Read through the intake's unique (retailer, reference)."""
    orders = list(
        orders_with_document_relations(
            Order.objects.filter(intake__retailer=retailer, intake__reference=reference)
        ).order_by("number")
    )
    if not orders:
        return None
    return [order_document(order) for order in orders]
