"""The result of an update file: every input row as written, plus `row`, `result`, `message`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from common.csv import csv_cell_neutralise

from .parse import update_file_cells

RESULT_COLUMNS = ("result", "message")


def update_result_lines(
    *, content: bytes, outcomes: dict[int, tuple[str, str]], missing: tuple[str, str]
) -> Iterator[str]:
    """The result CSV, a line at a time; a row without an outcome gets `missing`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        # A NUL cannot be stored as text (PostgreSQL refuses it); the row's message names it.
        writer.writerow([csv_cell_neutralise(str(cell).replace("\x00", "")) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    cells_by_row = update_file_cells(content)
    _, header = next(cells_by_row)
    yield line(["row", *header, *RESULT_COLUMNS])
    width = len(header)
    for number, cells in cells_by_row:
        cells = (cells + [""] * width)[:width] if len(cells) != width else cells
        yield line([number, *cells, *outcomes.get(number, missing)])


def update_result_csv(**kwargs) -> str:
    return "".join(update_result_lines(**kwargs))
