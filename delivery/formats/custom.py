"""Rendering a format version made in admin: delimited text, JSON, XML and X12 850.

Every kind reads the order document (`document_of`: the order's stored document text when
current, else `orders.documents.order_document`), so a file holds the same values as the API
and the webhooks. Columns are compiled once per format into closures;
a render is one document and one pass over the lines. A value a file cannot hold (a
character outside Windows-1252, a delimiter in an unquoted cell) raises `FormatError` naming
the order, the column and the character: the delivery fails with that reason, never with a
replacement character.
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
from datetime import datetime

from lxml import etree

from common.csv import csv_cell_neutralise
from orders.documents import order_document
from orders.models import Order

from .base import OrderFormat
from .catalogue import value_getter
from .models import FormatKind, Quoting
from .spec import FILE_NAME_MAX, RESERVED_NAMES
from .x12 import X12ValueRefused, x12_850

QUOTING = {
    Quoting.MINIMAL: csv.QUOTE_MINIMAL,
    Quoting.ALL: csv.QUOTE_ALL,
    Quoting.NONE: csv.QUOTE_NONE,
}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class FormatError(ValueError):
    """This order cannot be written in this format; the message says why (for the log)."""


def _transform(name: str, argument: str):
    if name == "upper":
        return str.upper
    if name == "lower":
        return str.lower
    if name == "pad":
        width = int(argument)
        return lambda s: s.ljust(width)[:width]
    if name == "zpad":
        width = int(argument)
        return lambda s: s.rjust(width, "0")[-width:]
    if name == "date":
        return lambda s: datetime.fromisoformat(s).strftime(argument) if s else ""
    raise ValueError(name)


def _cell_function(column: dict, *, decimal_separator: str = "."):
    """(document, line) -> the cell's value: a str, or for JSON an untouched int."""
    source = column["source"]
    if source.startswith("const:"):
        constant = source[6:]
        get = lambda doc, line: constant  # noqa: E731
    else:
        get = value_getter(source)
    steps = [_transform(n, a) for n, a in column["transforms"]]
    if column["kind"] == "decimal" and decimal_separator != ".":
        steps.insert(0, lambda s: s.replace(".", decimal_separator))
    if not steps:
        return get
    if len(steps) == 1:
        [step] = steps
        return lambda doc, line: step(_str(get(doc, line)))

    def cell(doc, line):
        value = get(doc, line)
        text = "" if value is None else str(value)
        for step in steps:
            text = step(text)
        return text

    return cell


def document_of(order: Order) -> dict:
    """The order document, read from the order's stored tail when it is current.

    The order services keep `document_tail` (the JSON of the document from "placed_at" on)
    in step with every change, stamped with `document_version`; parsing it is several times
    cheaper than building the document again, and it is what the API serves. A stale or
    missing tail (the sample order) builds the document.
    """
    tail = order.document_tail
    if not tail or order.document_version != order.version:
        return order_document(order)
    retailer = order.retailer
    return {
        "number": order.number,
        "status": order.status,
        "supplier": order.supplier.slug,
        "retailer": {
            "slug": retailer.slug,
            "name": retailer.name,
            "reference": order.retailer_reference,
        },
        **json.loads("{" + tail),
    }


def _fixed_width(column: dict) -> int | None:
    """The width the column's last pad:N or zpad:N gives its cells (None: no fixed width)."""
    widths = [int(a) for n, a in column["transforms"] if n in ("pad", "zpad")]
    return widths[-1] if widths else None


def _neutralised(text: str, width: int | None) -> str:
    """The neutralised cell, cut back to its fixed width: the quote stays in front, so the
    cell is inert and the columns after it stay where a fixed-width reader looks."""
    text = csv_cell_neutralise(text)
    return text if width is None else text[:width]


def _str(value) -> str:
    return "" if value is None else str(value)


def _safe(value) -> str:
    return _UNSAFE.sub("_", str(value or ""))


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_to_bytes(text: str, size: int) -> str:
    return text.encode("utf-8")[: max(size, 0)].decode("utf-8", errors="ignore")


