"""The two long tables of the summary email, the orders of the month (a row each) and the
shipments (a row per shipped order, its parcels in it), made here rather than in the
templates' loops.

A month of ~100 orders is over 1,000 values in these tables: Jinja2's autoescape builds a
Markup for each (two Python calls apiece), most of the email's rendering time
(bench/summaries.py). Here a value is escaped only when it holds a character HTML gives
meaning to (`&<>"'`), by markupsafe as the template would, so the rows are the same
characters the templates' loops wrote (statements/tests/test_summary_email_golden.py). Each
row ends in a newline, as the loops' lines did. The templates call these as filters
(`order_rows_html`, `order_rows_text`, `shipment_rows_html`, `shipment_rows_text`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

_SPECIAL = re.compile(r"[&<>\"']").search


def _e(value) -> str:
    """`value` as the template's `{{ value }}` writes it in HTML."""
    text = value if type(value) is str else str(value)
    return str(escape(text)) if _SPECIAL(text) else text


def when(value: str | None) -> str:
    """'2026-07-31T23:30:00-04:00' (already in TIME_ZONE) -> '2026-07-31 23:30'."""
    return f"{value[:10]} {value[11:16]}" if value else ""


@lru_cache(maxsize=64)
def percent(rate: str) -> str:
    return f"{float(rate) * 100:.4g}%"  # "0.1250" -> "12.5%", "0.1000" -> "10%"


def order_rows_html(orders: list[dict]) -> Markup:
    rows = []
    for o in orders:
        later = o["later"]
        note = (
            f'<br><font color="#888888">later {_e(later["status"])} {_e(when(later["at"]))}</font>'
            if later
            else ""
        )
        rows.append(
            f"<tr><td>{_e(o['number'])}</td><td>{_e(when(o['placed_at']))}</td>"
            f"<td>{_e(o['reference'])}</td><td>{_e(o['supplier_name'])}</td>"
            f"<td>{_e(str(o['status']).capitalize())}{note}</td>"
            f'<td align="right">{_e(o["total"])} {_e(o["currency"])}</td>'
            f'<td align="right">{_e(o["commission"])} ({_e(percent(o["commission_rate"]))})</td>'
            "</tr>\n"
        )
    return Markup("".join(rows))  # noqa: S704 - every value in the rows went through _e


def order_rows_text(orders: list[dict]) -> str:
    rows = []
    for o in orders:
        later = o["later"]
        note = f" (later {later['status']} {when(later['at'])})" if later else ""
        rows.append(
            f"  {o['number']}  {when(o['placed_at'])}  ref {o['reference']}  "
            f"{o['supplier_name']}  {str(o['status']).capitalize()}{note}  "
            f"{o['total']} {o['currency']}  commission {o['commission']} "
            f"({percent(o['commission_rate'])})\n"
        )
    return "".join(rows)


def shipment_rows_html(shipments: list[dict]) -> Markup:
    rows = []
    for s in shipments:
        parcels = "".join(
            f"{_e(when(p['shipped_at']))} {_e(p['carrier'])} {_e(p['tracking_number'])} "
            f"({_e(p['units'])})<br>"
            for p in s["parcels"]
        )
        rows.append(
            f"<tr><td>{_e(s['number'])}<br>"
            f'<font color="#888888">ref {_e(s["reference"])}</font></td>'
            f"<td>{_e(s['supplier_name'])}</td>"
            f"<td>{'Shipped' if s['whole'] else 'Part shipped'}: {_e(s['units_shipped'])} "
            f"of {_e(s['units_to_ship'])}</td><td>{parcels}</td></tr>\n"
        )
    return Markup("".join(rows))  # noqa: S704 - every value in the rows went through _e


def _items(count) -> str:
    return "item" if count == 1 else "items"


def shipment_rows_text(shipments: list[dict]) -> str:
    rows = []
    for s in shipments:
        rows.append(
            f"  {s['number']}  ref {s['reference']}  {s['supplier_name']}  "
            f"{'shipped' if s['whole'] else 'part shipped'}: {s['units_shipped']} of "
            f"{s['units_to_ship']} {_items(s['units_to_ship'])}\n"
        )
        rows.extend(
            f"    {when(p['shipped_at'])}  {p['carrier']}  {p['tracking_number']}  "
            f"{p['units']} {_items(p['units'])}\n"
            for p in s["parcels"]
        )
    return "".join(rows)


def cancellation_lines(cancellation: dict) -> str:
    """The lines one cancellation took: 'line 1 x 1, line 3 x 2'."""
    return ", ".join(f"line {x['line']} x {x['quantity']}" for x in cancellation["lines"])
