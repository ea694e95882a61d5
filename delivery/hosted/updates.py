"""Update files a supplier drops over SFTP: applied once, moved, answered; nothing deleted.

The same steps for both kinds of server: `update_answer` applies the bytes through the
orders service (orders/updates: one UpdateFile per supplier and SHA-256, so the same file
twice is applied once, the second time answered with the first answer, replayed) and says
where the file goes next:
updates/processed/ with its result CSV in updates/results/<name>.results.csv, or, when it
cannot be read at all, updates/failed/ with a result file saying why (a file past
MAX_FILE_BYTES is refused from its size, `update_answer_too_large`, and never read). The
result is written before the move: a crash between the two leaves the file in updates/, and
the next try is answered "already applied" instead of applying it twice.

Hosted server: `update_queue` (the server's upload-closed hook) queues a Celery task, and
`hosted_update_apply` does the work on the shared storage. A supplier's own server: see
delivery/channels/sftp/updates.py, which uses `update_answer` over the connection.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from orders.models import UpdateFileSource
from orders.updates import (
    UpdateFileBeingApplied,
    UpdateFileError,
    update_file_receive_and_apply_lines,
)
from orders.updates.parse import MAX_FILE_BYTES, TOO_LARGE
from suppliers.models import Supplier

from .server import is_update_name
from .storage import (
    file_identity,
    file_write_atomic,
    name_fitted,
    supplier_folder,
    upload_closed_clear,
    upload_closed_is,
    upload_closed_touch,
    uploads_closed_everyone,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpdateAnswer:
    applied: bool  # False: unreadable, the file goes to failed/
    # The result CSV (or the failure's) in chunks, read from the file's rows as it is
    # written: once, and never held whole (found in review: the result of a large file was
    # built as one text, then one bytes, both at once, some six times the file's size).
    result: Iterable[bytes]

    @property
    def folder(self) -> str:
        return "processed" if self.applied else "failed"


def _chunks(lines: Iterable[str], size: int = 65536) -> Iterator[bytes]:
    """The lines as UTF-8, a chunk of about `size` bytes at a time."""
    held: list[str] = []
    length = 0
    for line in lines:
        held.append(line)
        length += len(line)
        if length >= size:
            yield "".join(held).encode()
            held, length = [], 0
    if held:
        yield "".join(held).encode()


def result_name(name: str) -> str:
    """The result file's name: <name>.results.csv, shortened if that is too long to create."""
    return name_fitted(name, ".results.csv")


def failure_csv(message: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["result", "message"])
    writer.writerow(["error", message])
    return out.getvalue().encode()


def update_answer(*, supplier: Supplier, name: str, content: bytes) -> UpdateAnswer:
    """Apply one complete update file; the result to write and where the file goes.

    Raises UpdateFileBeingApplied while another applier holds the same bytes: the caller
    leaves the file where it is, and a later try answers it once that apply is finished."""
    try:
        update_file, lines = update_file_receive_and_apply_lines(
            supplier=supplier, name=name, content=content, source=UpdateFileSource.SFTP
        )
    except UpdateFileError as exc:
        logger.info("update file %r of %s not readable: %s", name, supplier.slug, exc)
        return UpdateAnswer(applied=False, result=[failure_csv(f"The file was not read: {exc}")])
    logger.info(
        "update file %s of %s: %d applied, %d unchanged, %d errors",
        name,
        supplier.slug,
        update_file.applied_count,
        update_file.unchanged_count,
        update_file.error_count,
    )
    return UpdateAnswer(applied=True, result=_chunks(lines))


def update_answer_too_large(*, supplier: Supplier, name: str, size: int) -> UpdateAnswer | None:
    """The refusal of a file past MAX_FILE_BYTES, from its size alone (None if it fits).

    Asked before the file is read: reading a file to learn that it is too big would hold
    all of it in memory (a supplier can drop gigabytes). The answer is the one
    `update_answer` gives a too-large file: failed/, with a result naming the limit.
    """
    if size <= MAX_FILE_BYTES:
        return None
    logger.info(
        "update file %s of %s not read (%d bytes): %s", name, supplier.slug, size, TOO_LARGE
    )
    return UpdateAnswer(applied=False, result=[failure_csv(f"The file was not read: {TOO_LARGE}")])


class NamesIn:
    """The names in a folder, asked one at a time (`name in NamesIn(exists)`): processed/
    keeps every file ever taken, so listing it for each file cost every apply more with each
    file a supplier ever sent, and held all their names at once (found in review)."""

    def __init__(self, exists: Callable[[str], bool]) -> None:
        self._exists = exists

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._exists(name)


def free_name(existing: Container[str], name: str) -> str:
    """`name`, or a dated variant when the folder has one already (nothing is overwritten)."""
    if name not in existing:
        return name
    stem, dot, ext = name.rpartition(".")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    return name_fitted(stem, f".{stamp}.{ext}") if dot else name_fitted(name, f".{stamp}")


