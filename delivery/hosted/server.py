"""The hosted SFTP server on asyncssh: per-supplier logins, each session chrooted to its folder.

Logins: user name = supplier slug; a public key from its HostedSftpKey rows or its generated
password (Django's hasher). Failed passwords are throttled per user and address (throttle.py;
a key not on file is not counted, and only a completed login clears the count), and per
address whatever the user name (HOSTED_SFTP_ADDRESS_FAILURE_LIMIT), and logged
with the user name and address only, never the password or key. A session whose login is
withdrawn (key removed, password replaced, supplier inactive) is disconnected
(`_login_watch`). Every database read runs off the event loop (sync_to_async, in one worker
thread) and closes its connection after, so a long-running server never holds a dead one.

Files: asyncssh's SFTPServer with chroot=ROOT/<slug>: every path the client names (`..`,
absolute, `/`) is normalised inside that folder by asyncssh before it touches the disk;
symlinks and hard links cannot be created (a link is the one way a path could leave the
folder), and the storage only holds files we or the supplier wrote. Modes and owners a
client asks for (an upload's local mode, `chmod`) are not taken: a file is made as the server
makes its own, so a worker can always read and move it; times are kept. No shell, exec, port
forwarding or SCP: only the sftp subsystem.

Quota: every request that writes is counted against the supplier's share (counted.py).

Update files: a `.csv` upload into updates/ (not a dot or temporary name) that the client
closes is handed to `on_upload_closed` (the apply runs elsewhere, the session is not
blocked). So is a file the client renames to such a name in updates/ (WinSCP, by default,
uploads `x.csv.filepart` and renames it to `x.csv` when it is complete), once: a file
renamed while still open is handed on when the client closes it. A file left open when the
connection drops (a partial upload) is closed by asyncssh's cleanup, not by the client, and
is not handed on.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import posixpath
import sys
from collections.abc import Callable

import asyncssh
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection

from . import throttle
from .counted import QuotaCountedSftp, local_name
from .credentials import (
    login_key_allowed,
    login_password_allowed,
    login_proof,
    login_still_allowed,
)
from .storage import (
    file_identity,
    is_temporary_upload_name,
    supplier_folder,
    upload_closed_mark,
)

logger = logging.getLogger(__name__)

UploadClosed = Callable[[str, str], None]  # (supplier slug, file name in updates/)


def is_update_name(name: str) -> bool:
    """A complete update file's name: ends .csv, not a dot file, not a temporary name."""
    lower = name.lower()
    return (
        lower.endswith(".csv")
        and not name.startswith(".")
        and "/" not in name
        and not is_temporary_upload_name(name)
    )


def _db(func):
    """Run a database read in the worker thread, and close its connection after.

    Logins are rare next to the requests of a session, so a fresh connection each time
    costs little, and the server never holds a connection that went stale (or one that
    keeps a database from being dropped or migrated) between logins.
    """

    def call(*args):
        close_old_connections()
        try:
            return func(*args)
        finally:
            connection.close()

    return sync_to_async(call, thread_sensitive=True)


_key_allowed = _db(login_key_allowed)
_password_allowed = _db(login_password_allowed)
_locked = _db(throttle.login_locked)
_address_locked = _db(throttle.login_address_locked)
_failed = _db(throttle.login_failed)
_succeeded = _db(throttle.login_succeeded)
_proof = _db(login_proof)
_still_allowed = _db(login_still_allowed)


