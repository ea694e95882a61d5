"""The hosted storage: one folder (HOSTED_SFTP_ROOT) that the SFTP server and every worker share.

Each supplier has ROOT/<slug>/ with orders/ (we write, it reads) and updates/ (it writes, we
read: processed/, results/, failed/ are ours). Nothing here goes over the network.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings

FOLDERS = ("orders", "updates", "updates/processed", "updates/results", "updates/failed")


def hosted_root() -> Path:
    return Path(settings.HOSTED_SFTP_ROOT)


def supplier_folder(slug: str, *, create: bool = True) -> Path:
    """ROOT/<slug>, with its folders. The slug is a SlugField, so it never holds / or .."""
    if not slug or "/" in slug or slug in (".", "..") or "\0" in slug:
        raise ValueError(f"not a supplier slug: {slug!r}")
    folder = hosted_root() / slug
    if create:
        for sub in FOLDERS:
            (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder


def file_write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """Write `name` into `directory` under a temporary dot name, then rename it in place.

    A reader (the SFTP server, a supplier's client) sees either no file or the whole file:
    os.replace is atomic within one file system, which the temporary file shares.
    """
    if "/" in name or name.startswith("."):
        raise ValueError(f"not a file name: {name!r}")
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return directory / name
