"""Order file formats, by name (`Destination.sftp_format`, `Destination.email_attach_format`).

Built-in formats are code (`registry.FORMATS`: the contract's `csv` and `json`, never edited);
every other format is a row made in admin (`models.FileFormat`, rendered by `custom.py`, see
docs/formats.md). `format_for(name, destination=...)` gives either, ready to render;
`files.delivery_file` pins the bytes a delivery sent.
"""

from __future__ import annotations

from .base import OrderFormat
from .csv_format import STANDARD_COLUMNS, CsvFormat, csv_cell_neutralise
from .json_format import JsonFormat
from .registry import FORMATS, UnknownFormat, format_get

__all__ = [
    "FORMATS",
    "STANDARD_COLUMNS",
    "CsvFormat",
    "JsonFormat",
    "OrderFormat",
    "UnknownFormat",
    "csv_cell_neutralise",
    "format_available",
    "format_choices",
    "format_for",
    "format_get",
]


def __getattr__(name):
    # The lookups read the database's formats: imported when first used, so importing this
    # package (from delivery/models.py) does not import the models it defines.
    if name in ("format_available", "format_choices", "format_for"):
        from . import lookup

        return getattr(lookup, name)
    raise AttributeError(name)
