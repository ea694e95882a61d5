"""Intake documents from CSV: one row per order line, rows grouped into orders by reference.

Only the file's shape is checked here (header, reference, whole-number quantity); each
document then goes through the same `intake_validate` as the API's.
"""

from __future__ import annotations

import csv
import io
import re

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


def payloads_from_csv(text: str) -> list[dict]:
    """One intake document per reference; one CSV row per line, header row required."""
    reader = csv.DictReader(io.StringIO(text))
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
    documents: dict[str, dict] = {}
    known: dict[str, dict] = {}  # per reference: {column: (line, value)} (_same_order)
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
        quantity = int(raw)
        _same_order(reference, row_number, row, known.setdefault(reference, {}))
        document = documents.setdefault(
            reference,
            {
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
            },
        )
        if row["placed_at"]:
            document["placed_at"] = row["placed_at"]
        document["lines"].append({"sku": row["sku"], "quantity": quantity})
    return list(documents.values())
