"""The built-in order file formats: code, never edited (contract.md: `csv` and `json`).

A format that a supplier needs is made in admin (a `FileFormat` row), not here. The portal's
choices and the service's check read `FORMATS` first, then the rows.
"""

from __future__ import annotations

from .base import OrderFormat
from .csv_format import STANDARD_COLUMNS, CsvFormat
from .json_format import JsonFormat

FORMATS: dict[str, OrderFormat] = {
    "csv": CsvFormat(name="csv", columns=STANDARD_COLUMNS),
    "json": JsonFormat(name="json"),
}


class UnknownFormat(LookupError):
    pass


def format_get(name: str) -> OrderFormat:
    """A built-in format by name."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(
            f"unknown file format {name!r}; known: {', '.join(sorted(FORMATS))}"
        ) from None
