"""The hosted storage: one folder (HOSTED_SFTP_ROOT) that the SFTP server and every worker share.

Each supplier has ROOT/<slug>/ with orders/ (we write, it reads) and updates/ (it writes, we
read: processed/, results/, failed/ are ours). Nothing here goes over the network.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

FOLDERS = ("orders", "updates", "updates/processed", "updates/results", "updates/failed")
# The longest name of one file, in bytes: ext4's and xfs's, and so what OpenSSH's sftp-server
# can create on them.
NAME_MAX = 255


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


class NotAFileName(ValueError):
    """A name this storage refuses to write; the message says why, for the delivery's log."""


def file_name_refusal(name: str) -> str:
    """Why `name` may not be written as an order file ("" if it may).

    A leading dot hides the file from a supplier's client (and is our temporary files' mark,
    which a supplier is told to ignore); a / would make it a path, and no file system takes a
    NUL. The channel checks each file with this before any is written, so one bad name fails
    its own delivery and never the run.
    """
    if not name or "/" in name or "\0" in name:
        return f"{name!r} is not a file name (empty, or holds / or NUL)"
    if name.startswith("."):
        return f"the file name {name!r} starts with a dot, which would hide the file"
    return ""


def name_fitted(name: str, tail: str = "", *, limit: int = NAME_MAX) -> str:
    """`name` + `tail`, when that is at most `limit` bytes (UTF-8); else the start of `name`
    that leaves room, "~", eight hex digits of the SHA-256 of all of `name`, and `tail`.

    The names we derive from a supplier's (its update file's result, its temporary twin, a
    dated variant) add to a name that may already be near the limit: written as they are,
    the file system refused them after the update had been applied (found in review).
    Two long names that differ only past the cut still get different names.
    """
    whole = (name + tail).encode("utf-8", "surrogateescape")
    if len(whole) <= limit:
        return name + tail
    raw = name.encode("utf-8", "surrogateescape")
    digest = "~" + hashlib.sha256(raw).hexdigest()[:8]
    room = limit - len((digest + tail).encode("utf-8", "surrogateescape"))
    return raw[: max(0, room)].decode("utf-8", "ignore") + digest + tail


def file_write_atomic(directory: Path, name: str, data: bytes | Iterable[bytes]) -> Path:
    """Write `name` into `directory` under a temporary dot name, then rename it in place.
    `data`: the bytes, or chunks of them (written as they come).

    A reader (the SFTP server, a supplier's client) sees either no file or the whole file:
    os.replace is atomic within one file system, which the temporary file shares. A name
    `file_name_refusal` refuses raises NotAFileName, and nothing is written.
    """
    refusal = file_name_refusal(name)
    if refusal:
        raise NotAFileName(refusal)
    # ".<name>." + mkstemp's 8 characters + ".part": within NAME_MAX however long `name` is.
    prefix = "." + name_fitted(name, ".", limit=NAME_MAX - 14)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in [data] if isinstance(data, bytes | bytearray) else data:
                out.write(chunk)
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


# Update files whose upload the client closed, until they are applied: ROOT/.closed/<slug>/<name>
# (outside every supplier's folder, so no supplier sees or writes them). A file left in
# updates/ with no mark is a partial upload (connection lost) and is never applied. The mark
# holds the closed upload's identity (inode, size, mtime): a file replaced since, by an upload
# cut off half-way say, is not the one the client closed and is not applied either (found in
# review: a partial upload over a file being applied kept the first one's mark, and the
# sweep applied its truncated rows).
CLOSED_MARKS = ".closed"


def file_identity(stat: os.stat_result) -> str:
    """What tells one upload from another under the same name: inode, size, mtime."""
    return f"{stat.st_ino} {stat.st_size} {stat.st_mtime_ns}"


def upload_closed_mark(slug: str, name: str, *, identity: str | None = None) -> None:
    """Mark updates/<name> as closed by its client: as `identity` says (the server's, taken
    at the close), or as it is now."""
    folder = hosted_root() / CLOSED_MARKS / supplier_folder(slug, create=False).name
    folder.mkdir(parents=True, exist_ok=True)
    if identity is None:
        try:
            path = supplier_folder(slug, create=False) / "updates" / name
            identity = file_identity(path.stat())
        except FileNotFoundError:
            identity = ""
    (folder / name).write_text(identity)


def upload_closed_touch(slug: str, name: str) -> None:
    """Date the mark now (the sweep's "queued again"), keeping the identity it holds."""
    os.utime(hosted_root() / CLOSED_MARKS / slug / name)


