"""The file a delivery sends, rendered once and kept (`DeliveryFile`).

The first try renders the order with the format's latest version and keeps the bytes, the
file name and the version; every later try and every redelivery sends what was kept. So a
format edited after the first send (a new version) or an order changed since never changes
what the same identity carries.
"""

from __future__ import annotations

from django.db import transaction

from .custom import FormatError
from .lookup import format_for
from .models import DeliveryFile, FileFormatVersion
from .registry import UnknownFormat


def delivery_files(
    items: list[tuple[object, object]], *, format_name: str, destination
) -> dict[int, DeliveryFile | FormatError | UnknownFormat]:
    """For each (delivery, loaded order): its kept file, made now for the ones without one;
    or the reason this order cannot be written (the delivery fails with it)."""
    kept = DeliveryFile.objects.in_bulk([d.pk for d, _ in items])
    results: dict[int, DeliveryFile | FormatError | UnknownFormat] = {}
    new: list[DeliveryFile] = []
    file_format = None
    for delivery, order in items:
        if delivery.pk in kept:
            results[delivery.pk] = kept[delivery.pk]
            continue
        try:
            if file_format is None:
                file_format = format_for(format_name, destination=destination)
            made = DeliveryFile(
                delivery_id=delivery.pk,
                format_name=file_format.name,
                format_version=getattr(file_format, "version", None),
                file_name=file_format.file_name(order),
                content_type=file_format.content_type,
                content=file_format.render(order),
            )
        except (FormatError, UnknownFormat) as exc:
            results[delivery.pk] = exc
            continue
        new.append(made)
        results[delivery.pk] = made
    if new:
        with transaction.atomic():
            if _version_changed(file_format):
                # Edited in place while these were made (no file of it was kept yet): made
                # again with what the version says now, so a kept file's version wrote it.
                return delivery_files(items, format_name=format_name, destination=destination)
            DeliveryFile.objects.bulk_create(new, ignore_conflicts=True)
        # Another worker may have kept a file for the same row first: what was kept is sent.
        again = DeliveryFile.objects.in_bulk([f.delivery_id for f in new])
        for made in new:
            results[made.delivery_id] = again.get(made.delivery_id, made)
    return results


def _version_changed(file_format) -> bool:
    """Whether the version `file_format` rendered with says something else now. The row is
    locked until the files are kept, as `file_format_save` locks it to decide between editing
    it in place and a new version: a save then sees these files and makes a new version."""
    version = getattr(file_format, "version", None)
    if version is None:
        return False  # a built-in format: code
    current = FileFormatVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    return (current.kind, current.spec, current.file_name_pattern) != (
        version.kind,
        version.spec,
        version.file_name_pattern,
    )


def file_bytes(kept: DeliveryFile) -> bytes:
    return bytes(kept.content)
