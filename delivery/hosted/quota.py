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

One serve_sftp process holds the counts; parallel sessions of one supplier share them.
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings

USAGE_REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_usage: dict[str, tuple[float, int]] = {}  # folder -> (counted at, bytes)


def quota_bytes() -> int:
    return int(settings.HOSTED_SFTP_QUOTA_MB) * 1024 * 1024


def folder_bytes(folder: str) -> int:
    """What the files under `folder` hold, in bytes (links are never followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # moved or removed meanwhile
            total += info.st_size
    return total


def usage_stale(folder: str) -> bool:
    with _lock:
        known = _usage.get(folder)
    return known is None or time.monotonic() - known[0] > USAGE_REFRESH_SECONDS


def usage_count(folder: str) -> None:
    """Count `folder` again (a walk of the disk: run it off the event loop)."""
    counted = folder_bytes(folder)
    with _lock:
        _usage[folder] = (time.monotonic(), counted)


def usage_take(folder: str, grow: int) -> bool:
    """Add `grow` bytes to `folder`'s count if that stays within the quota; False if not."""
    with _lock:
        counted_at, used = _usage.get(folder, (time.monotonic(), 0))
        if used + grow > quota_bytes():
            return False
        _usage[folder] = (counted_at, used + grow)
        return True


def usage_release(folder: str, freed: int) -> None:
    with _lock:
        if folder in _usage:
            counted_at, used = _usage[folder]
            _usage[folder] = (counted_at, max(used - freed, 0))


def quota_message() -> str:
    return (
        f"Your storage here is full (its quota is {settings.HOSTED_SFTP_QUOTA_MB} MB): "
        "remove files you have collected, then upload again."
    )
