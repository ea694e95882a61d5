"""ORDER HISTORY: the supplier's own orders, newest first; their part-way marks; the export."""

from __future__ import annotations

import base64
import binascii
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from suppliers.models import Product, Supplier

from ..inputs import InputError, time_in_range
from ..models import Order, OrderLine, OrderStatus
from .acknowledgement import OPEN_STATUSES, overdue_q

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
    overdue: bool = False

    @property
    def active(self) -> bool:
        return bool(self.status or self.placed_from or self.placed_to or self.q or self.overdue)


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


def _whole_address(q: str) -> bool:
    """Whether the search is a whole email address (equality, on its index); a part of one,
    "@example.com" or "ann@" say, is a substring search like any part of a name (found in
    review: any term holding "@" was compared as a whole address, and found nothing)."""
    if "@" not in q:
        return False
    try:
        validate_email(q)
    except ValidationError:
        return False
    return True


def _history_conditions(
    *, supplier: Supplier, filters: HistoryFilters, sku: str | None = None
) -> list[Q]:
    """The WHERE of ORDER HISTORY: the supplier's orders matching the filters."""
    conditions = [Q(supplier=supplier)]
    if filters.status:
        conditions.append(Q(status=filters.status))
    if filters.overdue:
        conditions.append(overdue_q())
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
            if _whole_address(q):
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
    acknowledged_at: datetime | None
    acknowledge_by: datetime
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


# The marks ORDER HISTORY puts beside a row's status.
MARK_PARTLY_CANCELLED = "partly cancelled"
MARK_PART_SHIPPED = "part shipped"


def _marks_sql(count: int) -> str:
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    order, cancelled, shipped = (
        connection.ops.quote_name(OrderLine._meta.get_field(name).column)
        for name in ("order", "quantity_cancelled", "quantity_shipped")
    )
    return (
        f"SELECT {order}, SUM({cancelled}), SUM({shipped}) FROM {table}"
        f" WHERE {order} IN ({', '.join(['%s'] * count)})"
        f" AND ({cancelled} > 0 OR {shipped} > 0) GROUP BY {order}"
    )


def order_history_marks(*, orders: list[HistoryRow]) -> dict[int, list[str]]:
    """{order id: marks} for the page's orders that are part way: some units cancelled (the
    order not cancelled), or some shipped (the order not shipped).

    One query on the lines' (order, line_no) index, a fixed statement on a plain cursor (like
    the dashboard's: through the ORM it cost more Python than its SQL, bench/portal.py). A
    cancelled order needs no look-up: none of its units ever shipped.
    """
    ids = [o.id for o in orders if o.status != OrderStatus.CANCELLED]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_marks_sql(len(ids)), ids)
        sums = cursor.fetchall()
    status = {o.id: o.status for o in orders}
    marks: dict[int, list[str]] = {}
    for order_id, cancelled, shipped in sums:
        found = []
        if cancelled:
            found.append(MARK_PARTLY_CANCELLED)
        if shipped and status[order_id] != OrderStatus.SHIPPED:
            found.append(MARK_PART_SHIPPED)
        if found:
            marks[order_id] = found
    return marks


def order_history_export_rows(
    *, supplier: Supplier, filters: HistoryFilters, chunk_size: int = 2000
):
    """Every order matching the filters, newest first, read in keyset chunks (constant memory),
    each with its lines (one more query per chunk)."""
    sku = (
        order_history_search_sku(supplier=supplier, q=filters.q.strip())
        if filters.q.strip()
        else None
    )
    base = (
        order_history_queryset(supplier=supplier, filters=filters, sku=sku)
        .select_related("retailer")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")))
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
    overdue: int = 0


def _dashboard_sql() -> str:
    table = connection.ops.quote_name(Order._meta.db_table)
    column = {name: connection.ops.quote_name(Order._meta.get_field(name).column)
              for name in ("supplier", "created_at", "status", "acknowledged_at",
                           "placed_at", "acknowledge_by")}  # fmt: skip
    return (
        # Placed today: what the card's link (?placed_from=today) lists; order_supplier_placed.
        f"SELECT (SELECT COUNT(*) FROM {table} WHERE {column['supplier']} = %s"
        f" AND {column['placed_at']} >= %s),"
        f" (SELECT COUNT(*) FROM {table} WHERE {column['supplier']} = %s"
        f" AND {column['status']} = %s),"
        # The overdue rule of selectors/acknowledgement.py, on the order_unacknowledged_by index.
        f" (SELECT COUNT(*) FROM {table} WHERE {column['supplier']} = %s"
        f" AND {column['acknowledged_at']} IS NULL AND {column['status']} IN (%s, %s)"
        f" AND {column['acknowledge_by']} < %s)"
    )


def order_history_dashboard(*, supplier: Supplier) -> HistoryDashboard:
    """Counts for the strip above ORDER HISTORY, in one query: each an index range.

    A fixed statement on a plain cursor: built through the ORM (a row with two COUNT
    subqueries) it cost about 1 ms of Python per page view, as much as its SQL
    (bench/portal.py).
    """
    adapt = connection.ops.adapt_datetimefield_value
    today_start = adapt(_day_start(timezone.localdate()))
    with connection.cursor() as cursor:
        cursor.execute(
            _dashboard_sql(),
            [
                supplier.pk,
                today_start,
                supplier.pk,
                OrderStatus.PLACED.value,
                supplier.pk,
                *(str(status) for status in OPEN_STATUSES),
                adapt(timezone.now()),
            ],
        )
        today, awaiting, overdue = cursor.fetchone()
    return HistoryDashboard(today=today or 0, awaiting=awaiting or 0, overdue=overdue or 0)
