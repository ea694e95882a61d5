"""Update files as records: received once per supplier (by SHA-256), previewed, applied once.

`update_file_receive` stores the bytes (or finds the same bytes from before);
`update_file_preview` says what each row would do and changes nothing; `update_file_claim`
claims the file (PENDING -> APPLYING in one UPDATE, so two confirmations apply it once) and
`update_file_run` applies its rows under a lease (here, or in a Celery task the portal queues
for a large file: `update_file_queue`), storing each row's outcome with its change, then the
counts. A run that stopped (a worker killed) leaves the file applying with its lease running
out: `update_files_stale` finds it for the recovery sweep, and the next run resumes it
(rows.py). `update_file_apply` is claim and run in one go (SFTP). The result CSV is built
from the rows when asked (`update_file_result_lines`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import UpdateFile, UpdateFileSource, UpdateFileStatus
from .apply import APPLIED, ERROR, UNCHANGED, update_rows_apply
from .parse import UpdateFileError, update_file_check, update_rows_read
from .results import update_result_lines
from .rows import (
    rows_answered,
    rows_apply,
    rows_counts,
    rows_outcomes,
    rows_stage,
    rows_unanswered_fail,
)

logger = logging.getLogger(__name__)

NO_ROWS = "The file has its header row and no row after it: there is nothing to apply."


class UpdateFileAlreadyApplied(Exception):
    """The file (these bytes, for this supplier) was applied before; nothing was changed."""

    def __init__(self, update_file: UpdateFile):
        self.update_file = update_file
        super().__init__(already_applied_message(update_file))


class UpdateFileBeingApplied(Exception):
    """The same bytes are being applied right now by another applier (a worker whose lease
    still runs, or a portal Apply): the caller leaves the file where it is and asks again
    later, once it is finished, instead of answering it (found in review: such a try
    answered every row "already applied", rows not applied yet and errors included, and
    the file was moved on with that answer for good)."""

    def __init__(self, update_file: UpdateFile):
        self.update_file = update_file
        super().__init__(f"update file {update_file.pk} is being applied by another applier")


def already_applied_message(update_file: UpdateFile) -> str:
    if update_file.status == UpdateFileStatus.APPLYING:
        # Found in review: a file uploaded again (or applied again) while a worker still
        # applied it was said to be "already applied on" its upload time.
        return (
            f"This file is being applied now (as {update_file.name}); nothing is applied "
            "twice. Its page shows how far it has got, then the result."
        )
    when = update_file.applied_at or update_file.created_at
    if update_file.status == UpdateFileStatus.FAILED:
        # Given up part way (its appliers kept stopping): not "already applied", which told
        # the supplier its rows after the stop had gone in.
        return (
            f"This file was tried on {when:%Y-%m-%d %H:%M} UTC (as {update_file.name}) and "
            "stopped part way: its result says which rows were applied and which were not "
            "(send those again in a new file). Nothing was changed again."
        )
    return (
        f"This file was already applied on {when:%Y-%m-%d %H:%M} UTC (as {update_file.name}); "
        "nothing was changed again."
    )


def update_file_receive(
    *, supplier, name: str, content: bytes, source: str, uploaded_by=None
) -> UpdateFile:
    """The file's record: new, or the one holding the same bytes (pending or applied).

    Raises UpdateFileError (nothing stored) when the file cannot be read at all, or has no
    row after its header.
    """
    update_file_check(content)
    if source not in UpdateFileSource.values:
        raise ValueError(f"unknown update file source {source!r}")
    sha256 = hashlib.sha256(content).hexdigest()
    name = "".join(c for c in (name or "") if c.isprintable())[:255] or "updates.csv"
    existing = UpdateFile.objects.filter(supplier=supplier, sha256=sha256).first()
    if existing is not None:
        return existing
    row_count = sum(1 for _ in update_rows_read(content, strict=True))
    if not row_count:
        # Found in review: a file of only its header was "applied", 0 rows, and an SFTP
        # one moved to processed/, as if an export that lost its rows had been taken.
        raise UpdateFileError(NO_ROWS)
    try:
        with transaction.atomic():
            return UpdateFile.objects.create(
                supplier=supplier,
                name=name,
                sha256=sha256,
                source=source,
                content=content,
                uploaded_by=uploaded_by,
                row_count=row_count,
                created_at=timezone.now(),
            )
    except IntegrityError:  # the same bytes, received at the same moment
        return UpdateFile.objects.get(supplier=supplier, sha256=sha256)


def update_file_preview(*, update_file: UpdateFile, rows: int) -> dict[int, tuple[str, str]]:
    """What each of the file's first `rows` rows would do, by row number; every change is
    rolled back. Bounded so that a page view costs the same for any size of file: the
    preview holds these rows' groups in memory (apply.py's update_rows_apply)."""
    return update_rows_apply(
        supplier=update_file.supplier,
        rows=islice(update_rows_read(bytes(update_file.content)), rows),
        file_name=update_file.name,
        actor_user=update_file.uploaded_by,
        dry_run=True,
    )


def update_file_claim(*, update_file: UpdateFile) -> UpdateFile:
    """Claim a pending file for applying (PENDING -> APPLYING in one UPDATE, so two
    confirmations apply it once); raises UpdateFileAlreadyApplied if it is not pending."""
    now = timezone.now()
    claimed = UpdateFile.objects.filter(pk=update_file.pk, status=UpdateFileStatus.PENDING).update(
        status=UpdateFileStatus.APPLYING, claimed_at=now, lease_until=None, attempts=0
    )
    if not claimed:
        update_file.refresh_from_db()
        raise UpdateFileAlreadyApplied(update_file)
    update_file.status, update_file.claimed_at, update_file.lease_until = (
        UpdateFileStatus.APPLYING,
        now,
        None,
    )
    update_file.attempts = 0
    return update_file


def _lease() -> timedelta:
    return timedelta(seconds=settings.UPDATE_FILE_LEASE_SECONDS)


def update_file_run(
    *,
    update_file_id: int,
    actor_user=None,
    progress: Callable[[int, int], None] | None = None,
) -> UpdateFile | None:
    """Apply (or resume) a claimed file: None if it is not applying or another applier holds
    it; else the file as it ended, applied (or failed, once UPDATE_FILE_MAX_ATTEMPTS
    appliers took it and none finished).

    The lease is the claim of one applier, renewed every batch; the rows' outcomes, written
    with their changes, are what a resumed apply skips (rows.py).
    """
    now = timezone.now()
    taken = (
        UpdateFile.objects.filter(pk=update_file_id, status=UpdateFileStatus.APPLYING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + _lease(), attempts=F("attempts") + 1)
    )
    if not taken:
        return None
    update_file = UpdateFile.objects.select_related("supplier", "uploaded_by").get(
        pk=update_file_id
    )
    if update_file.attempts > settings.UPDATE_FILE_MAX_ATTEMPTS:
        return _give_up(update_file)
    total = rows_stage(update_file=update_file)
    before = rows_answered(update_file=update_file)

    def report(done: int) -> None:
        # Between orders' transactions (autocommit): visible at once to the progress page.
        UpdateFile.objects.filter(pk=update_file.pk).update(
            progress_rows=before + done, lease_until=timezone.now() + _lease()
        )
        if progress is not None:
            progress(before + done, total)

    rows_apply(
        update_file=update_file,
        actor_user=actor_user if actor_user is not None else update_file.uploaded_by,
        progress=report,
    )
    return _finish(update_file, status=UpdateFileStatus.APPLIED)


def _finish(update_file: UpdateFile, *, status: str) -> UpdateFile:
    counts = rows_counts(update_file=update_file)
    update_file.row_count = sum(counts.values())
    update_file.applied_count = counts.get(APPLIED, 0)
    update_file.unchanged_count = counts.get(UNCHANGED, 0)
    update_file.error_count = counts.get(ERROR, 0)
    update_file.progress_rows = update_file.row_count
    update_file.status = status
    update_file.applied_at = timezone.now()
    update_file.lease_until = None
    update_file.save(
        update_fields=[
            "row_count",
            "applied_count",
            "unchanged_count",
            "error_count",
            "progress_rows",
            "status",
            "applied_at",
            "lease_until",
        ]
    )
    return update_file


def _give_up(update_file: UpdateFile) -> UpdateFile:
    tries = update_file.attempts - 1
    logger.error(
        "update file %s (%s) of supplier %s: %d appliers stopped before the end; marked failed",
        update_file.pk,
        update_file.name,
        update_file.supplier_id,
        tries,
    )
    rows_stage(update_file=update_file)
    rows_unanswered_fail(
        update_file=update_file,
        message=f"Not applied: applying this file stopped {tries} times before this row; "
        "the rows before were applied. Send this row again in a new file.",
    )
    return _finish(update_file, status=UpdateFileStatus.FAILED)


def update_file_apply(
    *,
    update_file: UpdateFile,
    actor_user=None,
    progress: Callable[[int, int], None] | None = None,
) -> UpdateFile:
    """Claim and apply the file here; raises UpdateFileAlreadyApplied if it was applied
    before (or is being applied)."""
    update_file_claim(update_file=update_file)
    applied = update_file_run(
        update_file_id=update_file.pk, actor_user=actor_user, progress=progress
    )
    if applied is None:  # taken by another applier between the claim and here
        update_file.refresh_from_db()
        raise UpdateFileAlreadyApplied(update_file)
    return applied


# --- Queueing (the portal's large files) and recovery -------------------------------------

# `orders` never imports `delivery` (docs/architecture.md): delivery plugs in how a file is
# queued (delivery/apps.py: task_publish of delivery.update_file_apply), as with its readers.
_queue_publish: Callable[[int], bool] | None = None


def update_file_queue_register(publish: Callable[[int], bool]) -> None:
    global _queue_publish
    _queue_publish = publish


def update_file_queue(*, update_file: UpdateFile) -> bool:
    """Queue a claimed file for a worker; False when nothing could queue it (no broker)."""
    if _queue_publish is None:
        return False
    return _queue_publish(update_file.pk)


def update_files_stale(*, now=None, limit: int = 100) -> list[int]:
    """Files left applying by an applier that stopped (its lease ran out) or queued and
    never taken (the message lost): the recovery sweep queues each again."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.UPDATE_FILE_QUEUE_GRACE_SECONDS)
    return list(
        UpdateFile.objects.filter(status=UpdateFileStatus.APPLYING)
        .filter(
            Q(lease_until__lt=now)
            | Q(lease_until__isnull=True, claimed_at__lt=now - grace)
            | Q(lease_until__isnull=True, claimed_at__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def update_file_result_lines(*, update_file: UpdateFile) -> Iterator[str]:
    """The result CSV of an applied (or failed) file, a line at a time, from its rows."""
    if update_file.result:  # applied before rows were kept
        yield update_file.result
        return
    yield from update_result_lines(
        content=bytes(update_file.content),
        outcomes=rows_outcomes(update_file=update_file),
        missing=(ERROR, "Not read."),
    )


def update_file_result_text(*, update_file: UpdateFile) -> str:
    return "".join(update_file_result_lines(update_file=update_file))


def update_file_repeat_lines(*, update_file: UpdateFile, content: bytes) -> Iterator[str]:
    """The answer to the same file sent again, a line at a time: its first answer, row by
    row, each message saying that the file was applied before and nothing changed again (as
    an Idempotency-Key replays the first answer). A supplier whose first answer was lost (a
    run cut before it wrote it) learns from this one what happened to each row; before,
    every row was `unchanged`, errors included."""
    note = already_applied_message(update_file)
    if update_file.result:  # applied before rows were kept: no row's outcome to give
        yield from update_result_lines(content=content, outcomes={}, missing=(UNCHANGED, note))
        return
    outcomes = (
        (row, result, f"{note} Then: {message}" if message else note)
        for row, result, message in rows_outcomes(update_file=update_file)
    )
    yield from update_result_lines(content=content, outcomes=outcomes, missing=(UNCHANGED, note))


def update_file_repeat_result(*, update_file: UpdateFile, content: bytes) -> str:
    return "".join(update_file_repeat_lines(update_file=update_file, content=content))


def update_file_receive_and_apply_lines(
    *, supplier, name: str, content: bytes, source: str, actor_user=None, progress=None
) -> tuple[UpdateFile, Iterator[str]]:
    """(record, result CSV a line at a time, read as it is iterated) for a file handed over
    in one go (SFTP): so the answer is written out a chunk at a time, never held whole.
    The same file again gets its first answer replayed (`update_file_repeat_lines`), unless
    its first apply stopped (a worker killed) and nobody holds it: then this resumes it.
    Raises UpdateFileBeingApplied while another applier holds it."""
    update_file = update_file_receive(
        supplier=supplier, name=name, content=content, source=source, uploaded_by=actor_user
    )
    if update_file.status == UpdateFileStatus.PENDING:
        try:
            update_file = update_file_apply(update_file=update_file, progress=progress)
        except UpdateFileAlreadyApplied:
            update_file.refresh_from_db()  # claimed by another applier since it was read
        else:
            return update_file, update_file_result_lines(update_file=update_file)
    if update_file.status == UpdateFileStatus.APPLYING:
        resumed = update_file_run(
            update_file_id=update_file.pk, actor_user=actor_user, progress=progress
        )
        if resumed is not None:
            return resumed, update_file_result_lines(update_file=resumed)
        update_file.refresh_from_db()
        if update_file.status == UpdateFileStatus.APPLYING:
            raise UpdateFileBeingApplied(update_file)
    return update_file, update_file_repeat_lines(update_file=update_file, content=content)


def update_file_receive_and_apply(
    *, supplier, name: str, content: bytes, source: str, actor_user=None, progress=None
) -> tuple[UpdateFile, str]:
    """`update_file_receive_and_apply_lines` with the result CSV as one text."""
    update_file, lines = update_file_receive_and_apply_lines(
        supplier=supplier,
        name=name,
        content=content,
        source=source,
        actor_user=actor_user,
        progress=progress,
    )
    return update_file, "".join(lines)
