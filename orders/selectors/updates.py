"""Reads of update files for the portal: a supplier's own, never another's."""

from __future__ import annotations

from django.db.models import QuerySet

from ..models import UpdateFile

UPDATE_FILES_LISTED = 50


def update_files_for_supplier(*, supplier) -> QuerySet[UpdateFile]:
    """The supplier's latest uploads, without their bytes or result (the list needs neither)."""
    return (
        UpdateFile.objects.filter(supplier=supplier)
        .defer("content", "result")
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:UPDATE_FILES_LISTED]
    )


def update_file_for_supplier(*, supplier, pk: int) -> UpdateFile | None:
    return UpdateFile.objects.filter(supplier=supplier, pk=pk).first()