def update_queue(slug: str, name: str) -> None:
    """The hosted server's upload-closed hook (run off the event loop): queue the apply as a
    task; when the broker cannot take it, apply it here, so a file never waits on a message
    that was never sent."""
    from ..queue import task_publish

    if not task_publish("delivery.hosted_update_apply", args=[slug, name]):
        hosted_update_apply(slug=slug, name=name)


def hosted_updates_left_requeue(*, older_than: float) -> list[tuple[str, str]]:
    """Queue again the hosted update files still in updates/ whose upload closed (the server
    marked it, storage.upload_closed_mark) at least `older_than` seconds ago but whose apply
    never ran: its task was lost when the broker restarted empty, or failed while the database
    was down (found by bench/chaos.py). Every supplier's, whether its hosted drop is on, off
    or never set: a supplier with credentials may upload updates either way. Run by the
    sweep. A partial upload has no mark and stays unapplied; the mark is touched, so a file
    whose task is only slow is queued again no sooner than `older_than` from now; the lock in
    `hosted_update_apply` keeps two tasks from applying one file at the same time, and the
    first moves it, so the second finds nothing."""
    left = uploads_closed_everyone(older_than=older_than)
    for slug, name in left:
        try:
            upload_closed_touch(slug, name)
        except FileNotFoundError:
            continue  # applied and cleared meanwhile
        update_queue(slug, name)
    if left:
        logger.info("hosted update files left behind, queued again: %s", left)
    return left


@contextmanager
def _apply_lock(slug: str, name: str):
    """One applier per hosted file at a time (True if this caller got it). PostgreSQL: a
    session advisory lock, freed if the process dies; SQLite (one embedded worker): none."""
    if connection.vendor != "postgresql":
        yield True
        return
    # A name may hold the bytes of another encoding (surrogate escapes): os.fsencode's way.
    digest = hashlib.sha256(os.fsencode(f"hosted-update:{slug}/{name}")).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def hosted_update_apply(*, slug: str, name: str) -> str | None:
    """Apply updates/<name> of the hosted supplier `slug`; the folder it went to, or None
    (not an update file, no such supplier, already moved, or being applied right now)."""
    if not is_update_name(name):
        return None
    with _apply_lock(slug, name) as got:
        if not got:
            return None
        return _hosted_update_apply(slug=slug, name=name)


def _hosted_update_apply(*, slug: str, name: str) -> str | None:
    supplier = Supplier.objects.filter(slug=slug).first()
    if supplier is None:
        return None
    folder = supplier_folder(slug) / "updates"
    path = folder / name
    try:
        read = path.stat()
        # The size first, and never more read than one byte past the limit: a file that
        # grew after the stat is still refused by update_answer, not held whole in memory.
        answer = update_answer_too_large(supplier=supplier, name=name, size=read.st_size)
        if answer is None:
            with path.open("rb") as upload:
                # Its size first: read(n) sets n bytes aside before it reads (found in
                # review: 20 MB for every file, whatever its size).
                content = upload.read(read.st_size + 1)
                if len(content) > read.st_size:  # grown since: on, to one byte past the limit
                    content += upload.read(MAX_FILE_BYTES + 1 - len(content))
                # What was read is the file statted only if it is so still, read and all: a
                # new upload begun over it meanwhile (truncating it) had its first part
                # applied as the upload closed (found in review).
                after = os.fstat(upload.fileno())
            if file_identity(after) != file_identity(read):
                logger.info("update file %r of %s: rewritten while read; left", name, slug)
                return None
    except FileNotFoundError:
        upload_closed_clear(slug, name)
        return None  # already moved by an earlier try
    if not upload_closed_is(slug, name, read):
        # Not the upload its client closed: replaced since, by one still being written or
        # cut off (its own close, if it comes, marks it again). Never applied as it is.
        logger.info("update file %r of %s: not the upload closed; left", name, slug)
        upload_closed_clear(slug, name)
        return None
    if answer is None:
        try:
            answer = update_answer(supplier=supplier, name=name, content=content)
        except UpdateFileBeingApplied:
            # Left as it is, its mark kept: the sweep asks again once that apply is done.
            logger.info("update file %r of %s: being applied elsewhere; left", name, slug)
            return None
    file_write_atomic(folder / "results", result_name(name), answer.result)
    if not _same_upload(path, read):
        # Uploaded again under the same name while this one was applied: the new bytes are
        # its own task's to apply, move and answer (its mark stays).
        return None
    target = folder / answer.folder
    try:
        names = NamesIn(lambda taken: os.path.lexists(target / taken))
        os.replace(path, target / free_name(names, name))
    except FileNotFoundError:
        return None  # a concurrent try of the same upload moved it first
    finally:
        upload_closed_clear(slug, name)
    return answer.folder


def _same_upload(path, read: os.stat_result) -> bool:
    """Whether `path` still holds the upload that was read (found in review: a second
    upload under the same name during the apply was moved to processed/ unread, its mark
    cleared, and never applied)."""
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    return file_identity(now) == file_identity(read)
