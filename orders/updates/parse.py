"""Reading an update file: the header decides which column is which, every row is checked.

The public format is contract.md's "Update files": read by header (any order, unknown
columns ignored), UTF-8 with or without a BOM, comma or semicolon (whichever the header line
holds more of). Only `order_number` and `action` must be columns. Rows are numbered as a
spreadsheet shows them: the header is row 1, so the first order is row 2.

Reading streams: rows come one at a time from the bytes, so a caller that keeps only what it
needs per row holds no copy of the file's text.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from ..inputs import text_problem

COLUMNS = (
    "order_number",
    "action",
    "line",
    "quantity",
    "reason",
    "note",
    "carrier",
    "tracking_number",
)
# What each column holds, as the help page (/help/) and the upload page explain it.
COLUMN_HELP = {
    "order_number": "The order's number, e.g. PO-1001. Required.",
    "action": "acknowledge, cancel or ship. Required.",
    "line": "The line's number on the order (1, 2, ...); blank: every line.",
    "quantity": "How many units of the line; blank: every open unit.",
    "reason": "To cancel: out_of_stock, discontinued, bad_address, cannot_ship_on_time, "
    "customer_request, retailer_request or other.",
    "note": "To cancel: a note the retailer reads. Required to cancel.",
    "carrier": "To ship: the carrier, e.g. DPD. Required to ship.",
    "tracking_number": "To ship: the tracking number, if there is one.",
}
REQUIRED_COLUMNS = ("order_number", "action")
ACTIONS = ("acknowledge", "cancel", "ship")
# A file is read whole into the database row (UpdateFile.content); past this it is refused.
MAX_FILE_BYTES = 20 * 1024 * 1024
TOO_LARGE = f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
_TEXT_LIMITS = {"order_number": 40, "reason": 32, "carrier": 100, "tracking_number": 100}


class UpdateFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, a required column missing)."""


@dataclass(slots=True)
class UpdateRow:
    """One data row, its values checked; `error` says what is wrong with it ("" if nothing)."""

    row: int
    order_number: str
    action: str
    line: int | None
    quantity: int | None
    reason: str
    note: str
    carrier: str
    tracking_number: str
    error: str = ""

    @property
    def group_key(self) -> tuple:
        """Rows with the same key are applied together, as one change to the order."""
        if self.action == "cancel":
            return (self.order_number, "cancel", self.reason, self.note)
        if self.action == "ship":
            return (self.order_number, "ship", self.carrier, self.tracking_number)
        return (self.order_number, self.action)


def update_file_check(content: bytes) -> None:
    """Refuse, before anything is stored, a file that is too big, not UTF-8 or has no usable
    header; decodes in chunks so the check holds no second copy of the file."""
    if len(content) > MAX_FILE_BYTES:
        raise UpdateFileError(TOO_LARGE)
    if not content.strip():
        raise UpdateFileError("The file is empty.")
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        for start in range(0, len(content), 65536):
            chunk = content[start : start + 65536]
            # The bytes of a character cut by the last boundary, which the decoder holds
            # and counts in the error's position (they are never a newline).
            held = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:  # the line of the bad byte, not of its chunk
                line += chunk[: max(0, exc.start - held)].count(b"\n")
                raise
            line += chunk.count(b"\n")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UpdateFileError(
            f"The file is not UTF-8 text (near line {line}); save it as CSV UTF-8."
        ) from None
    _header(_reader(content))


def _reader(content: bytes, *, strict: bool = False):
    """`strict` when a file is received: a quote opened and never closed is refused (naming
    its row) instead of taking every later row into one cell (found in review: a note
    `"Box damaged` swallowed the rest of the file, which the retailer's cancellation email
    then carried as its note). A file stored is read as it was accepted: files stored before
    the check (read leniently then) still apply and still give their result; a file that
    passed it reads the same either way."""
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    first = text.readline()
    return csv.reader(_chain(first, text), delimiter=_delimiter(first), strict=strict)


def _delimiter(first: str) -> str:
    return ";" if first.count(";") > first.count(",") else ","


def update_file_dialect(content: bytes) -> tuple[str, bool]:
    """(the file's delimiter, whether it starts with a UTF-8 BOM): what its result is
    written with, so that it opens as the file did."""
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    return _delimiter(text.readline()), content.startswith(codecs.BOM_UTF8)


def _chain(first: str, rest) -> Iterator[str]:
    yield first
    yield from rest


