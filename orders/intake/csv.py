"""Intake documents from CSV: one row per order line, rows grouped into orders by reference.

Only the file's shape is checked here (header, reference, whole-number quantity); each
document then goes through the same `intake_validate` as the API's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from common.csv import csv_rows_naming_the_line

CSV_COLUMNS = [
    "reference",
    "placed_at",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
    "sku",
    "quantity",
]


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+").fullmatch


class IntakeCsvError(ValueError):
    """The file cannot be read as intake rows; the message is one line naming where."""


def _rows(reader: csv.DictReader):
    return csv_rows_naming_the_line(
        reader, error=lambda line, exc: IntakeCsvError(f"line {line}: not CSV ({exc}).")
    )


# The columns of the order, not of its line: every row of a reference holds the same (a
# blank cell on another row means "as above" or "as below": CsvDocument.payload_whole).
ORDER_COLUMNS = [c for c in CSV_COLUMNS if c not in ("reference", "sku", "quantity")]


def _same_order(reference: str, line: int, row: dict, known: dict) -> None:
    """Refuse a row of a reference whose order columns differ from an earlier row's (found in
    review: Ann in Leeds and Bob in York under one reference became one order to Ann).
    `known`: {column: (line, value)}, the reference's first value of each column so far."""
    for column in ORDER_COLUMNS:
        value = (row.get(column) or "").strip()
        if not value:
            continue
        before = known.setdefault(column, (line, value))
        if before[1] != value:
            raise IntakeCsvError(
                f"line {line}: reference '{reference}' has {column} '{value[:60]}', "
                f"but line {before[0]} has '{before[1][:60]}'; one order has one {column}."
            )


def _reader(stream) -> csv.DictReader:
    """A DictReader over `stream` whose header has every column, each once."""
    reader = csv.DictReader(stream)
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        raise IntakeCsvError(f"line 1: not CSV ({exc}).") from None
    missing = [c for c in CSV_COLUMNS if c not in fieldnames]
    if missing:
        # A spreadsheet saved with ";" or tabs (as many locales' are) reads as one column.
        apart = next(
            (sep for sep in (";", "\t", "|") if len(fieldnames) == 1 and sep in fieldnames[0]), ""
        )
        hint = (
            f" The header reads as one column: the file's cells are apart by {apart!r}, not by "
            "commas, which intake CSV uses; save it again as comma-separated."
            if apart
            else ""
        )
        raise IntakeCsvError(f"file: CSV header lacks column(s) {', '.join(missing)}.{hint}")
    # A column named twice: the reader keeps the last cell, so which one is meant is a guess
    # (found in review: the order went in under the second `reference`).
    twice = [c for c in CSV_COLUMNS if fieldnames.count(c) > 1]
    if twice:
        raise IntakeCsvError(f"file: CSV header names column(s) {', '.join(twice)} twice.")
    return reader


def _lines(reader: csv.DictReader):
    """(file line, reference, quantity, row) for each row, its shape checked."""
    for row in _rows(reader):
        # The file's line, not the row's count: the csv module skips blank lines and reads
        # a quoted cell over several lines as one row (found in review). A row over
        # several lines is named by its last.
        row_number = reader.line_num
        reference = (row["reference"] or "").strip()
        if not reference:
            raise IntakeCsvError(f"line {row_number}: reference is empty.")
        # Digits as written: int() also reads "1_0", full-width and other scripts' digits
        # (found in review: "1_0" ordered ten).
        raw = (row["quantity"] or "").strip()
        if not _WHOLE_NUMBER(raw):
            raise IntakeCsvError(
                f"line {row_number}: quantity '{row['quantity']}' is not a whole number."
            )
        yield row_number, reference, int(raw), row


def _new_payload(reference: str, row: dict) -> dict:
    return {
        "reference": reference,
        "customer": {
            "name": row["customer_name"],
            "email": row["customer_email"],
            "phone": row["customer_phone"],
        },
        "shipping_address": {
            "name": row["ship_name"],
            "line1": row["ship_line1"],
            "line2": row["ship_line2"],
            "city": row["ship_city"],
            "region": row["ship_region"],
            "postcode": row["ship_postcode"],
            "country": row["ship_country"],
        },
        "lines": [],
    }


