"""Every non-trivial read of orders, with bounded query counts."""


# --- Monthly summaries --------------------------------------------------------------------
#
# The rule (docs/summaries.md): a month's summary counts the orders placed in that month
# (placed_at in [local midnight on the 1st, local midnight on the next 1st), TIME_ZONE) as
# they stood when the month closed. An order cancelled before the close earns no commission.
# A cancellation at or after the close of the order's month is an adjustment in the summary
# of the month in which it was made, reversing the commission counted earlier. So every
# figure is fixed once the month has closed, and each cancellation is counted exactly once.

from collections import defaultdict  # noqa: E402
from collections.abc import Iterable  # noqa: E402
from datetime import date, datetime  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.utils import timezone  # noqa: E402

from .models import (  # noqa: E402
    CancellationReason,
    Order,
    OrderEvent,
    OrderStatus,
    Retailer,
)

SUMMARY_FIGURES_VERSION = 1
_ZERO = Decimal("0.00")
_SUMMARY_ORDER_FIELDS = (
    "id",
    "retailer_id",
    "number",
    "retailer_reference",
    "supplier__slug",
    "supplier__name",
    "status",
    "currency",
    "total",
    "item_count",
    "commission_rate",
    "commission_amount",
    "placed_at",
    "updated_at",
    "cancelled_at",
    "cancellation_reason",
    "cancellation_note",
    "shipped_at",
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
    return str(value.quantize(Decimal("0.01")))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.get_default_timezone()).isoformat()


def _status_at_close(row: dict, end: datetime, first_change_after: dict[int, str]) -> str:
    if row["updated_at"] < end:
        return row["status"]
    return first_change_after.get(row["id"], row["status"])


def _first_status_after(*, order_ids: list[int], end: datetime) -> dict[int, str]:
    """For orders changed after the close: the status each had at the close (one query)."""
    if not order_ids:
        return {}
    found: dict[int, str] = {}
    events = (
        OrderEvent.objects.filter(order_id__in=order_ids, created_at__gte=end)
        .order_by("order_id", "created_at", "id")
        .values_list("order_id", "data")
    )
    for order_id, data in events:
        if order_id not in found and isinstance(data, dict) and data.get("from"):
            found[order_id] = data["from"]
    return found


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
    first_change_after: dict[int, str],
) -> dict:
    start, end = month_bounds(month)
    reasons = dict(CancellationReason.choices)
    counts = {status: 0 for status in OrderStatus.values}
    totals: dict[str, dict] = {}
    orders, cancelled, adjustments = [], [], []

    for row in sorted(placed, key=lambda r: (r["placed_at"], r["number"])):
        status = _status_at_close(row, end, first_change_after)
        counts[status] += 1
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["orders"] += 1
        total["placed_total"] += row["total"]
        earns = status != OrderStatus.CANCELLED
        commission = row["commission_amount"] if earns else _ZERO
        later = None
        if row["status"] != status:
            later = {
                "status": row["status"],
                "at": _iso(row["cancelled_at"] or row["shipped_at"] or row["updated_at"]),
            }
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
                    "supplier": row["supplier__slug"],
                    "supplier_name": row["supplier__name"],
                    "reason": row["cancellation_reason"],
                    "reason_label": reasons.get(row["cancellation_reason"], ""),
                    "note": row["cancellation_note"],
                    "cancelled_at": _iso(row["cancelled_at"]),
                    "currency": row["currency"],
                    "total": _money(row["total"]),
                }
            )
        orders.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": row["supplier__slug"],
                "supplier_name": row["supplier__name"],
                "placed_at": _iso(row["placed_at"]),
                "status": status,
                "later": later,
                "currency": row["currency"],
                "total": _money(row["total"]),
                "item_count": row["item_count"],
                "commission_rate": str(row["commission_rate"]),
                "commission": _money(commission),
            }
        )

    for row in sorted(adjusted, key=lambda r: (r["cancelled_at"], r["number"])):
        total = totals.setdefault(row["currency"], _empty_total(row["currency"]))
        total["adjustments"] -= row["commission_amount"]
        placed_local = timezone.localtime(row["placed_at"])
        adjustments.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": row["supplier__slug"],
                "supplier_name": row["supplier__name"],
                "placed_at": _iso(row["placed_at"]),
                "placed_month": f"{placed_local:%Y-%m}",
                "cancelled_at": _iso(row["cancelled_at"]),
                "reason": row["cancellation_reason"],
                "reason_label": reasons.get(row["cancellation_reason"], ""),
                "note": row["cancellation_note"],
                "currency": row["currency"],
                "total": _money(row["total"]),
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


def retailer_month_figures_many(*, retailers: Iterable[Retailer], month: date) -> dict[int, dict]:
    """Figures of one month for many retailers, keyed by retailer id, in at most 3 queries.

    Callers pass retailers in chunks (a few hundred) to bound memory.
    """
    retailers = list(retailers)
    if not retailers:
        return {}
    month = month_first_day(month)
    start, end = month_bounds(month)
    ids = [retailer.pk for retailer in retailers]
    placed = list(
        Order.objects.filter(retailer_id__in=ids, placed_at__gte=start, placed_at__lt=end)
        .order_by()
        .values(*_SUMMARY_ORDER_FIELDS)
    )
    # Cancelled this month, placed in an earlier month: reverses commission counted then.
    adjusted = list(
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
    first_change_after = _first_status_after(
        order_ids=[row["id"] for row in placed if row["updated_at"] >= end], end=end
    )
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
            first_change_after=first_change_after,
        )
        for retailer in retailers
    }


def retailer_month_figures(*, retailer: Retailer, month: date) -> dict:
    """One retailer's month (see the rule above), JSON-ready: money as decimal strings."""
    return retailer_month_figures_many(retailers=[retailer], month=month)[retailer.pk]
