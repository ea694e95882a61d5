"""The supplier read API's reads: orders of one supplier by creation window, change time and
cursor, as contract document text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from common.db import execute_prepared, timestamptz_compiled, values_from_db
from suppliers.models import Supplier

from ..documents import (
    document_text,
    document_text_middle,
    json_text,
    order_document,
    orders_with_document_relations,
)
from ..models import Order, OrderStatus, Retailer

# Orders of one supplier by creation window, change time and cursor. One query per page
# whatever its size: each row brings its stored document text (see orders/documents.py),
# and only the head (number, status, supplier, retailer) is joined in front of it.


@dataclass(frozen=True)
class OrderPosition:
    """A place in the (created_at, id) order of a listing; what a cursor carries."""

    created_at: datetime
    id: int


@dataclass
class OrderPage:
    # Each order's contract document as JSON text, in (created_at, id) order.
    documents: list[str]
    # The position after the last order when more orders follow, else None.
    next_position: OrderPosition | None
    # Everything stamped before this instant has committed; frozen for a whole walk.
    settled_before: datetime


def supplier_api_settled_before(*, now: datetime | None = None) -> datetime:
    """The instant before which no order write can still commit (now minus the settle time)."""
    now = now or timezone.now()
    return now - timedelta(seconds=settings.SUPPLIER_API_SETTLE_SECONDS)


def supplier_api_walk_horizon(*, settled_before: datetime | None) -> datetime:
    """A page's horizon: a new walk's is now minus the settle time; a later page keeps the
    first page's (its cursor's `settled_before`), trusted up to this server's now.

    Not up to now minus the settle time: a page served by a server whose clock runs behind
    the first page's (any skew at all, within the settle time the rule allows for) cut the
    walk short there, dropping its last orders, while the poller moved on to the first
    page's Settled-Before and never saw them (found in review). A cursor is not secret; one
    made up to reach past the settled horizon only shows its own supplier's orders early.
    """
    if settled_before is None:
        return supplier_api_settled_before()
    return min(settled_before, timezone.now())


def order_list_for_supplier(
    *,
    supplier: Supplier,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    status: str | None = None,
    acknowledged: bool | None = None,
    after: OrderPosition | None = None,
    settled_before: datetime | None = None,
    limit: int = 100,
) -> OrderPage:
    """One page of a supplier's orders, ascending by (created_at, id), settled orders only.

    `settled_before` comes from the walk's first page (via the cursor) so every page of one
    walk lists the same fixed set (`supplier_api_walk_horizon`).
    """
    horizon = supplier_api_walk_horizon(settled_before=settled_before)
    end = horizon if created_before is None else min(created_before, horizon)

    # A fixed statement rather than a queryset: building and iterating the queryset cost
    # about as much as the query itself, on every page.
    adapt = connection.ops.adapt_datetimefield_value
    where, params = ["o.supplier_id = %s", "o.created_at < %s"], [supplier.pk, adapt(end)]
    if created_after is not None:
        where.append("o.created_at >= %s")
        params.append(adapt(created_after))
    if updated_after is not None:
        where.append("o.updated_at >= %s AND o.updated_at < %s")
        params += [adapt(updated_after), adapt(horizon)]
    if status:
        where.append("o.status = %s")
        params.append(status)
    if acknowledged:
        where.append("o.acknowledged_at IS NOT NULL")
    elif acknowledged is not None:
        # Still to acknowledge: open ones only. An order ops or the retailer cancelled (or
        # ops shipped) has no acknowledgement and can never get one; it stayed on this list.
        where.append("o.acknowledged_at IS NULL AND o.status IN (%s, %s)")
        params += [OrderStatus.PLACED.value, OrderStatus.PROCESSING.value]
    if after is not None:
        # The plain `>=` bound lets the (supplier, created_at, id) index start at the cursor.
        where.append("o.created_at >= %s AND (o.created_at > %s OR o.id > %s)")
        params += [adapt(after.created_at), adapt(after.created_at), after.id]
    condition = " AND ".join(where)
    if updated_after is not None:
        # Late row lookup: pick the page's ids from the (supplier, updated_at) index alone,
        # then read 100 rows. Filtering the creation-ordered index instead can read the
        # supplier's whole history to find a few recent changes.
        condition = (
            f"o.id IN (SELECT o.id FROM {_ORDERS} o WHERE {condition} "
            "ORDER BY o.created_at, o.id LIMIT %s)"
        )
        params.append(limit + 1)
    with connection.cursor() as cursor:
        timestamptz_compiled(cursor)
        execute_prepared(
            cursor,
            f"{_PAGE_SELECT} WHERE {condition} ORDER BY o.created_at, o.id LIMIT %s",
            [*params, limit + 1],
        )
        rows = cursor.fetchall()
    next_position = None
    if len(rows) > limit:
        rows = rows[:limit]
        created_at = rows[-1][1]
        (created_at,) = values_from_db([Order._meta.get_field("created_at")], [created_at])
        next_position = OrderPosition(created_at=created_at, id=rows[-1][0])
    return OrderPage(
        documents=_documents_text(rows, supplier=supplier),
        next_position=next_position,
        settled_before=horizon,
    )


_ORDERS = Order._meta.db_table
# What a page reads per order: its position, the head's own fields, the stored text.
_PAGE_SELECT = (
    "SELECT o.id, o.created_at, o.number, o.status, o.retailer_reference, o.retailer_id, "
    "r.slug, r.name, "
    # The stored text only when it is of the order's current version (else NULL: built).
    "CASE WHEN o.document_version = o.version THEN o.document_tail END "
    f"FROM {_ORDERS} o JOIN {Retailer._meta.db_table} r ON r.id = o.retailer_id"
)


def _documents_text(rows: list[tuple], *, supplier: Supplier) -> list[str]:
    """Each row's document text; a row without a stored text of its version is built."""
    middles: dict[int, str] = {}
    documents: list[str] = []
    append = documents.append
    stale: dict[int, int] = {}
    for order_id, _, number, status, reference, retailer_id, r_slug, r_name, tail in rows:
        if not tail:
            stale[order_id] = len(documents)
            append("")
            continue
        middle = middles.get(retailer_id)
        if middle is None:
            middle = middles[retailer_id] = document_text_middle(
                supplier_slug=supplier.slug, retailer_slug=r_slug, retailer_name=r_name
            )
        append(document_text(number, status, middle, reference, tail))
    if stale:
        # Written without its text (a process of the previous release, or before the
        # backfill reached it): build it as the delivery channels do; four more queries.
        for order in orders_with_document_relations(Order.objects.filter(id__in=list(stale))):
            documents[stale[order.id]] = json_text(order_document(order))
    return documents


def order_get_for_supplier(*, supplier: Supplier, number: str) -> str | None:
    """One of the supplier's orders by number as document text, or None (also for another
    supplier's order)."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            f"{_PAGE_SELECT} WHERE o.supplier_id = %s AND o.number = %s",
            [supplier.pk, number],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return _documents_text(rows, supplier=supplier)[0]