class _Server(asyncssh.SSHServer):
    """One connection's authentication."""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self._address = str(peer[0])

    def begin_auth(self, username: str) -> bool:
        self._method = ""
        self._key: tuple[str, str] | None = None
        self._watch: asyncio.Task | None = None
        return True  # every user must authenticate

    def connection_lost(self, exc: Exception | None) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.cancel()

    async def auth_completed(self) -> None:
        """A login done: only now are the failures cleared.

        A public key is found allowed before its signature is checked, and asked about with
        no signature at all: anyone holding a supplier's public key (it is public) would
        otherwise clear the count between guesses of its password (found in review).
        """
        username = self._conn.get_extra_info("username")
        await _succeeded(username, self._address)
        logger.info("hosted sftp: %r logged in from %s (%s)", username, self._address, self._method)
        proof = await _proof(username, self._method, self._key)
        self._watch = asyncio.get_running_loop().create_task(self._login_watch(username, proof))

    async def _login_watch(self, username: str, proof) -> None:
        """End the session once its login is withdrawn: the key removed, the password
        replaced, the supplier made inactive. Before, a session opened with a leaked key or
        password went on for as long as it stayed connected, whatever the supplier did in
        the portal (found in review). Checked every HOSTED_SFTP_LOGIN_RECHECK_SECONDS; a
        check that cannot reach the database ends nothing."""
        while True:
            await asyncio.sleep(float(settings.HOSTED_SFTP_LOGIN_RECHECK_SECONDS))
            try:
                allowed = await _still_allowed(username, self._method, proof)
            except Exception:  # noqa: BLE001 - a database outage must not cut every session
                logger.warning("hosted sftp: %r's login could not be checked again", username)
                continue
            if not allowed:
                logger.warning(
                    "hosted sftp: %r from %s disconnected: its %s login was withdrawn",
                    username,
                    self._address,
                    self._method,
                )
                self._conn.disconnect(
                    asyncssh.DISC_BY_APPLICATION, "Your login here was withdrawn."
                )
                return

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def _check(self, username: str, method: str, check, *, counted: bool = True) -> bool:
        if await _locked(username, self._address):
            logger.warning(
                "hosted sftp: %s login for %r from %s refused: too many failures",
                method,
                username,
                self._address,
            )
            return False
        ok = await check()
        if ok:
            self._method = method  # the login is counted as one in auth_completed
        elif not counted:
            logger.info(
                "hosted sftp: %s for %r from %s is not on file", method, username, self._address
            )
        else:
            failures = await _failed(username, self._address)
            logger.warning(
                "hosted sftp: %s login for %r from %s failed (%d in the window)",
                method,
                username,
                self._address,
                failures,
            )
        return ok

    async def validate_password(self, username: str, password: str) -> bool:
        if await _address_locked(self._address):
            # Before any hash: every user name's passwords from here, known or made up.
            logger.warning(
                "hosted sftp: password login for %r from %s refused: too many failed "
                "passwords from this address",
                username,
                self._address,
            )
            return False
        return await self._check(
            username, "password", lambda: _password_allowed(username, password)
        )

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        key_type, key_base64 = key.export_public_key("openssh").decode().split()[:2]
        self._key = (key_type, key_base64)
        # A key not on file is no guess to count: a client offers each key it holds in turn
        # (an agent's, every -i), and a supplier with AXES_FAILURE_LIMIT others ahead of its
        # own was locked out (found in review). Keys cannot be guessed; passwords are counted.
        return await self._check(
            username,
            "publickey",
            lambda: _key_allowed(username, key_type, key_base64),
            counted=False,
        )


def _queue(on_upload_closed: UploadClosed, slug: str, name: str, identity: str) -> None:
    try:
        # Marked first: should the apply never run (task lost), a later SFTP run finds the
        # mark and applies the file (delivery/hosted/updates.py hosted_updates_left_apply).
        upload_closed_mark(slug, name, identity=identity)
        on_upload_closed(slug, name)
    except Exception:
        logger.exception("hosted sftp: could not queue updates/%r of %s", name, slug)
    finally:
        connection.close()


def _without_modes(attrs: asyncssh.SFTPAttrs) -> asyncssh.SFTPAttrs:
    """`attrs` without the permissions and owners a client asked for."""
    kept = copy.copy(attrs)
    kept.permissions = kept.uid = kept.gid = kept.owner = kept.group = None
    return kept


