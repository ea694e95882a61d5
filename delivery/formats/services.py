"""Saving a format made in admin: checked, then its version made or edited in place."""

from __future__ import annotations

from django.db import transaction

from .models import FileFormat, FileFormatVersion
from .spec import spec_compile

SPEC_FIELDS = (
    "kind",
    "columns",
    "delimiter",
    "quoting",
    "header_row",
    "row_per",
    "encoding",
    "line_end",
    "decimal_separator",
    "extension",
    "file_name_pattern",
)


def file_format_values(file_format: FileFormat) -> dict:
    return {name: getattr(file_format, name) for name in SPEC_FIELDS}


@transaction.atomic
def file_format_save(*, file_format: FileFormat) -> FileFormatVersion:
    """Save the format and give it a version for what it now says.

    The latest version is kept as it is when nothing changed, edited in place while no file
    was sent with it, and otherwise followed by a new version: a sent file's version is never
    changed. Raises ValidationError (by field) for a spec that cannot render.
    """
    spec = spec_compile(file_format_values(file_format))
    file_format.save()
    latest = (
        FileFormatVersion.objects.select_for_update()
        .filter(file_format=file_format)
        .order_by("-number")
        .first()
    )
    same = (
        latest is not None
        and latest.kind == file_format.kind
        and latest.spec == spec
        and latest.file_name_pattern == file_format.file_name_pattern
    )
    if same:
        return latest
    if latest is not None and not latest.files.exists():
        latest.kind = file_format.kind
        latest.spec = spec
        latest.file_name_pattern = file_format.file_name_pattern
        latest.save(update_fields=["kind", "spec", "file_name_pattern"])
        return latest
    return FileFormatVersion.objects.create(
        file_format=file_format,
        number=(latest.number + 1) if latest else 1,
        kind=file_format.kind,
        spec=spec,
        file_name_pattern=file_format.file_name_pattern,
    )
