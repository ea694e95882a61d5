"""The pipelined upload: many files' requests in flight at once over one SFTP channel.

This is the only module that uses paramiko's private methods (`_send_version`,
`_send_packet`, `_read_packet`, `_async_request`, `_read_response`, `_convert_status`,
`_adjust_cwd`, `_request`), all inside `PipelinedSFTPClient`. Why: paramiko's public
SFTPClient sends one request and waits for its reply, so a thousand files cost a few thousand
round trips (and it reads a listing's names strictly, see `listdir_attr_utf8`); its
public API pipelines only the writes within one file (and the reads of its own prefetch, which
is how it uses `_async_request` itself). It also drops the extensions a server announces, so
`posix-rename@openssh.com` could not be used only where offered. asyncssh was considered (from
its documentation, not measured): its public API has `posix_rename` and concurrent requests
(coroutines gathered on one channel), but switching means an asyncio event loop inside every
synchronous Celery worker and re-doing host-key pinning, timeouts and error mapping on a second
SSH stack, for a pipeline that already reaches OpenSSH's own `sftp -b` (bench/sftp.py). So
paramiko stays, and its internals are used here only. If a paramiko upgrade changes them, the
SFTP tests against the real sshd fail here.

Requests are pipelined across files (as OpenSSH's sftp pipelines within one): the opens of up
to PIPELINE_FILES files go out together, then their writes and closes, then their renames, so a
batch waits for about three round trips per PIPELINE_FILES files instead of three per file. A
file is renamed only after its close succeeded.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
from dataclasses import dataclass, field

import paramiko
from paramiko.message import Message
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_INIT,
    CMD_NAME,
    CMD_OPEN,
    CMD_OPENDIR,
    CMD_READDIR,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_VERSION,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    SFTPError,
    int64,
)
from paramiko.sftp_attr import SFTPAttributes

from .errors import SftpError

POSIX_RENAME = "posix-rename@openssh.com"
# Files in flight at once, and the largest SFTP write request.
PIPELINE_FILES = 64
WRITE_CHUNK = 32768


class PipelinedSFTPClient(paramiko.SFTPClient):
    """paramiko's client, keeping the extensions the server announces, plus the three
    operations the pipeline needs (send without waiting, read one reply, check a status)."""

    server_extensions: dict[str, bytes]

    def _send_version(self):
        message = Message()
        message.add_int(3)
        self._send_packet(CMD_INIT, message)
        packet_type, data = self._read_packet()
        if packet_type != CMD_VERSION:
            raise SFTPError("Incompatible sftp protocol")
        reply = Message(data)
        version = reply.get_int()
        extensions: dict[str, bytes] = {}
        with contextlib.suppress(Exception):
            while reply.get_remainder():
                name = reply.get_text()
                extensions[name] = reply.get_binary()
        self.server_extensions = extensions
        return version

    def listdir_attr_utf8(self, path: str = ".") -> list[SFTPAttributes]:
        """paramiko's listdir_attr without the names that are not UTF-8.

        paramiko decodes every name strictly: one file named in another encoding (Latin-1
        "M\xe4rz.csv" from an old client) made the whole listing raise UnicodeDecodeError,
        and no update file on that server was taken again (found in review). Such a file
        cannot be named back to the server either (paramiko sends paths as UTF-8), so it is
        left where it is, as a temporary name is.
        """
        kind, message = self._request(CMD_OPENDIR, self._adjust_cwd(path))
        if kind != CMD_HANDLE:
            raise SFTPError("Expected handle")
        handle = message.get_binary()
        found = []
        while True:
            try:
                kind, message = self._request(CMD_READDIR, handle)
            except EOFError:  # the end of the listing
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(message.get_int()):
                raw = message.get_string()
                message.get_string()  # the long name (ls -l), not used
                attributes = SFTPAttributes._from_msg(message)
                try:
                    name = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if name not in (".", ".."):
                    attributes.filename = name
                    found.append(attributes)
        self._request(CMD_CLOSE, handle)
        return found

    def request_nowait(self, replies: _Replies, command: int, *args) -> int:
        """Send a request; its reply goes to `replies` under the returned number."""
        args = [self._adjust_cwd(a) if isinstance(a, str) else a for a in args]
        if command == CMD_EXTENDED:
            args[0] = POSIX_RENAME  # the request name, not a path
        return self._async_request(replies, command, *args)

    def read_reply(self) -> None:
        self._read_response()

    def status_check(self, message: Message) -> None:
        """Raise the OSError (or EOFError) a status reply stands for; nothing if it is OK."""
        self._convert_status(message)


@dataclass(eq=False)
class _Upload:
    name: str
    data: bytes = field(repr=False)
    final: str
    temporary: str
    error: SftpError | None = None
    handle: bytes | None = None


class _Replies:
    """Collects asynchronous SFTP replies by request number (paramiko hands them to the
    object registered with the request, as it does for its own file prefetching)."""

    def __init__(self) -> None:
        self.by_number: dict[int, tuple[int, Message]] = {}

    def _async_response(self, packet_type: int, message: Message, number: int) -> None:
        self.by_number[number] = (packet_type, message)


def put_window(session, files: list[tuple[str, bytes]]) -> list[str | SftpError]:
    """Upload up to PIPELINE_FILES files into `session.directory`; per file, the final path
    or the SftpError. `session` is an SftpSession (its client and error mapping)."""
    return _Window(session, files).run()


class _Window:
    def __init__(self, session, files: list[tuple[str, bytes]]) -> None:
        self.session = session
        self.client: PipelinedSFTPClient = session.client
        self.replies = _Replies()
        directory = session.directory
        self.uploads = []
        for name, data in files:
            if "/" in name or name in ("", ".", ".."):
                error = SftpError(f"Refusing the file name {name!r}.", kind="io", retryable=False)
            else:
                error = None
            self.uploads.append(
                _Upload(
                    name=name,
                    data=data,
                    final=posixpath.join(directory, name),
                    temporary=posixpath.join(directory, f".{name}.{secrets.token_hex(6)}.part"),
                    error=error,
                )
            )

    def run(self) -> list[str | SftpError]:
        uploads = self.uploads
        final = lambda u: u.final  # noqa: E731
        try:
            # 1. Open every temporary file (write, create, truncate).
            flags = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC
            self._round(
                uploads,
                lambda u: [(CMD_OPEN, u.temporary, flags, SFTPAttributes())],
                on_reply=self._take_handle,
            )
            # 2. Write each in chunks, then close it; errors come back on either.
            self._round(
                [u for u in uploads if u.handle is not None],
                lambda u: (
                    [
                        (CMD_WRITE, u.handle, int64(offset), u.data[offset : offset + WRITE_CHUNK])
                        for offset in range(0, len(u.data), WRITE_CHUNK)
                    ]
                    + [(CMD_CLOSE, u.handle)]
                ),
                what=final,
            )
            # 3. Rename into place: one atomic step, or remove then rename.
            if self.session.use_posix_rename:
                self._round(
                    uploads,
                    lambda u: [(CMD_EXTENDED, POSIX_RENAME, u.temporary, u.final)],
                    what=final,
                )
            else:
                # Not atomic: a crash in between leaves no file under the final name (and
                # the retry writes it again); never a partial one.
                self._round(uploads, lambda u: [(CMD_REMOVE, u.final)], what=final, missing_ok=True)
                self._round(uploads, lambda u: [(CMD_RENAME, u.temporary, u.final)], what=final)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            lost = self.session.error_for(exc, what=f"uploading to {self.session.directory}")
            # Some of these may have landed; a retry replaces them, so that is harmless.
            for upload in uploads:
                upload.error = upload.error or lost
            return [u.error or u.final for u in uploads]
        # A temporary file whose upload failed is removed; a leftover .part file (after a lost
        # connection) is never read as an order.
        leftovers = [u for u in uploads if u.error is not None and u.handle is not None]
        if leftovers and self.session.connected():
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException, SftpError):
                self._round(leftovers, lambda u: [(CMD_REMOVE, u.temporary)], cleanup=True)
        return [u.error or u.final for u in uploads]

    def _round(
        self,
        uploads: list[_Upload],
        requests,
        *,
        on_reply=None,
        what=None,
        missing_ok: bool = False,
        cleanup: bool = False,
    ) -> None:
        """Send each live upload's requests, then read until every reply is in."""
        replies = self.replies
        sent: list[tuple[_Upload, list[int]]] = []
        for upload in uploads:
            if upload.error is not None and not cleanup:
                continue
            numbers = [
                self.client.request_nowait(replies, command, *args)
                for command, *args in requests(upload)
            ]
            sent.append((upload, numbers))
        for _, numbers in sent:
            for number in numbers:
                while number not in replies.by_number:
                    self.client.read_reply()
        for upload, numbers in sent:
            for number in numbers:
                packet_type, message = replies.by_number.pop(number)
                if on_reply is not None:
                    on_reply(upload, packet_type, message)
                    continue
                try:
                    self.client.status_check(message)
                except (OSError, EOFError) as exc:
                    if missing_ok and getattr(exc, "errno", None) == errno.ENOENT:
                        continue
                    if upload.error is None and not cleanup:
                        upload.error = self.session.error_for(
                            exc, what=what(upload) if what else upload.final
                        )

    def _take_handle(self, upload: _Upload, packet_type: int, message: Message) -> None:
        if packet_type == CMD_HANDLE:
            upload.handle = message.get_binary()
            return
        try:
            self.client.status_check(message)
            raise OSError(f"unexpected reply {packet_type} to open")
        except (OSError, EOFError) as exc:
            upload.error = self.session.error_for(exc, what=upload.final)