def _shortened(parts: list[list], limit: int) -> str:
    """The parts joined, at most `limit` bytes, by shortening the values that may be (a
    retailer reference, the slug, a date), longest first, never the number or the extension:
    a name cut at its end lost `{number}`, and two orders of one long reference then shared a
    file name, which is a delivery's identity, so the second was never sent. A pattern saved
    before its fixed text was held to the limit (spec.py) has that text cut next."""
    for shortenable in (lambda p: p[1], lambda p: p[1] is None):
        excess = sum(_size(text) for text, _ in parts) - limit
        while excess > 0:
            part = max(
                (p for p in parts if shortenable(p) and p[0]),
                key=lambda p: _size(p[0]),
                default=None,
            )
            if part is None:
                break
            before = _size(part[0])
            part[0] = _cut_to_bytes(part[0], before - excess)
            excess -= before - _size(part[0])
    return "".join(text for text, _ in parts)


def _windows_safe(name: str) -> str:
    """No leading dot (hidden), no trailing dot or space (Windows drops them, so two names
    meet), and no reserved device name as the stem (`CON.PO-1.csv` cannot be made on
    Windows): a value can bring each of these where the pattern itself is refused them."""
    name = name.lstrip(".").rstrip(". ")
    if name.split(".")[0].rstrip(" ").lower() in RESERVED_NAMES:
        name = "_" + name
    return name


class _SafeDate:
    def __init__(self, value: datetime) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return _safe(self.value.strftime(spec) if spec else self.value.date().isoformat())


