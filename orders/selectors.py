"""Every non-trivial read of orders, with bounded query counts."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from orders_portal.db import execute_prepared, values_from_db
from suppliers.models import Product, Supplier

from .documents import (
    document_text,
    document_text_middle,
    json_text,
    order_document,
    orders_with_document_relations,
)
from .inputs import InputError, time_in_range
from .models import CancellationReason, Order, OrderEvent, OrderLine, OrderStatus, Retailer

# --- Supplier read API ----------------------------------------------------------------------
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
        _compiled_timestamptz(cursor)
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


def _compiled_timestamptz(cursor) -> None:
    """On PostgreSQL, read this cursor's times with psycopg's compiled loader.

    Django registers a pure-Python one (to set its own UTC tzinfo); for a page's 100
    `created_at` values it cost about 0.5 ms, as much as the query. Same instants, aware, UTC.
    """
    if connection.vendor != "postgresql":
        return
    from psycopg import adapters
    from psycopg.pq import Format

    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    cursor.cursor.adapters.register_loader("timestamptz", loader)


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
        # backfill reached it): build it as the delivery channels do; two more queries.
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


# --- Portal -------------------------------------------------------------------------------
# ORDER HISTORY: keyset pagination on (created_at, id), newest first. A page never counts the
# whole list; it fetches one row more than it shows to know whether there is an older page.

PORTAL_PAGE_SIZE = 50
PORTAL_MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class HistoryFilters:
    status: str = ""
    placed_from: date | None = None
    placed_to: date | None = None
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.status or self.placed_from or self.placed_to or self.q)


@dataclass
class HistoryPage:
    orders: list[HistoryRow]
    newer_cursor: str | None  # pass as `after` for the newer page
    older_cursor: str | None  # pass as `before` for the older page
    is_first: bool = True
    extra: dict = field(default_factory=dict)


def order_history_cursor_encode(*, order: Order | HistoryRow) -> str:
    raw = f"{order.created_at.isoformat()}|{order.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def order_history_cursor_decode(*, cursor: str) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor, or None when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_text, pk_text = base64.urlsafe_b64decode(padded).decode().split("|")
        created_at = datetime.fromisoformat(created_text)
        pk = int(pk_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if timezone.is_naive(created_at) or not 0 < pk < 2**63:
        return None
    try:
        return time_in_range(created_at), pk  # the input range (orders/inputs.py), in UTC
    except InputError:
        return None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _older_q(created_at: datetime, pk: int) -> Q:
    # The plain `created_at <=` bound lets the (supplier, created_at, id) index start at the
    # cursor; the OR alone would make the database walk every newer row first.
    return Q(created_at__lte=created_at) & (
        Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
    )


def _newer_q(created_at: datetime, pk: int) -> Q:
    return Q(created_at__gte=created_at) & (
        Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)
    )


def _older_than(qs, created_at: datetime, pk: int):
    return qs.filter(_older_q(created_at, pk))


@contextmanager
def _serial_reads():
    """No parallel workers for a page read (PostgreSQL).

    A page reads about 50 rows by index; on a busy server, starting parallel workers costs
    more than the scan (bench/portal.py: a SKU search went from ~35 ms to ~12 ms).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def order_history_search_sku(*, supplier: Supplier, q: str) -> str | None:
    """The supplier's catalogue SKU the search term names, if any (SKUs are unique)."""
    return (
        Product.objects.filter(supplier=supplier, sku__iexact=q)
        .values_list("sku", flat=True)
        .first()
    )


def _history_conditions(
    *, supplier: Supplier, filters: HistoryFilters, sku: str | None = None
) -> list[Q]:
    """The WHERE of ORDER HISTORY: the supplier's orders matching the filters."""
    conditions = [Q(supplier=supplier)]
    if filters.status:
        conditions.append(Q(status=filters.status))
    if filters.placed_from:
        conditions.append(Q(placed_at__gte=_day_start(filters.placed_from)))
    if filters.placed_to:
        conditions.append(Q(placed_at__lt=_day_start(filters.placed_to + timedelta(days=1))))
    q = filters.q.strip()
    if q:
        if sku:
            # A catalogue SKU: the orders that hold it.
            conditions.append(Q(pk__in=OrderLine.objects.filter(sku=sku).values("order_id")))
        else:
            match = Q(number=q.upper()) | Q(retailer_reference=q)
            if "@" in q:
                # A whole address: equality, on the (supplier, UPPER(email)) index.
                match |= Q(customer_email__iexact=q)
            else:
                # Part of a name or address: substring, on the trigram index (PostgreSQL).
                match |= Q(customer_name__icontains=q) | Q(customer_email__icontains=q)
            conditions.append(match)
    return conditions


