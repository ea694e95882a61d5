"""Intake documents from CSV: one row per order line, rows grouped into orders by reference.

Only the file's shape is checked here (header, reference, whole-number quantity); each
document then goes through the same `intake_validate` as the API's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

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
# blank cell on a later row means "as above").
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
        raise IntakeCsvError(f"file: CSV header lacks column(s) {', '.join(missing)}.")
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


def _new_document(reference: str, row: dict) -> dict:
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


def _add_line(document: dict, row: dict, quantity: int) -> None:
    if row["placed_at"]:
        document["placed_at"] = row["placed_at"]
    document["lines"].append({"sku": row["sku"], "quantity": quantity})


def payloads_from_csv(text: str) -> list[dict]:
    """One intake document per reference; one CSV row per line, header row required. The
    rows of a reference may be anywhere in the file: the whole file is grouped in memory."""
    documents: dict[str, dict] = {}
    known: dict[str, dict] = {}  # per reference: {column: (line, value)} (_same_order)
    for row_number, reference, quantity, row in _lines(_reader(io.StringIO(text))):
        _same_order(reference, row_number, row, known.setdefault(reference, {}))
        document = documents.get(reference)
        if document is None:
            document = documents[reference] = _new_document(reference, row)
        _add_line(document, row, quantity)
    return list(documents.values())


class RowsApart(Exception):
    """A reference's rows are not together in the file: it cannot be read one order at a
    time, and is grouped whole instead (`payloads_from_csv`)."""


def csv_documents_streamed(stream) -> Iterator[dict]:
    """The intake documents of a CSV whose rows of each reference are together (as an
    export writes them), one at a time: memory holds one order's rows, and the references
    seen. Raises RowsApart at a reference met again after another one's rows."""
    done: set[str] = set()
    document: dict | None = None
    known: dict = {}
    for row_number, reference, quantity, row in _lines(_reader(stream)):
        if document is None or document["reference"] != reference:
            if reference in done:
                raise RowsApart(reference)
            if document is not None:
                done.add(document["reference"])
                yield document
            document, known = _new_document(reference, row), {}
        _same_order(reference, row_number, row, known)
        _add_line(document, row, quantity)
    if document is not None:
        yield document