def _header(reader) -> tuple[list[str], dict[str, int]]:
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UpdateFileError(f"The file has no header row ({exc}).") from None
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if key in COLUMNS:
            if key in columns:
                raise UpdateFileError(f"The column {key} appears twice in the header.")
            columns[key] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise UpdateFileError(
            "The header must name the columns "
            + ", ".join(missing)
            + " (the columns are "
            + ", ".join(COLUMNS)
            + ")."
            + _header_hint(header)
        )
    return header, columns


def _header_hint(header: list[str]) -> str:
    """Why a first row that names no column may not be the header at all (found in review:
    a blank first row, Excel's `sep=;` line or a tab-separated file got only "The header
    must name the columns ...", though the file's header did)."""
    first = ",".join(header)
    if not first.strip(" ,;\t"):
        return " The first row is blank: put the header in the first row."
    if first.strip().lower().startswith("sep="):
        return (
            " The first row is Excel's sep= line: remove it, so that the header is the first row."
        )
    if "\t" in first:
        return " The header is separated by tabs: use commas or semicolons."
    return ""


def update_file_cells(content: bytes, *, strict: bool = False) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as written) of the header (row 1) and every non-blank row."""
    reader = _reader(content, strict=strict)
    number = 0
    try:
        for cells in reader:
            number += 1
            if any(cell.strip() for cell in cells):
                yield number, cells
    except csv.Error as exc:
        raise UpdateFileError(f"Row {number + 1} cannot be read as CSV: {exc}.") from None


def update_rows_read(content: bytes, *, strict: bool = False) -> Iterator[UpdateRow]:
    """Every non-blank data row, checked; a bad row is returned with its error, not raised.
    `strict`: as when the file is received (`_reader`)."""
    cells_by_row = update_file_cells(content, strict=strict)
    _, header_cells = next(cells_by_row, (1, []))
    columns = _header(iter([header_cells]))[1]
    for number, cells in cells_by_row:
        yield _row(number, cells, columns, width=len(header_cells))


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _whole(value: str, field: str, errors: list[str], hint: str) -> int | None:
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) < 10 and int(value) >= 1:
        return int(value)
    errors.append(f"{field}: {hint}")
    return None


def _beyond_header(cells: list[str], width: int) -> str:
    """A row with written cells past the header's: a value holding the delimiter that was not
    quoted, so every cell after it is in the wrong column (found in review: "DHL, Express"
    shipped with tracking number "Express", and the real one was dropped). The message
    quotes the extra cells, which the result file (as wide as the header) cannot show."""
    extra = [cell for cell in cells[width:] if cell.strip()]
    if not extra:
        return ""
    shown = ", ".join(repr(cell.strip()[:40]) for cell in extra[:3])
    return (
        f"row: it has {len(cells)} cells and the header {width} (past the header: {shown}); "
        "put a value that holds a comma or semicolon in double quotes."
    )


def _row(number: int, cells: list[str], columns: dict[str, int], *, width: int) -> UpdateRow:
    values = {name: _cell(cells, columns, name) for name in COLUMNS}
    errors: list[str] = []
    beyond = _beyond_header(cells, width)
    if beyond:
        errors.append(beyond)
    for name, value in values.items():
        problem = text_problem(value)
        if problem:
            errors.append(f"{name}: {problem}")
            values[name] = ""
        elif name in _TEXT_LIMITS and len(value) > _TEXT_LIMITS[name]:
            errors.append(f"{name}: use at most {_TEXT_LIMITS[name]} characters.")
            values[name] = value[: _TEXT_LIMITS[name]]
    action = values["action"].lower()
    if not values["order_number"]:
        errors.append("order_number: give the order number.")
    if action not in ACTIONS:
        errors.append("action: use " + ", ".join(ACTIONS[:-1]) + " or " + ACTIONS[-1] + ".")
    line = _whole(
        values["line"], "line", errors, "give a line number (1, 2, ...), or leave it blank."
    )
    quantity = _whole(
        values["quantity"], "quantity", errors, "give a whole number of units, at least 1."
    )
    if action in ("cancel", "ship") and values["quantity"] and not values["line"]:
        errors.append("quantity: name the line too (a blank line means every open unit).")
    return UpdateRow(
        row=number,
        order_number=values["order_number"],
        action=action,
        line=line,
        quantity=quantity,
        reason=values["reason"].lower(),
        note=values["note"],
        carrier=values["carrier"],
        tracking_number=values["tracking_number"],
        error=" ".join(errors),
    )
