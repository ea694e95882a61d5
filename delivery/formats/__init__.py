"""Order file formats for the SFTP drop, by name (`Destination.sftp_format`).

Adding a format (say one supplier's own column set) is one `OrderFormat` instance and one line
here: the portal's choices and the service's check read `FORMATS`, and the model field has no
choices, so no migration is needed.
"""

from __future__ import annotations

from .base import OrderFormat
from .csv_format import STANDARD_COLUMNS, CsvFormat, csv_cell_neutralise
from .json_format import JsonFormat

FORMATS: dict[str, OrderFormat] = {
    "csv": CsvFormat(name="csv", columns=STANDARD_COLUMNS),
    "json": JsonFormat(name="json"),
}


class UnknownFormat(LookupError):
    pass


def format_choices() -> list[tuple[str, str]]:
    """(name, label) of every format, for a form's choices."""
    return [(name, fmt.label or name.upper()) for name, fmt in FORMATS.items()]


def format_get(name: str) -> OrderFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(
            f"unknown file format {name!r}; known: {', '.join(sorted(FORMATS))}"
        ) from None


__all__ = [
    "FORMATS",
    "STANDARD_COLUMNS",
    "CsvFormat",
    "JsonFormat",
    "OrderFormat",
    "UnknownFormat",
    "csv_cell_neutralise",
    "format_choices",
    "format_get",
]
