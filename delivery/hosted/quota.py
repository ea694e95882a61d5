"""Each supplier's share of the hosted storage: HOSTED_SFTP_QUOTA_MB for all its folder holds.

Every supplier's folder lies on one disk (HOSTED_SFTP_ROOT) with the order files of all of
them: one supplier uploading without bound would fill it, and then no order file could be
written for anyone (found in review). The server counts a supplier's folder (every file in
it: its uploads, our order files and the answered update files) when a session first opens a
file for writing, and again once the count is USAGE_REFRESH_SECONDS old (workers move and
write files too); between counts it adds what its sessions write and takes off what they
remove, truncate or replace (counted.py: request by request). A write that would take the
folder past the quota is refused (SSH_FX_QUOTA_EXCEEDED, "Failure" to an SFTP v3 client such
as OpenSSH's) with a message saying so; the partial file is deleted when the client closes it
and never applied as an update file.

It also holds at most HOSTED_SFTP_MAX_FILES entries (files and folders): the byte quota let
a client make files of no size without end, every one an inode of the disk all suppliers
share and a step of every walk of the folder (counted the same way: a new file or folder
takes one, a remove frees one).

One serve_sftp process holds the counts; parallel sessions of one supplier share them.
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings

USAGE_REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_usage: dict[str, tuple[float, int, int]] = {}  # folder -> (counted at, bytes, entries)


def quota_bytes() -> int:
    return int(settings.HOSTED_SFTP_QUOTA_MB) * 1024 * 1024


def max_entries() -> int:
    return int(settings.HOSTED_SFTP_MAX_FILES)


def folder_usage(folder: str) -> tuple[int, int]:
    """(bytes the files under `folder` hold, files and folders under it); links are never
    followed, and count as entries."""
    total = entries = 0
    for root, dirs, files in os.walk(folder):
        entries += len(dirs) + len(files)
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # moved or removed meanwhile
            total += info.st_size
    return total, entries


def folder_bytes(folder: str) -> int:
    """What the files under `folder` hold, in bytes (links are never followed)."""
    return folder_usage(folder)[0]


def usage_stale(folder: str) -> bool:
    with _lock:
        known = _usage.get(folder)
    return known is None or time.monotonic() - known[0] > USAGE_REFRESH_SECONDS


def usage_count(folder: str) -> None:
    """Count `folder` again (a walk of the disk: run it off the event loop)."""
    counted, entries = folder_usage(folder)
    with _lock:
        _usage[folder] = (time.monotonic(), counted, entries)


def usage_take(folder: str, grow: int) -> bool:
    """Add `grow` bytes to `folder`'s count if that stays within the quota; False if not."""
    with _lock:
        counted_at, used, entries = _usage.get(folder, (time.monotonic(), 0, 0))
        if used + grow > quota_bytes():
            return False
        _usage[folder] = (counted_at, used + grow, entries)
        return True


def usage_release(folder: str, freed: int) -> None:
    with _lock:
        if folder in _usage:
            counted_at, used, entries = _usage[folder]
            _usage[folder] = (counted_at, max(used - freed, 0), entries)


def entry_take(folder: str) -> bool:
    """Count one new file or folder in `folder` if that stays within the most it may hold;
    False if not."""
    with _lock:
        counted_at, used, entries = _usage.get(folder, (time.monotonic(), 0, 0))
        if entries + 1 > max_entries():
            return False
        _usage[folder] = (counted_at, used, entries + 1)
        return True


def entry_release(folder: str) -> None:
    with _lock:
        if folder in _usage:
            counted_at, used, entries = _usage[folder]
            _usage[folder] = (counted_at, used, max(entries - 1, 0))


def quota_message() -> str:
    return (
        f"Your storage here is full (its quota is {settings.HOSTED_SFTP_QUOTA_MB} MB): "
        "remove files you have collected, then upload again."
    )


def entries_message() -> str:
    return (
        f"Your storage here holds as many files and folders as it may "
        f"({settings.HOSTED_SFTP_MAX_FILES}): remove files you have collected, then upload again."
    )
