"""A retailer's month: the figures of its monthly summary and the commission rules.

Reads orders only (statements depends on orders, never the other way round)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from django.db import connections
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q

from common.db import timestamptz_compiled
from orders.models import (
    Cancellation,
    CancellationLine,
    Order,
    OrderEvent,
    Retailer,
    ShipmentLine,
)

from .figures import SUMMARY_FIGURES_VERSION, _figures_from_rows, _iso  # noqa: F401
from .months import month_bounds, month_first_day

# The rule (docs/summaries.md): a month's summary counts the orders that reached us in that
# month (created_at, stamped by our own clock at intake, in [local midnight on the 1st, local
# midnight on the next 1st), TIME_ZONE) as they stood when the month closed. Never by the
# retailer's placed_at, which intake takes for any time from 1900 to 2999: an order that
# arrived after the summary of its placed_at month was made (a backlog, a retry after an
# outage, 23:59 on the 30th arriving after the run, a retailer back-dating on purpose) would be
# in no summary at all and earn nothing. An order is stamped in a transaction that commits
# within ORDERS_TRANSACTION_TIMEOUT_SECONDS of its stamp (orders/transactions.py) and a month
# is summarised only once it has ended, so every order of a month is there when its summary
# is made. The summary still shows each order's placed_at, the retailer's own date.
# Commission is earned on the units not cancelled at the close, at the order's frozen rate,
# rounded half-up to the cent per order (orders/commission.py): a cancellation before the
# close, of some units or all, lowers that month's commission. A cancellation at or after the
# close of the order's month is an adjustment in the summary of the month in which it was
# made, of exactly the difference it makes to the order's commission, with the lines named.
# So every figure is fixed once the month has closed, each order is in exactly one month, each
# cancellation is counted exactly once, and over all summaries an order earns exactly the
# commission on what was not cancelled.

# Shipments (issue 19): the summary lists, beside the cancellations, each order of the month
# (by created_at, as above) with a shipment made before the close: its parcels (carrier,
# tracking number, units) and whether it was shipped whole (every unit not cancelled at the
# close) or in part.

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
    "item_count",
    "placed_at",
    "cancelled_at",
    "cancellation_reason",
    "cancellation_note",
)


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
        if data["from"] == data["to"]:
            continue  # a line-level change that left the status as it was
        at_close = changes[order_id][0] if order_id in changes else data["from"]
        changes[order_id] = (at_close, data["to"], _iso(created_at))
    return changes


def _values_rows(queryset) -> list[dict]:
    """The rows of a `.values()` queryset, as Django gives them.

    On PostgreSQL, read with psycopg's compiled timestamptz loader (see
    `timestamptz_compiled`): about 3x faster over a month of orders (0.36 s per 500
    retailers of the benchmark). Same instants, both aware and in UTC.
    """
    db = connections[queryset.db]
    if db.vendor != "postgresql":
        return list(queryset)
    query = queryset.query
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    sql, params = query.sql_with_params()
    with db.cursor() as cursor:
        timestamptz_compiled(cursor)
        cursor.execute(sql, params)
        if len(cursor.description) != len(names):  # pragma: no cover - a Django change
            return list(queryset)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def retailer_month_figures_many(*, retailers: Iterable[Retailer], month: date) -> dict[int, dict]:
    """Figures of one month for many retailers, keyed by retailer id, in at most 5 queries
    (4 when no order of the month changed status after the close).

    The month is the one in which each order reached us (created_at; index
    order_retailer_created), never the retailer's placed_at (see the rule above).
    Each query selects by (retailer, month) with joins, never by a list of order ids or a
    probe per order: at 500 retailers a list of 20,000 ids cost more to send and parse than
    the rows it found (bench/summaries.py). The result holds every order of these retailers'
    month: callers pass batches bounded by those orders (statements/batches.py).
    """
    retailers = list(retailers)
    if not retailers:
        return {}
    month = month_first_day(month)
    start, end = month_bounds(month)
    ids = [retailer.pk for retailer in retailers]
    changed = ExpressionWrapper(Q(updated_at__gte=end), output_field=BooleanField())
    supplier = {"supplier_slug": F("supplier__slug"), "supplier_name": F("supplier__name")}
    placed = _values_rows(
        Order.objects.filter(retailer_id__in=ids, created_at__gte=start, created_at__lt=end)
        .order_by()
        .values(*_SUMMARY_ORDER_FIELDS, **supplier, changed_after_close=changed)
    )
    # Orders of earlier months (that reached us before this month, whatever their placed_at)
    # with a cancellation made this month: each an adjustment. created_at tells which
    # summary charged the commission it takes back. Read from these retailers' cancellations
    # of the month (index cancellation_retailer_time), which bound the scan: by the orders'
    # retailer it read every earlier order of theirs, by the month alone every retailer's
    # cancellations of it.
    cancelled_now = Cancellation.objects.filter(
        retailer_id__in=ids,
        created_at__gte=start,
        created_at__lt=end,
        order__created_at__lt=start,
    ).values("order_id")
    adjusted = _values_rows(
        Order.objects.filter(id__in=cancelled_now)
        .order_by()
        .values(*_SUMMARY_ORDER_FIELDS, "created_at", **supplier)
    )
    cancelled_lines = _cancelled_lines(ids=ids, start=start, end=end, cancelled_now=cancelled_now)
    for row in placed:
        row["cancelled_any"] = row["id"] in cancelled_lines
    changes = _changes_after_close(
        order_ids=[row["id"] for row in placed if row["changed_after_close"]], end=end
    )
    suppliers = {
        row["supplier_id"]: (row["supplier_slug"], row["supplier_name"])
        for row in placed + adjusted
    }
    placed_by: dict[int, list[dict]] = defaultdict(list)
    adjusted_by: dict[int, list[dict]] = defaultdict(list)
    for row in placed:
        placed_by[row["retailer_id"]].append(row)
    for row in adjusted:
        adjusted_by[row["retailer_id"]].append(row)
    shipped = _shipped_before(placed=placed, retailer_ids=ids, start=start, end=end)
    return {
        retailer.pk: _figures_from_rows(
            retailer=retailer,
            month=month,
            placed=placed_by.get(retailer.pk, []),
            adjusted=adjusted_by.get(retailer.pk, []),
            cancelled_lines=cancelled_lines,
            changes=changes,
            suppliers=suppliers,
            shipped=shipped,
        )
        for retailer in retailers
    }


# A cancellation line as the figures read it (the line's own quantity is `line_quantity`).
_CANCELLED_LINE_VALUES = {
    "order_id": F("cancellation__order_id"),
    "created_at": F("cancellation__created_at"),
    "reason": F("cancellation__reason"),
    "note": F("cancellation__note"),
    "line_no": F("line__line_no"),
    "sku": F("line__sku"),
    "name": F("line__name"),
    "line_quantity": F("line__quantity"),
    "unit_price": F("line__unit_price"),
    "units": F("quantity"),
}


def _cancelled_lines(
    *, ids: list[int], start: datetime, end: datetime, cancelled_now
) -> dict[int, list[dict]]:
    """Every cancellation line of the month's orders and of the adjusted ones, by order,
    oldest first (one query): the figures take those before the close; an order of the month
    with any at all (even after the close, which has lowered its stored commission) has its
    commission worked out from them.

    Two branches, UNION ALL (the orders of the month, and the adjusted orders, which reached
    us before it): written as one filter with an OR, the month could not bound the scan of
    order_retailer_created, which read every order these retailers ever sent."""
    of_month = CancellationLine.objects.filter(
        cancellation__order__retailer_id__in=ids,
        cancellation__order__created_at__gte=start,
        cancellation__order__created_at__lt=end,
    )
    adjusted = CancellationLine.objects.filter(cancellation__order_id__in=cancelled_now)
    both = (
        of_month.order_by()
        .values("cancellation_id", **_CANCELLED_LINE_VALUES)
        .union(adjusted.order_by().values("cancellation_id", **_CANCELLED_LINE_VALUES), all=True)
        .order_by("created_at", "cancellation_id", "line_no")
    )
    lines: dict[int, list[dict]] = defaultdict(list)
    for row in _values_rows(both):
        del row["cancellation_id"]
        row["quantity"] = row.pop("units")
        lines[row["order_id"]].append(row)
    return lines


def _shipped_before(
    *, placed: list[dict], retailer_ids: list[int], start: datetime, end: datetime
) -> dict[int, dict]:
    """For the orders of these retailers that reached us in [start, end) (created_at) with a
    parcel sent before the close: units ordered (the order's own item_count), units shipped
    before the close, and each such parcel (carrier, tracking number, when, units), oldest
    first; one query."""
    units = {row["id"]: row["item_count"] for row in placed}
    shipped: dict[int, dict] = {}
    parcels: dict[int, dict] = {}
    for row in _values_rows(
        ShipmentLine.objects.filter(
            shipment__order__retailer_id__in=retailer_ids,
            shipment__order__created_at__gte=start,
            shipment__order__created_at__lt=end,
            shipment__created_at__lt=end,
        )
        .order_by("shipment__created_at", "shipment_id")
        .values(
            "shipment_id",
            "quantity",
            order_id=F("shipment__order_id"),
            carrier=F("shipment__carrier"),
            tracking_number=F("shipment__tracking_number"),
            shipped_at=F("shipment__shipped_at"),
        )
    ):
        order = shipped.get(row["order_id"])
        if order is None:
            order = shipped[row["order_id"]] = {
                "units": units[row["order_id"]],
                "units_shipped": 0,
                "parcels": [],
            }
        order["units_shipped"] += row["quantity"]
        parcel = parcels.get(row["shipment_id"])
        if parcel is None:
            parcel = parcels[row["shipment_id"]] = {
                "carrier": row["carrier"],
                "tracking_number": row["tracking_number"],
                "shipped_at": _iso(row["shipped_at"]),
                "units": 0,
            }
            order["parcels"].append(parcel)
        parcel["units"] += row["quantity"]
    return shipped


def retailer_month_order_counts(*, retailer_ids: list[int], month: date) -> dict[int, int]:
    """How many orders reached us in the month from each of these retailers (those with any),
    in one grouped query over the index order_retailer_created."""
    start, end = month_bounds(month_first_day(month))
    return dict(
        Order.objects.filter(
            retailer_id__in=retailer_ids, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values("retailer_id")
        .annotate(orders=Count("*"))
        .values_list("retailer_id", "orders")
    )


def retailer_month_figures(*, retailer: Retailer, month: date) -> dict:
    """One retailer's month (see the rule above), JSON-ready: money as decimal strings."""
    return retailer_month_figures_many(retailers=[retailer], month=month)[retailer.pk]
