"""CSV shared by every app: the one formula neutraliser for every CSV file we produce (SFTP
order files, portal export), and the reading of rows that names a bad row's line.

Formula injection (OWASP "CSV Injection"): a cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return (or their full-width forms, which some spreadsheet versions accept, or
one of those after leading spaces) is prefixed with a single quote, so a spreadsheet shows it as
text instead of running it. One deliberate exception to OWASP's "prefix anyway": a cell made
only of a sign, digits, spaces, parentheses, dots and hyphens, such as the phone number
"+44 20 7946 0000" or "-12.50", is left as it is. Such a cell cannot name a function or reach
DDE (those need letters, `|` or `!`), so the worst a spreadsheet can do with it is arithmetic,
while the prefix would corrupt every international phone number for every importer that is not
a spreadsheet (which is most of them).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from typing import Any

# = + - @ tab CR, and the full-width = + - @.
_FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER_LIKE = re.compile(r"[+-]?[0-9][0-9 ().\-]*")


def csv_cell_neutralise(value: Any) -> str:
    """The cell's text, with a quote in front when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    if not text:
        return text
    if text[0] not in _FORMULA_TRIGGERS:
        stripped = text.lstrip(" ")
        if not stripped or stripped[0] not in _FORMULA_TRIGGERS:
            return text
    if _NUMBER_LIKE.fullmatch(text):
        return text
    return "'" + text


def csv_rows_naming_the_line(
    reader, *, error: Callable[[int, csv.Error], Exception]
) -> Iterator[Any]:
    """The reader's rows; one the csv module cannot read (a cell past its size limit, say)
    raises `error(line, exc)`, the line being the reader's own count (a DictReader's moves
    only after a row it read), instead of a traceback."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(reader, "reader", reader).line_num
            raise error(line, exc) from None