# Where each order column goes in the document.
_PLACES = {
    "customer_name": ("customer", "name"),
    "customer_email": ("customer", "email"),
    "customer_phone": ("customer", "phone"),
    **{
        f"ship_{name}": ("shipping_address", name)
        for name in ("name", "line1", "line2", "city", "region", "postcode", "country")
    },
}
# The document's path of each order column, the other way round (CsvDocument.error_line).
_COLUMN_OF = {"reference": "reference", "placed_at": "placed_at"} | {
    ".".join(place): column for column, place in _PLACES.items()
}


@dataclass
class CsvDocument:
    """One reference's intake document and where the file holds it: the line of each of its
    order lines, and (`known`) the line each order column's value came from."""

    payload: dict
    lines: list[int] = field(default_factory=list)
    known: dict[str, tuple[int, str]] = field(default_factory=dict)

    def row_add(self, *, row_number: int, row: dict, quantity: int) -> None:
        _same_order(self.payload["reference"], row_number, row, self.known)
        self.lines.append(row_number)
        self.payload["lines"].append({"sku": row["sku"], "quantity": quantity})

    def payload_whole(self) -> dict:
        """The document, each order column's value from whichever row of the reference held
        it: a blank cell means "as above" or "as below" alike. It was built from the
        reference's first row alone (found in review: an email on its second row was dropped
        without a word, a name there refused as missing)."""
        for column, (_, value) in self.known.items():
            if column == "placed_at":
                self.payload["placed_at"] = value
            else:
                part, name = _PLACES[column]
                self.payload[part][name] = value
        return self.payload

    def error_line(self, exc: ValidationError) -> str:
        """The intake's refusal in the file's terms: each error with its line and column
        ("line 3: ship_country: ..."), not the document's path ("shipping_address.country",
        "lines.1.sku"), which a CSV has no such thing as (found in review)."""
        if not hasattr(exc, "error_dict"):
            return f"line {self.lines[0]}: {' '.join(exc.messages)}"
        parts = []
        for name, messages in exc.message_dict.items():
            text = " ".join(messages)
            line, column = self._where(name)
            parts.append(f"line {line}: {column}: {text}" if column else f"line {line}: {text}")
        return "; ".join(parts)

    def _where(self, name: str) -> tuple[int, str]:
        head, _, rest = name.partition(".")
        if head == "lines" and rest:
            index, _, column = rest.partition(".")
            if index.isdigit() and int(index) < len(self.lines):
                return self.lines[int(index)], column if column in CSV_COLUMNS else ""
        column = _COLUMN_OF.get(name, "")
        line = self.known[column][0] if column in self.known else self.lines[0]
        return line, column


def documents_from_csv(text: str) -> list[CsvDocument]:
    """One document per reference; one CSV row per line, header row required. The rows of a
    reference may be anywhere in the file: the whole file is grouped in memory."""
    documents: dict[str, CsvDocument] = {}
    for row_number, reference, quantity, row in _lines(_reader(io.StringIO(text))):
        document = documents.get(reference)
        if document is None:
            document = documents[reference] = CsvDocument(payload=_new_payload(reference, row))
        document.row_add(row_number=row_number, row=row, quantity=quantity)
    for document in documents.values():
        document.payload_whole()
    return list(documents.values())


def payloads_from_csv(text: str) -> list[dict]:
    """The intake documents of `documents_from_csv`."""
    return [document.payload for document in documents_from_csv(text)]


class RowsApart(Exception):
    """A reference's rows are not together in the file: it cannot be read one order at a
    time, and is grouped whole instead (`documents_from_csv`)."""


def csv_documents_streamed(stream) -> Iterator[CsvDocument]:
    """The documents of a CSV whose rows of each reference are together (as an export writes
    them), one at a time: memory holds one order's rows, and the references seen. Raises
    RowsApart at a reference met again after another one's rows."""
    done: set[str] = set()
    document: CsvDocument | None = None
    for row_number, reference, quantity, row in _lines(_reader(stream)):
        if document is None or document.payload["reference"] != reference:
            if reference in done:
                raise RowsApart(reference)
            if document is not None:
                done.add(document.payload["reference"])
                document.payload_whole()
                yield document
            document = CsvDocument(payload=_new_payload(reference, row))
        document.row_add(row_number=row_number, row=row, quantity=quantity)
    if document is not None:
        document.payload_whole()
        yield document
