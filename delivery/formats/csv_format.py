"""CSV order files: one row per order line, columns chosen per format.

The standard format is the one docs/interface.md promises: UTF-8 (no byte-order mark: a BOM
would end up inside the first header name for many readers), RFC 4180 through the csv
module (comma, double quotes where needed, CRLF line ends), a header row.

A supplier that needs other columns gets one new `CsvFormat(name=..., columns=[...])` and a line
in `FORMATS`: a column is a header and a getter `(order, line) -> value`.

Every cell passes `common.csv.csv_cell_neutralise`, the neutraliser the portal's export uses
too (formula injection; the rule and its one exception are described there).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from common.csv import csv_cell_neutralise
from orders.documents import iso
from orders.models import Order, OrderLine

from .base import OrderFormat

Getter = Callable[[Order, OrderLine], Any]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _money(value) -> str:
    return f"{value:.2f}"


STANDARD_COLUMNS: list[tuple[str, Getter]] = [
    ("order_number", lambda o, ln: o.number),
    ("placed_at", lambda o, ln: iso(o.placed_at)),
    ("retailer", lambda o, ln: o.retailer.slug),
    ("retailer_reference", lambda o, ln: o.retailer_reference),
    ("customer_name", lambda o, ln: o.customer_name),
    ("customer_email", lambda o, ln: o.customer_email),
    ("customer_phone", lambda o, ln: o.customer_phone),
    ("ship_name", lambda o, ln: o.ship_name),
    ("ship_line1", lambda o, ln: o.ship_line1),
    ("ship_line2", lambda o, ln: o.ship_line2),
    ("ship_city", lambda o, ln: o.ship_city),
    ("ship_region", lambda o, ln: o.ship_region),
    ("ship_postcode", lambda o, ln: o.ship_postcode),
    ("ship_country", lambda o, ln: o.ship_country),
    ("line", lambda o, ln: ln.line_no),
    ("sku", lambda o, ln: ln.sku),
    ("product_name", lambda o, ln: ln.name),
    ("quantity", lambda o, ln: ln.quantity),
    ("unit_price", lambda o, ln: _money(ln.unit_price)),
    ("line_total", lambda o, ln: _money(ln.line_total)),
    ("currency", lambda o, ln: o.currency),
]


class CsvFormat(OrderFormat):
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def __init__(
        self, *, name: str, columns: Sequence[tuple[str, Getter]], extension: str = "csv"
    ) -> None:
        if not columns:
            raise ValueError("a CSV format needs at least one column")
        self.name = name
        self.columns = list(columns)
        self.extension = extension
        self.neutralise = True

    def without_neutralising(self) -> CsvFormat:
        """The same format with formula neutralising off (a destination's choice, for an
        importer that needs the raw values)."""
        copy = CsvFormat(name=self.name, columns=self.columns, extension=self.extension)
        copy.label = self.label
        copy.neutralise = False
        return copy

    @property
    def header(self) -> list[str]:
        return [column for column, _ in self.columns]

    def rows(self, order: Order) -> list[list[str]]:
        if not self.neutralise:
            return [[_text(get(order, ln)) for _, get in self.columns] for ln in order.lines.all()]
        return [
            [csv_cell_neutralise(_text(get(order, line))) for _, get in self.columns]
            for line in order.lines.all()
        ]

    def render(self, order: Order) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.header)
        writer.writerows(self.rows(order))
        return out.getvalue().encode("utf-8")