def order_history_queryset(
    *, supplier: Supplier, filters: HistoryFilters, sku: str | None = None
) -> QuerySet[Order]:
    """The supplier's orders matching the filters, newest first (unpaginated)."""
    return Order.objects.filter(
        *_history_conditions(supplier=supplier, filters=filters, sku=sku)
    ).order_by("-created_at", "-id")


class HistoryRow(NamedTuple):
    """A row of ORDER HISTORY: what the table shows and what a cursor needs, nothing else.

    Plain tuples, not model instances: building ~100 models (orders and their retailers) was
    a large part of the page's Python time (bench/portal.py).
    """

    id: int
    number: str
    retailer_reference: str
    status: str
    customer_name: str
    customer_email: str
    currency: str
    total: Decimal
    item_count: int
    placed_at: datetime
    created_at: datetime
    retailer_name: str

    @property
    def pk(self) -> int:
        return self.id


# The columns of a HistoryRow, in its order; the page loads nothing else.
HISTORY_FIELDS = (*HistoryRow._fields[:-1], "retailer__name")


def order_history_page(
    *,
    supplier: Supplier,
    filters: HistoryFilters,
    before: str = "",
    after: str = "",
    page_size: int = PORTAL_PAGE_SIZE,
) -> HistoryPage:
    """One page of ORDER HISTORY: `before` walks to older orders, `after` to newer ones."""
    page_size = max(1, min(page_size, PORTAL_MAX_PAGE_SIZE))
    q = filters.q.strip()
    sku = order_history_search_sku(supplier=supplier, q=q) if q else None
    conditions = _history_conditions(supplier=supplier, filters=filters, sku=sku)
    before_key = order_history_cursor_decode(cursor=before) if before else None
    after_key = order_history_cursor_decode(cursor=after) if after and not before_key else None

    # One queryset, built once: conditions, order and slice (each queryset call is a clone).
    if after_key:
        conditions.append(_newer_q(*after_key))
        ordering = ("created_at", "id")
    else:
        if before_key:
            conditions.append(_older_q(*before_key))
        ordering = ("-created_at", "-id")
    qs = Order.objects.filter(*conditions).order_by(*ordering).values_list(*HISTORY_FIELDS)
    with _serial_reads():
        rows = [HistoryRow._make(row) for row in qs[: page_size + 1]]

    if after_key:
        has_newer = len(rows) > page_size
        rows = rows[:page_size][::-1]
        return HistoryPage(
            orders=rows,
            newer_cursor=order_history_cursor_encode(order=rows[0]) if rows and has_newer else None,
            older_cursor=order_history_cursor_encode(order=rows[-1]) if rows else None,
            is_first=not has_newer,
        )

    has_older = len(rows) > page_size
    rows = rows[:page_size]
    return HistoryPage(
        orders=rows,
        newer_cursor=order_history_cursor_encode(order=rows[0]) if rows and before_key else None,
        older_cursor=order_history_cursor_encode(order=rows[-1]) if rows and has_older else None,
        is_first=before_key is None,
    )


