"""The result of an update file: every input row as written, plus `row`, `result`, `message`,
with the file's own delimiter and BOM."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from common.csv import csv_cell_neutralise

from .parse import update_file_cells, update_file_dialect

RESULT_COLUMNS = ("result", "message")


def update_result_lines(
    *,
    content: bytes,
    outcomes: dict[int, tuple[str, str]] | Iterator[tuple[int, str, str]],
    missing: tuple[str, str],
) -> Iterator[str]:
    """The result CSV, a line at a time; a row without an outcome gets `missing`.

    `outcomes`: {row: (result, message)}, or (row, result, message) in row order (a file's
    stored rows, read as the CSV is written, so neither is held whole).
    """
    if isinstance(outcomes, dict):
        lookup = outcomes.get
    else:
        lookup = _merged(outcomes)
    # Written as the file came (its delimiter, its BOM), so it opens as the file did: found
    # in review, a semicolon file saved by Excel got a comma result, which Excel in that
    # locale opened as one column, with its accents garbled for want of the BOM.
    delimiter, bom = update_file_dialect(content)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)

    def line(cells) -> str:
        # A NUL cannot be stored as text (PostgreSQL refuses it); the row's message names it.
        writer.writerow([csv_cell_neutralise(str(cell).replace("\x00", "")) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    cells_by_row = update_file_cells(content)
    _, header = next(cells_by_row)
    yield ("\ufeff" if bom else "") + line(["row", *header, *RESULT_COLUMNS])
    width = len(header)
    for number, cells in cells_by_row:
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        outcome = lookup(number)
        if outcome is None or not outcome[0]:
            outcome = missing
        yield line([number, *cells, *outcome])


def _merged(outcomes: Iterator[tuple[int, str, str]]):
    """A lookup by ascending row number over outcomes in row order."""
    pending = next(outcomes, None)

    def lookup(number: int):
        nonlocal pending
        while pending is not None and pending[0] < number:
            pending = next(outcomes, None)
        if pending is not None and pending[0] == number:
            return pending[1], pending[2]
        return None

    return lookup


def update_result_csv(**kwargs) -> str:
    return "".join(update_result_lines(**kwargs))