def _sftp_factory(on_upload_closed: UploadClosed):
    class SupplierSftp(QuotaCountedSftp):
        """One session, chrooted to the supplier's folder; links refused."""

        def __init__(self, chan: asyncssh.SSHServerChannel):
            self._slug = chan.get_extra_info("username")
            # Resolved as asyncssh resolves its chroot (realpath), so the paths map_path gives
            # compare with it: a relative HOSTED_SFTP_ROOT, or one behind a symlink, would
            # otherwise never match and no upload would be handed on.
            folder = os.path.realpath(supplier_folder(self._slug))
            super().__init__(chan, chroot=folder.encode())
            self._folder = folder
            self._updates = posixpath.join(folder, "updates")
            self._counting_start()

        def close(self, file_obj) -> None:
            handle = id(file_obj)
            local = self._written.pop(handle, None)
            super().close(file_obj)
            if handle in self._over_quota:
                self._over_quota.discard(handle)
                self._partial_removed(local)
                return
            # The handler's _cleanup closes what a dropped connection left open; only the
            # client's own close (_process_close) means the upload is complete.
            by_client = sys._getframe(1).f_code.co_name == "_process_close"
            if local is None:
                return
            name = self._update_name(local)
            if name is None:
                return
            if not by_client:
                logger.warning(
                    "hosted sftp: %s's upload of updates/%s was not closed (connection lost); "
                    "it is not applied",
                    self._slug,
                    name,
                )
                return
            logger.info("hosted sftp: %s uploaded updates/%r", self._slug, name)
            self._hand_on(name)

        def rename(self, oldpath: bytes, newpath: bytes) -> None:
            super().rename(oldpath, newpath)  # never over a file: refused if newpath exists
            self._renamed(oldpath, newpath)

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
            super().posix_rename(oldpath, newpath)  # the file it replaces is freed
            self._renamed(oldpath, newpath)

        def _renamed(self, oldpath: bytes, newpath: bytes) -> None:
            """After a rename that succeeded: a complete update file's name is an upload done.

            A file this session still has open for writing is not done yet: its handle now
            names the new path, and the client's close hands it on (once, not here as well).
            """
            old = local_name(self.map_path(oldpath))
            new = local_name(self.map_path(newpath))
            still_open = [handle for handle, local in self._written.items() if local == old]
            for handle in still_open:
                self._written[handle] = new
            name = self._update_name(new)
            if name is None or still_open or not os.path.isfile(new):
                return  # not an update file, not complete yet, or a folder given that name
            logger.info("hosted sftp: %s renamed an upload to updates/%r", self._slug, name)
            self._hand_on(name)

        def _update_name(self, local: str) -> str | None:
            """The name in updates/ if `local` (a mapped path) is a complete update file."""
            directory, name = posixpath.split(local)
            if directory != self._updates or not is_update_name(name):
                return None
            return name

        def _hand_on(self, name: str) -> None:
            # The upload's identity now, before the session's next request: taken by the
            # queueing thread, it was that of whatever the client had begun writing under the
            # same name meanwhile, and that part was applied as the upload closed (found in
            # review). Queueing talks to the broker: off the event loop, so no session waits.
            try:
                identity = file_identity(os.stat(posixpath.join(self._updates, name)))
            except OSError:
                return  # gone already (removed or renamed by the client): nothing to apply
            asyncio.get_running_loop().run_in_executor(
                None, _queue, on_upload_closed, self._slug, name, identity
            )

        # Modes and owners are the server's: OpenSSH's sftp creates each upload with the
        # local file's mode, and a write-only one could not be read by our workers, nor a
        # folder chmod-ed 000 written (found in review). Times are the client's to keep.

        async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):
            return await super().open(path, pflags, _without_modes(attrs))

        async def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
            await super().mkdir(path, _without_modes(attrs))

        async def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
            await super().setstat(path, _without_modes(attrs))

        async def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
            await super().lsetstat(path, _without_modes(attrs))

        async def fsetstat(self, file_obj, attrs: asyncssh.SFTPAttrs) -> None:
            await super().fsetstat(file_obj, _without_modes(attrs))

        def symlink(self, oldpath: bytes, newpath: bytes) -> None:
            raise asyncssh.SFTPPermissionDenied("Links cannot be created here.")

        def link(self, oldpath: bytes, newpath: bytes) -> None:
            raise asyncssh.SFTPPermissionDenied("Links cannot be created here.")

    return SupplierSftp


async def server_start(
    *,
    host: str,
    port: int,
    host_key: asyncssh.SSHKey,
    on_upload_closed: UploadClosed,
) -> asyncssh.SSHAcceptor:
    """Listen on host:port; return the acceptor (`.close()`, `.sockets` for the bound port)."""
    return await asyncssh.create_server(
        _Server,
        host,
        port,
        server_host_keys=[host_key],
        sftp_factory=_sftp_factory(on_upload_closed),
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
        login_timeout=60,
    )


def run_forever(*, host: str, port: int, host_key, on_upload_closed: UploadClosed, ready=None):
    """Serve until interrupted (the command's body); `ready(port)` once listening."""

    async def main() -> None:
        acceptor = await server_start(
            host=host, port=port, host_key=host_key, on_upload_closed=on_upload_closed
        )
        bound = acceptor.sockets[0].getsockname()[1]
        if ready:
            ready(bound)
        try:
            await asyncio.Event().wait()
        finally:
            acceptor.close()
            await acceptor.wait_closed()

    asyncio.run(main())
