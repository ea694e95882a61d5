"""A retailer's month from its rows: the summary's figures and the commission rules (the rule
itself is stated in statements/selectors.py, which reads the rows). Pure: no query here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

from django.utils import timezone

from orders.commission import commission_on
from orders.models import CancellationReason, OrderStatus, Retailer

from .months import month_bounds

# 2: line-level cancellations (issue 12); 3: shipments (issue 19); 4: a month's orders are
# those that reached us in it (created_at), not those the retailer dated in it (placed_at),
# and each adjustment names the month that charged it (`billed_month`).
SUMMARY_FIGURES_VERSION = 4


_ZERO = Decimal("0.00")


def _money(value: Decimal) -> str:
    # Amounts come from decimal(.., 2) columns and their sums: already to the cent, and then
    # their text has two digits after the point ("7.43", "-4.80"); anything else is
    # quantized.
    if not value:
        return "0.00"  # never "-0.00"
    text = str(value)
    if len(text) >= 4 and text[-3] == "." and "E" not in text:
        return text
    return str(value.quantize(_ZERO))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.get_default_timezone()).isoformat()


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


def _cancellations(rows: list[dict], reasons: dict) -> list[dict]:
    """Each cancellation of these cancellation-line rows (oldest first, as read): its reason,
    note, time and the lines it took. Rows of one cancellation are adjacent; two made at one
    instant with the same reason and note read as one, which says the same."""
    out: list[dict] = []
    last_key = None
    for row in rows:
        key = (row["created_at"], row["reason"], row["note"])
        if key != last_key:
            last_key = key
            out.append(
                {
                    "reason": row["reason"],
                    "reason_label": reasons.get(row["reason"], ""),
                    "note": row["note"],
                    "cancelled_at": _iso(row["created_at"]),
                    "lines": [],
                }
            )
        out[-1]["lines"].append(
            {"line": row["line_no"], "sku": row["sku"], "quantity": row["quantity"]}
        )
    return out


# A month's orders (those that reached us in it) in the order the retailer says they were
# placed (the number breaks a tie); an itemgetter, C, rather than a Python key function
# called once per order.
_placed_order = itemgetter("placed_at", "number")


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

    zone = timezone.get_default_timezone()
    cancelled_status = str(OrderStatus.CANCELLED)  # a plain str: compared once per order
    for row in sorted(placed, key=_placed_order):
        change = changes.get(row["id"]) if row["changed_after_close"] else None
        status = change[0] if change else row["status"]
        supplier_slug, supplier_name = suppliers[row["supplier_id"]]
        counts[status] += 1
        total = totals.get(row["currency"])
        if total is None:
            total = totals[row["currency"]] = _empty_total(row["currency"])
        total["orders"] += 1
        total["placed_total"] += row["total"]
        if not row["cancelled_any"] and status != cancelled_status:
            # Nothing ever cancelled (most orders): the commission of intake, on the total.
            before_close, value_cancelled, lines = (), _ZERO, []
            commission = row["commission_amount"]
        else:
            history = cancelled_lines.get(row["id"], ())
            before_close = [c for c in history if c["created_at"] < end]
            value_cancelled, lines = _cancelled_lines(before_close)
            if status == cancelled_status and not before_close:
                value_cancelled = row["total"]  # no records (none such after migration 0006)
            commission = commission_on(row["total"] - value_cancelled, row["commission_rate"])
        kept = row["total"] - value_cancelled
        later = {"status": change[1], "at": change[2]} if change else None
        total["sales_total"] += kept
        total["commission"] += commission
        total["cancelled_total"] += value_cancelled
        last = before_close[-1] if before_close else None
        if status == cancelled_status:
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
                    # Each one, with its reason and note: "reason" and "note" are the last's.
                    "cancellations": _cancellations(before_close, reasons),
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
                    "cancellations": _cancellations(before_close, reasons),
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
                "placed_at": row["placed_at"].astimezone(zone).isoformat(),
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
        billed_local = timezone.localtime(row["created_at"])
        last = during[-1]
        adjustments.append(
            {
                "number": row["number"],
                "reference": row["retailer_reference"],
                "supplier": supplier_slug,
                "supplier_name": supplier_name,
                "placed_at": _iso(row["placed_at"]),
                "placed_month": f"{placed_local:%Y-%m}",
                # The summary that charged the commission this takes back.
                "billed_month": f"{billed_local:%Y-%m}",
                "cancelled_at": _iso(last["created_at"]),
                "reason": last["reason"],
                "reason_label": reasons.get(last["reason"], ""),
                "note": last["note"],
                "cancellations": _cancellations(during, reasons),
                # By units, not by money: a free line still open left an order whose
                # cancelled worth was its total "now wholly cancelled" (found in review).
                "whole": sum(c["quantity"] for c in history if c["created_at"] < end)
                == row["item_count"],
                "lines": lines,
                "currency": row["currency"],
                "total": str(row["total"]),  # decimal(14, 2): to the cent
                "cancelled_total": _money(value_during),
                "commission": _money(difference),
            }
        )
    # By the moment, not by its text: in the hour the clocks go back, 01:10-05:00 comes after
    # 01:30-04:00 though it sorts before it (found in review).
    adjustments.sort(key=lambda a: (datetime.fromisoformat(a["cancelled_at"]), a["number"]))

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