class CustomFormat(OrderFormat):
    """One FileFormatVersion with one destination's options, ready to render."""

    def __init__(
        self,
        *,
        name: str,
        kind: str,
        spec: dict,
        file_name_pattern: str,
        version=None,
        label: str = "",
        neutralise: bool = True,
        x12_sender_id: str = "",
        x12_receiver_id: str = "",
    ) -> None:
        self.name = name
        self.label = label or name
        self.kind = kind
        self.spec = spec
        self.version = version
        self.pattern = file_name_pattern
        self.extension = spec.get("extension", "txt")
        self.neutralise = neutralise
        self.x12_ids = (x12_sender_id, x12_receiver_id)
        self.columns = spec.get("columns", [])
        self.headers = [c["header"] for c in self.columns]
        separator = spec.get("decimal_separator", ".")
        self.cells = [_cell_function(c, decimal_separator=separator) for c in self.columns]
        self.per_line = spec.get("row_per", "line") == "line"
        self.order_cells = [
            (i, cell) for i, cell in enumerate(self.cells) if not self.columns[i]["per_line"]
        ]
        self.line_cells = [
            (i, cell) for i, cell in enumerate(self.cells) if self.columns[i]["per_line"]
        ]
        # A pad:N / zpad:N column is N wide: the neutraliser's quote is fitted into it.
        self.widths = [_fixed_width(c) for c in self.columns]
        # Parsed once: a render makes no format-string or header work of its own.
        self.pattern_parts = [
            (literal, name, spec or "")
            for literal, name, spec, _ in string.Formatter().parse(file_name_pattern)
        ]
        self.header_cells = (
            [csv_cell_neutralise(h) for h in self.headers] if neutralise else list(self.headers)
        )
        self.content_type = {
            FormatKind.DELIMITED: f"text/csv; charset={spec.get('encoding', 'utf-8')}",
            FormatKind.JSON: "application/json",
            FormatKind.XML: "application/xml",
            FormatKind.X12_850: "application/edi-x12",
        }[kind]

    # --- file name ---

    def file_name(self, order: Order) -> str:
        """The pattern filled in, never starting with a dot (nor unsafe: `_windows_safe`).

        The pattern itself may not start with one, but a value may: a retailer reference
        `.R-1` (intake takes it) in `{retailer_reference}-{number}.{ext}`, or a date format
        `{placed_at:.%Y}`. A dot file is hidden on the supplier's server and refused by the
        hosted storage (the temporary files' mark), so leading dots are dropped; `{number}`
        (which every pattern holds, and never starts with a dot) keeps the name unique.
        """
        values = {
            "number": order.number,
            "retailer_reference": order.retailer_reference,
            "supplier": order.supplier.slug,
        }
        parts: list[list] = []  # [text, may be shortened (None: the pattern's own text)]
        for literal, name, spec in self.pattern_parts:
            parts.append([literal, None])  # fixed text
            if name == "placed_at":
                parts.append([format(_SafeDate(order.placed_at), spec), True])
            elif name == "ext":
                parts.append([self.extension, False])
            elif name == "number":
                parts.append([_safe(values[name]), False])
            elif name:
                parts.append([_safe(values[name]), True])
        return _windows_safe(_shortened(parts, FILE_NAME_MAX - 1))

    # --- rendering ---

    def render(self, order: Order) -> bytes:
        doc = document_of(order)
        if self.kind == FormatKind.DELIMITED:
            return self._delimited(order, doc)
        if self.kind == FormatKind.JSON:
            return self._json(doc)
        if self.kind == FormatKind.XML:
            return self._xml(order, doc)
        try:
            return x12_850(doc, sender_id=self.x12_ids[0], receiver_id=self.x12_ids[1], order=order)
        except X12ValueRefused as exc:
            raise FormatError(f"order {order.number}: {exc} Nothing was sent.") from None

    def _rows(self, doc: dict) -> list[list[str]]:
        """The cells: order fields once per order, then each line's own.

        A cell starting with a letter or digit cannot be a formula, so only the others go
        through the neutraliser (this loop is the renderer's hot path: bench/formats.py).
        """
        neutralise = self.neutralise
        widths = self.widths
        base: list = [None] * len(self.cells)
        line_cells = self.line_cells
        for i, cell in self.order_cells:
            value = cell(doc, None)
            text = "" if value is None else value if value.__class__ is str else str(value)
            if neutralise and text and not text[0].isalnum():
                text = _neutralised(text, widths[i])
            base[i] = text
        if not self.per_line:
            return [base]
        rows = []
        for line in doc["lines"]:
            row = base.copy()
            for i, cell in line_cells:
                value = cell(doc, line)
                text = "" if value is None else value if value.__class__ is str else str(value)
                if neutralise and text and not text[0].isalnum():
                    text = _neutralised(text, widths[i])
                row[i] = text
            rows.append(row)
        return rows

    def _delimited(self, order: Order, doc: dict) -> bytes:
        spec = self.spec
        out = io.StringIO(newline="")
        writer = csv.writer(
            out,
            delimiter=spec["delimiter"],
            quotechar='"',
            quoting=QUOTING[spec["quoting"]],
            lineterminator=spec["line_end"],
        )
        rows = self._rows(doc)
        try:
            if spec["header_row"]:
                writer.writerow(self.header_cells)
            writer.writerows(rows)
        except csv.Error:
            raise FormatError(
                f"order {order.number}: a cell holds the delimiter, a quote or a line end, "
                "and this format never quotes."
            ) from None
        text = out.getvalue()
        try:
            return text.encode(spec["encoding"])
        except UnicodeEncodeError as exc:
            raise self._encoding_error(order, rows, exc) from None

    def _encoding_error(self, order: Order, rows, exc: UnicodeEncodeError) -> FormatError:
        char = exc.object[exc.start]
        where = "a header"
        for row in rows:
            for header, text in zip(self.headers, row):
                if char in text:
                    where = f"column {header!r} ({text!r})"
                    break
            else:
                continue
            break
        label = ENCODING_LABELS.get(self.spec["encoding"], self.spec["encoding"])
        return FormatError(
            f"order {order.number}: {label} cannot hold {char!r} (U+{ord(char):04X}) in "
            f"{where}; nothing was sent. Choose UTF-8 for this format, or correct the order."
        )

    def _record(self, doc: dict, line) -> dict:
        return {
            h: cell(doc, line)
            for h, cell, c in zip(self.headers, self.cells, self.columns)
            if c["per_line"] == (line is not None)
        }

    def _json(self, doc: dict) -> bytes:
        record = self._record(doc, None)
        if any(c["per_line"] for c in self.columns):
            record["lines"] = [self._record(doc, line) for line in doc["lines"]]
        return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")

    def _xml(self, order: Order, doc: dict) -> bytes:
        root = etree.Element("order")
        try:
            for name, value in self._record(doc, None).items():
                etree.SubElement(root, name.replace(" ", "_")).text = _xml_text(value)
            if any(c["per_line"] for c in self.columns):
                lines = etree.SubElement(root, "lines")
                for line in doc["lines"]:
                    element = etree.SubElement(lines, "line")
                    for name, value in self._record(doc, line).items():
                        etree.SubElement(element, name.replace(" ", "_")).text = _xml_text(value)
        except ValueError as exc:
            raise FormatError(f"order {order.number}: XML cannot hold a value ({exc}).") from None
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml_text(value) -> str:
    return "" if value is None else str(value)
