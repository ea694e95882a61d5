"""A retailer's month: the figures of its monthly summary and the commission rules.

Reads orders only (statements depends on orders, never the other way round)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import connections
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.utils import timezone

from common.db import timestamptz_compiled
from orders.commission import commission_on
from orders.models import (
    Cancellation,
    CancellationLine,
    CancellationReason,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Retailer,
    Shipment,
    ShipmentLine,
)
from suppliers.models import Supplier

from .months import month_bounds, month_first_day

# The rule (docs/summaries.md): a month's summary counts the orders placed in that month
# (placed_at in [local midnight on the 1st, local midnight on the next 1st), TIME_ZONE) as
# they stood when the month closed. Commission is earned on the units not cancelled at the
# close, at the order's frozen rate, rounded half-up to the cent per order (orders/
# commission.py): a cancellation before the close, of some units or all, lowers that month's
# commission. A cancellation at or after the close of the order's month is an adjustment in
# the summary of the month in which it was made, of exactly the difference it makes to the
# order's commission, with the lines named. So every figure is fixed once the month has
# closed, each cancellation is counted exactly once, and over all summaries an order earns
# exactly the commission on what was not cancelled.

# Shipments (issue 19): the summary lists, beside the cancellations, each order of the month
# with a shipment made before the close: its parcels (carrier, tracking number, units) and
# whether it was shipped whole (every unit not cancelled at the close) or in part.

SUMMARY_FIGURES_VERSION = 3  # 2: line-level cancellations (issue 12); 3: shipments (issue 19)
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
        if data["from"] == data["to"]:
            continue  # a line-level change that left the status as it was
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


def _cancelled_lines(rows: list[dict]) -> tuple[Decimal, list[dict]]:
    """The worth of these cancellation-line rows, and the lines they name (summed per line)."""
    value = Decimal("0")
    by_line: dict[int, dict] = {}
    for row in rows:
        value += row["unit_price"] * row["quantity"]
        line = by_line.setdefault(
            row["line_no"],
            {
                "line": row["line_no"],
                "sku": row["sku"],
                "name": row["name"],
                "quantity": 0,
                "of": row["line_quantity"],
                "unit_price": str(row["unit_price"]),
            },
        )
        line["quantity"] += row["quantity"]
    return value, [by_line[no] for no in sorted(by_line)]


def _figures_from_rows(
    *,
    retailer: Retailer,
    month: date,
    placed: list[dict],
    adjusted: list[dict],
    cancelled_lines: dict[int, list[dict]],
    changes: dict[int, tuple[str, str, str]],
    suppliers: dict[int, tuple[str, str]],
    shipped: dict[int, dict] | None = None,
) -> dict:
    shipped = shipped or {}
    start, end = month_bounds(month)
    reasons = dict(CancellationReason.choices)
    counts = {status: 0 for status in OrderStatus.values}
    totals: dict[str, dict] = {}
    orders, cancelled, partly, adjustments, shipments = [], [], [], [], []

    for row in sorted(placed, key=lambda r: (r["placed_at"], r["number"])):
        change = changes.get(row["id"]) if row["changed_after_close"] else None
        status = change[0] if change else row["status"]
        supplier_slug, supplier_name = suppliers[row["supplier_id"]]
        counts[status] += 1
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["orders"] += 1
        total["placed_total"] += row["total"]
        if not row["cancelled_any"] and status != OrderStatus.CANCELLED:
            # Nothing ever cancelled (most orders): the commission of intake, on the total.
            before_close, value_cancelled, lines = (), _ZERO, []
            commission = row["commission_amount"]
        else:
            history = cancelled_lines.get(row["id"], ())
            before_close = [c for c in history if c["created_at"] < end]
            value_cancelled, lines = _cancelled_lines(before_close)
            if status == OrderStatus.CANCELLED and not before_close:
                value_cancelled = row["total"]  # no records (none such after migration 0006)
            commission = commission_on(row["total"] - value_cancelled, row["commission_rate"])
        kept = row["total"] - value_cancelled
        later = {"status": change[1], "at": change[2]} if change else None
        total["sales_total"] += kept
        total["commission"] += commission
        total["cancelled_total"] += value_cancelled
        last = before_close[-1] if before_close else None
        if status == OrderStatus.CANCELLED:
            total["cancelled_orders"] += 1
            cancelled.append(
                {
                    "number": row["number"],
                    "reference": row["retailer_reference"],
                    "supplier": supplier_slug,
                    "supplier_name": supplier_name,
                    "reason": last["reason"] if last else row["cancellation_reason"],
                    "reason_label": reasons.get(
                        last["reason"] if last else row["cancellation_reason"], ""
                    ),
                    "note": last["note"] if last else row["cancellation_note"],
                    "cancelled_at": _iso(last["created_at"] if last else row["cancelled_at"]),
                    "currency": row["currency"],
                    "total": str(row["total"]),  # decimal(14, 2): to the cent
                }
            )
        elif before_close:
            partly.append(
                {
                    "number": row["number"],
                    "reference": row["retailer_reference"],
                    "supplier": supplier_slug,
                    "supplier_name": supplier_name,
                    "reason": last["reason"],
                    "reason_label": reasons.get(last["reason"], ""),
                    "note": last["note"],
                    "cancelled_at": _iso(last["created_at"]),
                    "currency": row["currency"],
                    "lines": lines,
                    "cancelled_total": _money(value_cancelled),
                }
            )
        sent = shipped.get(row["id"])
        if sent is not None:
            units_cancelled = sum(line["quantity"] for line in lines)
            to_ship = sent["units"] - units_cancelled
            shipments.append(
                {
                    "number": row["number"],
                    "reference": row["retailer_reference"],
                    "supplier": supplier_slug,
                    "supplier_name": supplier_name,
                    "units_shipped": sent["units_shipped"],
                    "units_to_ship": to_ship,
                    "whole": sent["units_shipped"] >= to_ship,
                    "parcels": sent["parcels"],
                }
            )
        orders.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": supplier_slug,
                "supplier_name": supplier_name,
                "placed_at": _iso(row["placed_at"]),
                "units_shipped": sent["units_shipped"] if sent else 0,
                "status": status,
                "later": later,
                "currency": row["currency"],
                "total": str(row["total"]),  # decimal(14, 2): to the cent
                "cancelled_total": _money(value_cancelled),
                "commission_rate": str(row["commission_rate"]),
                "commission": _money(commission),
            }
        )

    for row in adjusted:
        history = cancelled_lines.get(row["id"], ())
        before = [c for c in history if c["created_at"] < start]
        during = [c for c in history if start <= c["created_at"] < end]
        value_before, _ = _cancelled_lines(before)
        value_during, lines = _cancelled_lines(during)
        rate = row["commission_rate"]
        # Exactly the difference the month's cancellations make to the order's commission.
        difference = commission_on(row["total"] - value_before - value_during, rate) - (
            commission_on(row["total"] - value_before, rate)
        )
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["adjustments"] += difference
        supplier_slug, supplier_name = suppliers[row["supplier_id"]]
        placed_local = timezone.localtime(row["placed_at"])
        last = during[-1]
        adjustments.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": supplier_slug,
                "supplier_name": supplier_name,
                "placed_at": _iso(row["placed_at"]),
                "placed_month": f"{placed_local:%Y-%m}",
                "cancelled_at": _iso(last["created_at"]),
                "reason": last["reason"],
                "reason_label": reasons.get(last["reason"], ""),
                "note": last["note"],
                "whole": value_before + value_during == row["total"],
                "lines": lines,
                "currency": row["currency"],
                "total": str(row["total"]),  # decimal(14, 2): to the cent
                "cancelled_total": _money(value_during),
                "commission": _money(difference),
            }
        )
    adjustments.sort(key=lambda a: (a["cancelled_at"], a["number"]))

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
        "partly_cancelled": partly,
        "adjustments": adjustments,
        "shipments": shipments,
        "shipped_counts": {
            "whole": sum(1 for x in shipments if x["whole"]),
            "part": sum(1 for x in shipments if not x["whole"]),
        },
        "totals": totals_out,
        "empty": not orders and not adjustments,
    }


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
    """Figures of one month for many retailers, keyed by retailer id, in at most 7 queries
    (5 when no order of the month was shipped before the close).

    Callers pass retailers in chunks (a few hundred) to bound memory.
    """
    retailers = list(retailers)
    if not retailers:
        return {}
    month = month_first_day(month)
    start, end = month_bounds(month)
    ids = [retailer.pk for retailer in retailers]
    changed = ExpressionWrapper(Q(updated_at__gte=end), output_field=BooleanField())
    # Some unit cancelled (now): only then are its cancellation lines read.
    cancelled_any = Exists(Cancellation.objects.filter(order_id=OuterRef("id")))
    # Some parcel sent before the close: only then are its shipment lines read.
    shipped_any = Exists(Shipment.objects.filter(order_id=OuterRef("id"), created_at__lt=end))
    placed = _values_rows(
        Order.objects.filter(retailer_id__in=ids, placed_at__gte=start, placed_at__lt=end)
        .order_by()
        .values(
            *_SUMMARY_ORDER_FIELDS,
            changed_after_close=changed,
            cancelled_any=cancelled_any,
            shipped_any=shipped_any,
        )
    )
    # Orders of earlier months with a cancellation made this month: each an adjustment.
    cancelled_now = Cancellation.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        order__retailer_id__in=ids,
        order__placed_at__lt=start,
    ).values("order_id")
    adjusted = _values_rows(
        Order.objects.filter(id__in=cancelled_now).order_by().values(*_SUMMARY_ORDER_FIELDS)
    )
    # The cancellation lines of both, up to the close, oldest first (one query).
    cancelled_lines: dict[int, list[dict]] = defaultdict(list)
    with_cancellations = [row["id"] for row in placed if row["cancelled_any"]]
    with_cancellations += [row["id"] for row in adjusted]
    if with_cancellations:
        for row in _values_rows(
            CancellationLine.objects.filter(
                cancellation__order_id__in=with_cancellations, cancellation__created_at__lt=end
            )
            .order_by("cancellation__created_at", "cancellation_id", "line__line_no")
            .values(
                order_id=F("cancellation__order_id"),
                created_at=F("cancellation__created_at"),
                reason=F("cancellation__reason"),
                note=F("cancellation__note"),
                line_no=F("line__line_no"),
                sku=F("line__sku"),
                name=F("line__name"),
                line_quantity=F("line__quantity"),
                unit_price=F("line__unit_price"),
                units=F("quantity"),
            )
        ):
            row["quantity"] = row.pop("units")
            cancelled_lines[row["order_id"]].append(row)
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
    shipped = _shipped_before(
        order_ids=[row["id"] for row in placed if row["shipped_any"]], end=end
    )
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


def _shipped_before(*, order_ids: list[int], end: datetime) -> dict[int, dict]:
    """For these orders: units ordered, units shipped before the close, and each parcel sent
    before it (carrier, tracking number, when, units), oldest first; two queries."""
    if not order_ids:
        return {}
    shipped: dict[int, dict] = {
        row["order_id"]: {"units": row["units"] or 0, "units_shipped": 0, "parcels": []}
        for row in OrderLine.objects.filter(order_id__in=order_ids)
        .order_by()
        .values("order_id")
        .annotate(units=Sum("quantity"))
    }
    parcels: dict[int, dict] = {}
    for row in _values_rows(
        ShipmentLine.objects.filter(shipment__order_id__in=order_ids, shipment__created_at__lt=end)
        .order_by("shipment__created_at", "shipment_id", "line__line_no")
        .values(
            "shipment_id",
            "quantity",
            order_id=F("shipment__order_id"),
            carrier=F("shipment__carrier"),
            tracking_number=F("shipment__tracking_number"),
            shipped_at=F("shipment__shipped_at"),
        )
    ):
        order = shipped[row["order_id"]]
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


def retailer_month_figures(*, retailer: Retailer, month: date) -> dict:
    """One retailer's month (see the rule above), JSON-ready: money as decimal strings."""
    return retailer_month_figures_many(retailers=[retailer], month=month)[retailer.pk]
