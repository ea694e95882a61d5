"""Update files as records: received once per supplier (by SHA-256), previewed, applied once.

`update_file_receive` stores the bytes (or finds the same bytes from before);
`update_file_preview` says what each row would do and changes nothing; `update_file_apply`
claims the file (PENDING -> APPLYING in one UPDATE, so two confirmations apply it once),
applies its rows and stores the result CSV and its counts.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import UpdateFile, UpdateFileSource, UpdateFileStatus
from .apply import APPLIED, ERROR, UNCHANGED, update_rows_apply
from .parse import update_file_check, update_rows_read
from .results import update_result_csv


class UpdateFileAlreadyApplied(Exception):
    """The file (these bytes, for this supplier) was applied before; nothing was changed."""

    def __init__(self, update_file: UpdateFile):
        self.update_file = update_file
        super().__init__(already_applied_message(update_file))


def already_applied_message(update_file: UpdateFile) -> str:
    when = update_file.applied_at or update_file.created_at
    return (
        f"This file was already applied on {when:%Y-%m-%d %H:%M} UTC (as {update_file.name}); "
        "nothing was changed again."
    )


def update_file_receive(
    *, supplier, name: str, content: bytes, source: str, uploaded_by=None
) -> UpdateFile:
    """The file's record: new, or the one holding the same bytes (pending or applied).

    Raises UpdateFileError (nothing stored) when the file cannot be read at all.
    """
    update_file_check(content)
    if source not in UpdateFileSource.values:
        raise ValueError(f"unknown update file source {source!r}")
    sha256 = hashlib.sha256(content).hexdigest()
    name = "".join(c for c in (name or "") if c.isprintable())[:255] or "updates.csv"
    existing = UpdateFile.objects.filter(supplier=supplier, sha256=sha256).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return UpdateFile.objects.create(
                supplier=supplier,
                name=name,
                sha256=sha256,
                source=source,
                content=content,
                uploaded_by=uploaded_by,
                row_count=sum(1 for _ in update_rows_read(content)),
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same bytes, received at the same moment
        return UpdateFile.objects.get(supplier=supplier, sha256=sha256)


def update_file_preview(*, update_file: UpdateFile) -> dict[int, tuple[str, str]]:
    """What each row would do, by row number; every change is rolled back."""
    return update_rows_apply(
        supplier=update_file.supplier,
        rows=update_rows_read(bytes(update_file.content)),
        file_name=update_file.name,
        actor_user=update_file.uploaded_by,
        dry_run=True,
    )


def update_file_apply(
    *,
    update_file: UpdateFile,
    actor_user=None,
    progress: Callable[[int, int], None] | None = None,
) -> UpdateFile:
    """Apply the file's rows once; raises UpdateFileAlreadyApplied if it was applied before."""
    claimed = UpdateFile.objects.filter(pk=update_file.pk, status=UpdateFileStatus.PENDING).update(
        status=UpdateFileStatus.APPLYING
    )
    if not claimed:
        update_file.refresh_from_db()
        raise UpdateFileAlreadyApplied(update_file)
    content = bytes(update_file.content)

    def report(done: int, total: int) -> None:
        # Between orders' transactions (autocommit): visible at once to the progress page.
        UpdateFile.objects.filter(pk=update_file.pk).update(progress_rows=done)
        if progress is not None:
            progress(done, total)

    outcomes = update_rows_apply(
        supplier=update_file.supplier,
        rows=update_rows_read(content),
        file_name=update_file.name,
        actor_user=actor_user if actor_user is not None else update_file.uploaded_by,
        progress=report,
    )
    counts = Counter(result for result, _ in outcomes.values())
    update_file.result = update_result_csv(
        content=content, outcomes=outcomes, missing=(ERROR, "Not read.")
    )
    update_file.row_count = len(outcomes)
    update_file.applied_count = counts[APPLIED]
    update_file.unchanged_count = counts[UNCHANGED]
    update_file.error_count = counts[ERROR]
    update_file.progress_rows = len(outcomes)
    update_file.status = UpdateFileStatus.APPLIED
    update_file.applied_at = timezone.now()
    update_file.save(
        update_fields=[
            "result",
            "row_count",
            "applied_count",
            "unchanged_count",
            "error_count",
            "progress_rows",
            "status",
            "applied_at",
        ]
    )
    return update_file


def update_file_repeat_result(*, update_file: UpdateFile, content: bytes) -> str:
    """The answer to the same file sent again: every row `unchanged`, saying why."""
    return update_result_csv(
        content=content, outcomes={}, missing=(UNCHANGED, already_applied_message(update_file))
    )


def update_file_receive_and_apply(
    *, supplier, name: str, content: bytes, source: str, actor_user=None, progress=None
) -> tuple[UpdateFile, str]:
    """(record, result CSV) for a file handed over in one go (SFTP, a command)."""
    update_file = update_file_receive(
        supplier=supplier, name=name, content=content, source=source, uploaded_by=actor_user
    )
    try:
        update_file = update_file_apply(update_file=update_file, progress=progress)
    except UpdateFileAlreadyApplied:
        return update_file, update_file_repeat_result(update_file=update_file, content=content)
    return update_file, update_file.result
