"""The hosted server's SFTP requests as the quota sees them (quota.py holds the counts).

What each request adds to a supplier's count or frees from it: a write by what it adds to
the file's size as it is now (at its end for a file opened for append, whatever offset the
client names), a new size set on a file (truncate: a sparse file's hole, filled later, took
the disk uncounted), a truncating open and a rename over a file by what they replace, a
remove by what it held. A write or size past the quota is refused (SFTPQuotaExceeded); the
file it was cut short in is removed when its client closes it (server.py). A new file or
folder takes one of the entries the folder may hold, a remove frees one; past the most, the
open or mkdir is refused before anything is made.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import posixpath
import stat

import asyncssh

from . import quota

logger = logging.getLogger(__name__)


def local_name(mapped: bytes) -> str:
    """A mapped path as the file system names it, whatever bytes the client sent: a name
    that is not UTF-8 (Latin-1 "M\xe4rz.csv") read with errors="replace" named a file that
    does not exist, and the upload was never applied nor answered (found in review)."""
    return os.fsdecode(mapped)


def _file_size(local: str) -> int:
    """The size of the regular file at `local` (not following a link); 0 for anything else."""
    try:
        info = os.lstat(local)
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


class QuotaCountedSftp(asyncssh.SFTPServer):
    """asyncssh's SFTP server, counting what its requests write into `_folder` (set by the
    subclass, with `_slug`), and `_written`, `_over_quota`: files open for writing, and
    those a write was refused in."""

    _folder: str
    _slug: str

    def _counting_start(self) -> None:
        self._written: dict[int, str] = {}  # a file open for writing: its path
        self._over_quota: set[int] = set()

    async def _counted_now(self) -> None:
        if quota.usage_stale(self._folder):
            await asyncio.get_running_loop().run_in_executor(None, quota.usage_count, self._folder)

    def _entry_taken(self, local: str) -> None:
        """One entry more for `local`, or SFTPQuotaExceeded when the folder holds its most."""
        if not quota.entry_take(self._folder):
            logger.warning(
                "hosted sftp: %s holds its most files and folders; %r was refused",
                self._slug,
                posixpath.basename(local),
            )
            raise asyncssh.SFTPQuotaExceeded(quota.entries_message())

    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):
        writing = bool(pflags & asyncssh.FXF_WRITE)
        if writing:
            await self._counted_now()
        local = local_name(self.map_path(path))
        new = bool(pflags & asyncssh.FXF_CREAT) and not os.path.lexists(local)
        if new:
            self._entry_taken(local)
        # What a truncating open cuts is freed: counted on until the next count (a
        # minute on), a file put again over itself was counted twice, and the put of
        # 0.6 MB over 0.6 MB in a 1 MB quota was refused (found in review).
        cut = _file_size(local) if writing and pflags & asyncssh.FXF_TRUNC else 0
        try:
            file_obj = super().open(path, pflags, attrs)
        except BaseException:
            if new:
                quota.entry_release(self._folder)
            raise
        if writing:
            self._written[id(file_obj)] = local
        quota.usage_release(self._folder, cut)
        return file_obj

    def write(self, file_obj, offset: int, data: bytes) -> int:
        handle = id(file_obj)
        if handle in self._written:
            # What the file grows by, from its size now (other handles may have written
            # to it too). Opened for append, every write lands at its end whatever the
            # offset named: counted from that offset, writes "at 0" grew it without
            # limit (found in review).
            fd = file_obj.fileno()
            size = os.fstat(fd).st_size
            start = size if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND else offset
            grow = max(start + len(data) - size, 0)
            if grow and not quota.usage_take(self._folder, grow):
                self._over_quota.add(handle)
                self._quota_refused(posixpath.basename(self._written.get(handle, "")))
                raise asyncssh.SFTPQuotaExceeded(quota.quota_message())
        return super().write(file_obj, offset, data)

    def _quota_refused(self, name: str) -> None:
        logger.warning(
            "hosted sftp: %s is over its quota; a write to %r was refused", self._slug, name
        )

    async def _size_taken(self, local: str, fd: int | None, attrs) -> None:
        """A new size for a file counts as written (SFTPQuotaExceeded past the quota):
        grown by a size, a file is sparse, and writes into its hole would then take the
        disk without counting (found in review). A smaller size frees what it cuts."""
        if attrs.size is None:
            return
        try:
            size = (os.fstat(fd) if fd is not None else os.stat(local)).st_size
        except OSError:
            return  # no such file: the request itself says so
        if quota.usage_stale(self._folder):
            await asyncio.get_running_loop().run_in_executor(None, quota.usage_count, self._folder)
        grow = attrs.size - size
        if grow > 0 and not quota.usage_take(self._folder, grow):
            self._quota_refused(posixpath.basename(local))
            raise asyncssh.SFTPQuotaExceeded(quota.quota_message())
        if grow < 0:
            quota.usage_release(self._folder, -grow)

    async def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        await self._size_taken(local_name(self.map_path(path)), None, attrs)
        super().setstat(path, attrs)

    async def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        await self._size_taken(local_name(self.map_path(path)), None, attrs)
        super().lsetstat(path, attrs)

    async def fsetstat(self, file_obj, attrs: asyncssh.SFTPAttrs) -> None:
        local = self._written.get(id(file_obj), "")
        await self._size_taken(local, file_obj.fileno(), attrs)
        super().fsetstat(file_obj, attrs)

    def remove(self, path: bytes) -> None:
        local = local_name(self.map_path(path))
        try:
            freed = os.lstat(local).st_size
        except OSError:
            freed = 0
        super().remove(path)
        quota.usage_release(self._folder, freed)
        quota.entry_release(self._folder)

    async def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        await self._counted_now()
        local = local_name(self.map_path(path))
        self._entry_taken(local)
        try:
            super().mkdir(path, attrs)
        except BaseException:
            quota.entry_release(self._folder)
            raise

    def rmdir(self, path: bytes) -> None:
        super().rmdir(path)
        quota.entry_release(self._folder)

    def _partial_removed(self, local: str | None) -> None:
        """A file cut short by the quota: deleted, never handed on as an update file."""
        if local is None:
            return
        try:
            freed = os.lstat(local).st_size
            os.unlink(local)
        except OSError:
            return
        quota.usage_release(self._folder, freed)
        logger.warning(
            "hosted sftp: %s's upload of %r was cut short by its quota and removed",
            self._slug,
            posixpath.basename(local),
        )

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = local_name(self.map_path(oldpath)), local_name(self.map_path(newpath))
        # The file it replaces is freed (not when both name one file).
        same = _same_file(old, new)
        replaced = 0 if same else _file_size(new)
        one_less = not same and os.path.lexists(new)
        super().posix_rename(oldpath, newpath)
        quota.usage_release(self._folder, replaced)
        if one_less:
            quota.entry_release(self._folder)