def order_history_export_rows(
    *, supplier: Supplier, filters: HistoryFilters, chunk_size: int = 2000
):
    """Every order matching the filters, newest first, read in keyset chunks (constant memory)."""
    sku = (
        order_history_search_sku(supplier=supplier, q=filters.q.strip())
        if filters.q.strip()
        else None
    )
    base = order_history_queryset(supplier=supplier, filters=filters, sku=sku).select_related(
        "retailer"
    )
    last: Order | None = None
    while True:
        qs = base
        if last is not None:
            qs = _older_than(qs, last.created_at, last.pk)
        chunk = list(qs[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1]


@dataclass
class HistoryDashboard:
    today: int
    awaiting: int


def _dashboard_sql() -> str:
    table = connection.ops.quote_name(Order._meta.db_table)
    column = {name: connection.ops.quote_name(Order._meta.get_field(name).column)
              for name in ("supplier", "created_at", "status")}  # fmt: skip
    return (
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE {column['supplier']} = %s"
        f" AND {column['created_at']} >= %s),"
        f" (SELECT COUNT(*) FROM {table} WHERE {column['supplier']} = %s"
        f" AND {column['status']} = %s)"
    )


def order_history_dashboard(*, supplier: Supplier) -> HistoryDashboard:
    """Counts for the strip above ORDER HISTORY, in one query: each an index range.

    A fixed statement on a plain cursor: built through the ORM (a row with two COUNT
    subqueries) it cost about 1 ms of Python per page view, as much as its SQL
    (bench/portal.py).
    """
    today_start = connection.ops.adapt_datetimefield_value(_day_start(timezone.localdate()))
    with connection.cursor() as cursor:
        cursor.execute(
            _dashboard_sql(), [supplier.pk, today_start, supplier.pk, OrderStatus.PLACED.value]
        )
        today, awaiting = cursor.fetchone()
    return HistoryDashboard(today=today or 0, awaiting=awaiting or 0)


def order_portal_get(*, supplier: Supplier, number: str) -> Order | None:
    """One of the supplier's orders by number, or None (also for another supplier's number)."""
    return Order.objects.filter(supplier=supplier, number=number).select_related("retailer").first()


def order_portal_detail(*, supplier: Supplier, number: str) -> Order | None:
    """The order with its lines and its timeline (events with their users), in three queries."""
    return (
        Order.objects.filter(supplier=supplier, number=number)
        .select_related("retailer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor_user").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .first()
    )


# --- Monthly summaries --------------------------------------------------------------------
#
# The rule (docs/summaries.md): a month's summary counts the orders placed in that month
# (placed_at in [local midnight on the 1st, local midnight on the next 1st), TIME_ZONE) as
# they stood when the month closed. An order cancelled before the close earns no commission.
# A cancellation at or after the close of the order's month is an adjustment in the summary
# of the month in which it was made, reversing the commission counted earlier. So every
# figure is fixed once the month has closed, and each cancellation is counted exactly once.

SUMMARY_FIGURES_VERSION = 1
_ZERO = Decimal("0.00")
# Only what the summary shows: each column costs on 100+ rows per retailer (bench/summaries.py).
_SUMMARY_ORDER_FIELDS = (
    "id",
    "retailer_id",
    "supplier_id",
    "number",
    "retailer_reference",
    "status",
    "currency",
    "total",
    "commission_rate",
    "commission_amount",
    "placed_at",
    "cancelled_at",
    "cancellation_reason",
    "cancellation_note",
)


def month_first_day(value: date) -> date:
    return date(value.year, value.month, 1)


def month_next(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_previous(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month: local midnight on its 1st to local midnight on the next 1st."""
    tz = timezone.get_default_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = month_next(month)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=tz)
    return start, end


def month_last_closed(*, now: datetime | None = None) -> date:
    """The month before the current one, in TIME_ZONE: what the 1st-of-month run summarises."""
    local = timezone.localtime(now or timezone.now())
    return month_previous(month_first_day(local.date()))


def _money(value: Decimal) -> str:
    # Amounts come from decimal(.., 2) columns and their sums: already to the cent.
    if not value:
        return "0.00"  # never "-0.00"
    return str(value) if value.as_tuple().exponent == -2 else str(value.quantize(_ZERO))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.get_default_timezone()).isoformat()


def _changes_after_close(*, order_ids: list[int], end: datetime) -> dict[int, tuple[str, str, str]]:
    """For orders whose status changed after the close: (status at the close, status now,
    when it became that), from the events (one query)."""
    if not order_ids:
        return {}
    changes: dict[int, tuple[str, str, str]] = {}
    events = (
        OrderEvent.objects.filter(order_id__in=order_ids, created_at__gte=end)
        .order_by("order_id", "created_at", "id")
        .values_list("order_id", "data", "created_at")
    )
    for order_id, data, created_at in events:
        if not isinstance(data, dict) or not data.get("from") or not data.get("to"):
            continue  # not a status change
        at_close = changes[order_id][0] if order_id in changes else data["from"]
        changes[order_id] = (at_close, data["to"], _iso(created_at))
    return changes


def _suppliers_named(supplier_ids: set[int]) -> dict[int, tuple[str, str]]:
    return {
        pk: (slug, name)
        for pk, slug, name in Supplier.objects.filter(pk__in=supplier_ids).values_list(
            "pk", "slug", "name"
        )
    }


def _empty_total(currency: str) -> dict:
    return {
        "currency": currency,
        "orders": 0,
        "cancelled_orders": 0,
        "placed_total": _ZERO,
        "cancelled_total": _ZERO,
        "sales_total": _ZERO,
        "commission": _ZERO,
        "adjustments": _ZERO,
        "commission_due": _ZERO,
    }


def _figures_from_rows(
    *,
    retailer: Retailer,
    month: date,
    placed: list[dict],
    adjusted: list[dict],
    changes: dict[int, tuple[str, str, str]],
    suppliers: dict[int, tuple[str, str]],
) -> dict:
    start, end = month_bounds(month)
    reasons = dict(CancellationReason.choices)
    counts = {status: 0 for status in OrderStatus.values}
    totals: dict[str, dict] = {}
    orders, cancelled, adjustments = [], [], []

    for row in sorted(placed, key=lambda r: (r["placed_at"], r["number"])):
        change = changes.get(row["id"]) if row["changed_after_close"] else None
        status = change[0] if change else row["status"]
        supplier_slug, supplier_name = suppliers[row["supplier_id"]]
        counts[status] += 1
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["orders"] += 1
        total["placed_total"] += row["total"]
        earns = status != OrderStatus.CANCELLED
        commission = row["commission_amount"] if earns else _ZERO
        later = {"status": change[1], "at": change[2]} if change else None
        if earns:
            total["sales_total"] += row["total"]
            total["commission"] += commission
        else:
            total["cancelled_orders"] += 1
            total["cancelled_total"] += row["total"]
            cancelled.append(
                {
                    "number": row["number"],
                    "reference": row["retailer_reference"],
                    "supplier": supplier_slug,
                    "supplier_name": supplier_name,
                    "reason": row["cancellation_reason"],
                    "reason_label": reasons.get(row["cancellation_reason"], ""),
                    "note": row["cancellation_note"],
                    "cancelled_at": _iso(row["cancelled_at"]),
                    "currency": row["currency"],
                    "total": str(row["total"]),  # decimal(14, 2): to the cent
                }
            )
        orders.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": supplier_slug,
                "supplier_name": supplier_name,
                "placed_at": _iso(row["placed_at"]),
                "status": status,
                "later": later,
                "currency": row["currency"],
                "total": str(row["total"]),  # decimal(14, 2): to the cent
                "commission_rate": str(row["commission_rate"]),
                "commission": _money(commission),
            }
        )

    for row in sorted(adjusted, key=lambda r: (r["cancelled_at"], r["number"])):
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["adjustments"] -= row["commission_amount"]
        supplier_slug, supplier_name = suppliers[row["supplier_id"]]
        placed_local = timezone.localtime(row["placed_at"])
        adjustments.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": supplier_slug,
                "supplier_name": supplier_name,
                "placed_at": _iso(row["placed_at"]),
                "placed_month": f"{placed_local:%Y-%m}",
                "cancelled_at": _iso(row["cancelled_at"]),
                "reason": row["cancellation_reason"],
                "reason_label": reasons.get(row["cancellation_reason"], ""),
                "note": row["cancellation_note"],
                "currency": row["currency"],
                "total": str(row["total"]),  # decimal(14, 2): to the cent
                "commission": _money(-row["commission_amount"]),
            }
        )

    totals_out = []
    for currency in sorted(totals):
        total = totals[currency]
        total["commission_due"] = total["commission"] + total["adjustments"]
        totals_out.append(
            {
                key: (_money(value) if isinstance(value, Decimal) else value)
                for key, value in total.items()
            }
        )
    return {
        "version": SUMMARY_FIGURES_VERSION,
        "month": f"{month:%Y-%m}",
        "time_zone": str(timezone.get_default_timezone()),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "retailer": {"id": retailer.pk, "slug": retailer.slug, "name": retailer.name},
        "counts": {"orders": len(orders), **counts},
        "orders": orders,
        "cancelled": cancelled,
        "adjustments": adjustments,
        "totals": totals_out,
        "empty": not orders and not adjustments,
    }


def _values_rows(queryset) -> list[dict]:
    """The rows of a `.values()` queryset, as Django gives them.

    On PostgreSQL, read with psycopg's compiled timestamptz loader: Django registers a
    pure-Python one (to set its own UTC tzinfo), about 3x slower over a month of orders
    (0.36 s per 500 retailers of the benchmark). Same instants, both aware and in UTC.
    """
    db = connections[queryset.db]
    if db.vendor != "postgresql":
        return list(queryset)
    from psycopg import adapters
    from psycopg.pq import Format

    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    query = queryset.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    sql, params = query.sql_with_params()
    with db.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute(sql, params)
        if len(cursor.description) != len(names):  # pragma: no cover - a Django change
            return list(queryset)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def retailer_month_figures_many(*, retailers: Iterable[Retailer], month: date) -> dict[int, dict]:
    """Figures of one month for many retailers, keyed by retailer id, in at most 4 queries.

    Callers pass retailers in chunks (a few hundred) to bound memory.
    """
    retailers = list(retailers)
    if not retailers:
        return {}
    month = month_first_day(month)
    start, end = month_bounds(month)
    ids = [retailer.pk for retailer in retailers]
    changed = ExpressionWrapper(Q(updated_at__gte=end), output_field=BooleanField())
    placed = _values_rows(
        Order.objects.filter(retailer_id__in=ids, placed_at__gte=start, placed_at__lt=end)
        .order_by()
        .values(*_SUMMARY_ORDER_FIELDS, changed_after_close=changed)
    )
    # Cancelled this month, placed in an earlier month: reverses commission counted then.
    adjusted = _values_rows(
        Order.objects.filter(
            retailer_id__in=ids,
            cancelled_at__gte=start,
            cancelled_at__lt=end,
            placed_at__lt=start,
            status=OrderStatus.CANCELLED,
        )
        .order_by()
        .values(*_SUMMARY_ORDER_FIELDS)
    )
    changes = _changes_after_close(
        order_ids=[row["id"] for row in placed if row["changed_after_close"]], end=end
    )
    suppliers = _suppliers_named({row["supplier_id"] for row in placed + adjusted})
    placed_by: dict[int, list[dict]] = defaultdict(list)
    adjusted_by: dict[int, list[dict]] = defaultdict(list)
    for row in placed:
        placed_by[row["retailer_id"]].append(row)
    for row in adjusted:
        adjusted_by[row["retailer_id"]].append(row)
    return {
        retailer.pk: _figures_from_rows(
            retailer=retailer,
            month=month,
            placed=placed_by.get(retailer.pk, []),
            adjusted=adjusted_by.get(retailer.pk, []),
            changes=changes,
            suppliers=suppliers,
        )
        for retailer in retailers
    }


def retailer_month_figures(*, retailer: Retailer, month: date) -> dict:
    """One retailer's month (see the rule above), JSON-ready: money as decimal strings."""
    return retailer_month_figures_many(retailers=[retailer], month=month)[retailer.pk]


# --- Retailers ------------------------------------------------------------------------------

_RETAILER_KEY_FIELDS = ("id", "slug", "name", "email", "commission_rate")


def retailer_for_api_key(*, digest: str) -> Retailer | None:
    """The active retailer whose API key has this digest, or None.

    Runs on every intake request: one plain query and a light instance (other fields
    deferred) instead of the ORM's query building, which cost as much as the query.
    """
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(qn(c) for c in _RETAILER_KEY_FIELDS)} "
        f"FROM {qn(Retailer._meta.db_table)} WHERE {qn('api_key_hash')} = %s AND {qn('is_active')}"
    )
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = [Retailer._meta.get_field(name) for name in _RETAILER_KEY_FIELDS]
    return Retailer.from_db(connection.alias, _RETAILER_KEY_FIELDS, values_from_db(fields, row))