def upload_closed_is(slug: str, name: str, stat: os.stat_result) -> bool:
    """Whether the file statted is the upload its client closed: a mark holding its
    identity, or (marks made before they held one, or none at all) no identity to differ."""
    try:
        identity = (hosted_root() / CLOSED_MARKS / slug / name).read_text().strip()
    except FileNotFoundError:
        return True
    return not identity or identity == file_identity(stat)


def upload_closed_clear(slug: str, name: str) -> None:
    (hosted_root() / CLOSED_MARKS / slug / name).unlink(missing_ok=True)


def uploads_closed_everyone(*, older_than: float) -> list[tuple[str, str]]:
    """(slug, name) of every supplier's closed uploads marked at least `older_than` seconds
    ago, whatever its drop is set to: the marks' folders are the suppliers that uploaded."""
    root = hosted_root() / CLOSED_MARKS
    if not root.is_dir():
        return []
    return [
        (folder.name, name)
        for folder in sorted(root.iterdir())
        if folder.is_dir()
        for name in uploads_closed(folder.name, older_than=older_than)
    ]


def uploads_closed(slug: str, *, older_than: float) -> list[str]:
    """Names of `slug`'s closed uploads marked at least `older_than` seconds ago."""
    import time

    folder = hosted_root() / CLOSED_MARKS / supplier_folder(slug, create=False).name
    if not folder.is_dir():
        return []
    now, found = time.time(), []
    for mark in sorted(folder.iterdir()):
        try:
            if now - mark.stat().st_mtime >= older_than:
                found.append(mark.name)
        except FileNotFoundError:
            continue
    return found


# --- Leftovers ---------------------------------------------------------------------------

# The marks of a name a client uploads under before it renames the file (WinSCP's
# ".filepart", lftp's and others' ".part"/".tmp", editors' "~"): never an update file.
TEMPORARY_MARKS = (".part", ".tmp", ".filepart", "~")


def is_temporary_upload_name(name: str) -> bool:
    return any(mark in name.lower() for mark in TEMPORARY_MARKS)


def _ours_temporary(name: str) -> bool:
    """A temporary file of `file_write_atomic`'s (a dot name ending .part), which a process
    killed half-way through writing leaves."""
    return name.startswith(".") and name.endswith(".part")


def leftovers_remove(*, older_than: float) -> list[str]:
    """Remove the temporary files nobody will finish, unchanged for `older_than` seconds:
    a client's upload under a temporary name in updates/ whose connection was lost before it
    renamed the file (never applied, it held the supplier's quota), and our own temporary
    files a killed process left (in orders/ and updates/' folders). Never a file under its
    final name: an order file the supplier has not collected yet stays, whatever its name.
    Returns the paths removed, relative to the root. Run by the sweep."""
    import time

    root = hosted_root()
    if not root.is_dir():
        return []
    now, removed = time.time(), []
    for supplier in sorted(root.iterdir()):
        if supplier.name.startswith(".") or not supplier.is_dir() or supplier.is_symlink():
            continue
        for sub in FOLDERS:
            folder = supplier / sub
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                leftover = _ours_temporary(entry.name) or (
                    sub == "updates" and is_temporary_upload_name(entry.name)
                )
                if not leftover:
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                        continue
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # renamed or removed meanwhile: finished after all
                removed.append(f"{supplier.name}/{sub}/{entry.name}")
    return removed


# A deleted supplier's folder, moved aside: ROOT/.retired/<slug>.<UTC time> (no supplier's).
RETIRED = ".retired"


def supplier_folder_retire(slug: str) -> Path | None:
    """Move a deleted supplier's folder (and its closed-upload marks) out of the way, where no
    supplier sees it; return where it went (None: it had none). Its slug may be given to a new
    supplier, which would otherwise find the old one's order files, update files and results
    as its own (found in review). Kept, not removed: ops decide what becomes of it."""
    import shutil
    import time

    folder = supplier_folder(slug, create=False)
    marks = hosted_root() / CLOSED_MARKS / folder.name
    shutil.rmtree(marks, ignore_errors=True)
    if not folder.is_dir() or folder.is_symlink():
        return None
    retired = hosted_root() / RETIRED
    retired.mkdir(exist_ok=True)
    target = retired / f"{slug}.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    suffix = 0
    while target.exists():  # deleted twice in one second
        suffix += 1
        target = target.with_name(f"{target.name.split('~')[0]}~{suffix}")
    os.replace(folder, target)
    return target
