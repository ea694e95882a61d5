"""Update files on a supplier's own SFTP server, picked up at each run (its interval).

One connection: list the configured updates directory; take each complete `.csv` (not a
dot or temporary name, a regular file the server has not changed for
SFTP_UPDATE_SETTLE_SECONDS by its own clock, whose size is the same at two stats and when
read); apply it (delivery/hosted/updates.py `update_answer`, the same as the hosted server; a file
past the size limit is refused from its listed size, without reading it); write
results/<name>.results.csv (temporary name, then rename); move the file to processed/ (or
failed/). Nothing is deleted; a name already in processed/ gets a dated variant. A file whose
answer or move the server refuses is logged and left for the next run; the files after it are
still taken. A connection that cannot be made or drops mid-way (paramiko then raises
SSHException or EOFError, not OSError) ends the collect with a logged warning, never a
traceback out of the run's task, and the run counts as failed, so it is retried at its retry
time. A file applied before the drop but not yet moved is taken again then and answered with
its first result (a file applies once per supplier, by SHA-256), never applied twice.
"""

from __future__ import annotations

import logging
import posixpath
import secrets
import stat
import time

import paramiko
from django.conf import settings

from orders.updates import UpdateFileBeingApplied

from ...hosted.server import is_update_name
from ...hosted.storage import NAME_MAX, name_fitted
from ...hosted.updates import (
    NamesIn,
    free_name,
    result_name,
    update_answer,
    update_answer_too_large,
)
from .errors import SftpError
from .session import sftp_session
from .target import sftp_target_for

logger = logging.getLogger(__name__)

MAX_FILES_PER_RUN = 50
# The longest one collect may take (a slow server is left at that, the rest for the next run):
# 50 files of up to 20 MB at about 2 MB/s.
COLLECT_SECONDS = 600.0

# What paramiko raises when a request fails, or the connection under it drops.
_SFTP_FAILURES = (OSError, EOFError, paramiko.SSHException)


def _mkdir_quiet(client, path: str) -> None:
    try:
        client.stat(path)
    except OSError:
        client.mkdir(path)


def _exists(client, path: str) -> bool:
    """Whether the server has anything at `path` (another error than "no such file" raises)."""
    try:
        client.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _rename(client, source: str, target: str) -> None:
    """posix-rename (replaces) when offered, else plain rename (target must not exist)."""
    try:
        client.posix_rename(source, target)
    except OSError:
        client.rename(source, target)


def _server_now(client, directory: str) -> float:
    """The server's clock: the modification time it gives an empty file written now (its
    files are dated by its clock, which may not be ours); ours when it lets us write none."""
    path = posixpath.join(directory, f".orders-portal-clock-{secrets.token_hex(6)}.part")
    try:
        with client.open(path, "wb") as probe:
            now = probe.stat().st_mtime
        client.remove(path)
    except OSError:
        return time.time()
    return float(now) if now is not None else time.time()


def _settled(client, directory: str, entries: list) -> list:
    """The entries the server has not changed for SFTP_UPDATE_SETTLE_SECONDS.

    A client uploading straight under the final name, slowly, leaves the size the same
    across two stats taken milliseconds apart (it is between two writes): its first rows
    were applied and its last one cut short (found in review). A file is modified with each
    write, so one whose time is recent may still be growing; the next run takes it. (A
    supplier's client that writes a temporary name and renames it is never read early.)
    """
    settle = float(settings.SFTP_UPDATE_SETTLE_SECONDS)
    if settle <= 0 or not entries:
        return entries
    now = _server_now(client, directory)
    return [e for e in entries if e.st_mtime is None or now - e.st_mtime >= settle]


def own_server_updates_collect(destination) -> dict[str, str] | None:
    """{file name: "processed" | "failed"} for the update files taken this run; None when
    the server could not be reached or the connection dropped (logged; the run failed)."""
    directory = (destination.sftp_updates_path or "").strip()
    if destination.sftp_hosted or not directory or not destination.enabled:  # hosted: on close
        return {}
    taken: dict[str, str] = {}
    try:
        target = sftp_target_for(destination)
        with sftp_session(target, seconds=COLLECT_SECONDS) as session:
            client = session.client
            try:
                entries = client.listdir_attr_utf8(directory)
            except OSError:
                if not session.transport.is_active():
                    raise  # not a missing directory: the connection went
                return {}  # no updates directory: nothing dropped
            candidates = _settled(
                client,
                directory,
                [
                    e
                    for e in entries
                    if is_update_name(e.filename) and e.st_mode and stat.S_ISREG(e.st_mode)
                ],
            )[:MAX_FILES_PER_RUN]
            for entry in candidates:
                try:
                    folder = _collect_one(client, destination, directory, entry)
                except _SFTP_FAILURES as exc:
                    if client.get_channel().closed or not session.transport.is_active():
                        raise  # the connection went: the run ends here
                    # This file's trouble (its result or move refused): the others go on.
                    logger.warning(
                        "sftp %s: update file %r not collected: %s",
                        destination,
                        entry.filename,
                        exc,
                    )
                    continue
                if folder is not None:
                    taken[entry.filename] = folder
    except (SftpError, *_SFTP_FAILURES) as exc:
        message = exc.message if isinstance(exc, SftpError) else (str(exc) or type(exc).__name__)
        logger.warning(
            "sftp %s: update files not collected (%d taken before): %s",
            destination,
            len(taken),
            message,
        )
        return None
    return taken


def _collect_one(client, destination, directory: str, entry) -> str | None:
    """Apply one listed update file, answer it and move it; the folder it went to, or None
    (still being written: the next run takes it)."""
    path = posixpath.join(directory, entry.filename)
    again = client.stat(path)
    if again.st_size != entry.st_size or again.st_mtime != entry.st_mtime:
        return None
    supplier, size = destination.supplier, again.st_size or 0
    answer = update_answer_too_large(supplier=supplier, name=entry.filename, size=size)
    if answer is None:
        # At most one byte past the size it had: one that grew since is left for the next
        # run, never read whole.
        with client.open(path, "rb") as remote:
            content = remote.read(size + 1)
        if len(content) != size:
            return None
        try:
            answer = update_answer(supplier=supplier, name=entry.filename, content=content)
        except UpdateFileBeingApplied:
            return None  # the same bytes are being applied elsewhere: the next run answers it
    for sub in ("results", answer.folder):
        _mkdir_quiet(client, posixpath.join(directory, sub))
    results_dir = posixpath.join(directory, "results")
    result = result_name(entry.filename)
    temporary = posixpath.join(results_dir, "." + name_fitted(result, ".part", limit=NAME_MAX - 1))
    with client.open(temporary, "wb") as out:
        for chunk in answer.result:  # read from the file's rows as it is written
            out.write(chunk)
    _rename(client, temporary, posixpath.join(results_dir, result))
    moved_dir = posixpath.join(directory, answer.folder)
    name = free_name(
        NamesIn(lambda taken: _exists(client, posixpath.join(moved_dir, taken))), entry.filename
    )
    client.rename(path, posixpath.join(moved_dir, name))
    return answer.folder
