"""SFTP plumbing shared by the SFTP channel and the portal's settings page.

One connection (`sftp_session`) per run: TCP connect with a bounded timeout, SSH handshake,
then the server's host key is compared with the pinned one BEFORE any authentication, so a
server with the wrong key never sees a password, a key signature or a byte of an order. Keys are
never learned or auto-accepted: `sftp_fetch_host_key` only shows a key (and its SHA-256
fingerprint) for a person to confirm and pin.

Files are written under a temporary name in the target directory, then renamed into place
(`posix-rename@openssh.com`, an atomic replace, when the server offers it; otherwise remove then
rename), so a reader never sees a partial file under its final name and a retry simply
replaces the file. Requests are pipelined across files (see `SftpSession.put_many`), so a
run of a thousand files costs a few dozen round trips, not thousands.

Retryable or not: every failure to connect, verify, log in or write is reported as retryable.
A host-key mismatch or refused credentials are configuration problems that a person fixes
(pin the new key, correct the password) after which the very same deliveries must go out:
retrying is safe, because nothing is sent before the key matches, and it keeps the files
pending (with the reason as `last_error`) instead of dropping them; the delivery engine's retry
schedule still ends in `failed` plus a notice to the supplier if nobody acts. Only faults no
retry can cure (an unknown file format, a delivery without an order) are not retryable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import io
import logging
import posixpath
import secrets
import socket
import stat as stat_module
from collections.abc import Iterator
from dataclasses import dataclass, field

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from paramiko.message import Message
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_INIT,
    CMD_OPEN,
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

logger = logging.getLogger(__name__)

# Seconds. Module constants (not settings) because no supplier needs other values; tests may
# patch them.
CONNECT_TIMEOUT = 15.0
IO_TIMEOUT = 30.0

POSIX_RENAME = "posix-rename@openssh.com"
# Files in flight at once in `SftpSession.put_many`, and the largest SFTP write request.
PIPELINE_FILES = 64
WRITE_CHUNK = 32768

# The SSH host-key algorithms that verify each pinned key type (paramiko no longer offers
# SHA-1 "ssh-rsa" signatures; an "ssh-rsa" key is verified with rsa-sha2-*).
_KEY_ALGORITHMS = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
    "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
}


class SftpError(Exception):
    """A connection or transfer problem, with a message fit for ops and the supplier.

    kind: config, connect, host_key, auth, directory, io, connection_lost.
    """

    def __init__(self, message: str, *, kind: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable


# --- Keys --------------------------------------------------------------------------------


def sha256_fingerprint(key_blob: bytes) -> str:
    """The fingerprint as OpenSSH prints it: SHA256:<unpadded base64>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")


def sftp_host_key_parse(line: str) -> tuple[str, bytes]:
    """Parse a pinned key "TYPE BASE64" (a known_hosts line's key part); return type and blob."""
    parts = (line or "").split()
    # Accept a whole known_hosts line ("host TYPE BASE64 [comment]") too.
    if len(parts) >= 3 and parts[0] not in _KEY_ALGORITHMS and parts[1] in _KEY_ALGORITHMS:
        parts = parts[1:]
    if len(parts) < 2:
        raise SftpError('The pinned host key must look like "ssh-ed25519 AAAA...".', kind="config")
    key_type, b64 = parts[0], parts[1]
    if key_type not in _KEY_ALGORITHMS:
        raise SftpError(
            f"Unsupported host key type {key_type!r}; use one of {', '.join(_KEY_ALGORITHMS)}.",
            kind="config",
        )
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise SftpError("The pinned host key is not valid base64.", kind="config")
    try:
        embedded_type = Message(blob).get_text()
    except Exception:  # noqa: BLE001 - any parse failure means a malformed key blob
        embedded_type = ""
    if embedded_type != key_type:
        raise SftpError(
            f"The pinned host key says {key_type!r} but its data is not a {key_type} key.",
            kind="config",
        )
    return key_type, blob


def sftp_private_key_load(text: str) -> paramiko.PKey:
    """Parse an unencrypted OpenSSH or PEM private key (RSA, Ed25519 or ECDSA)."""
    data = (text or "").strip().encode() + b"\n"
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=None)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SftpError(
            "The private key is protected by a passphrase; store it without one "
            "(it is encrypted at rest here).",
            kind="config",
        )
    except (ValueError, paramiko.SSHException) as exc:
        raise SftpError(f"The private key cannot be read: {exc}", kind="config")
    if isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    elif isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        raise SftpError("Unsupported private key type; use RSA, Ed25519 or ECDSA.", kind="config")
    try:
        return key_class.from_private_key(io.StringIO(data.decode()))
    except (paramiko.SSHException, ValueError) as exc:
        raise SftpError(f"The private key cannot be read: {exc}", kind="config")


# --- Where a destination's files go ------------------------------------------------------


@dataclass(frozen=True)
class SftpTarget:
    host: str
    port: int
    username: str
    host_key: str
    directory: str
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    create_directory: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def sftp_target_for(destination) -> SftpTarget:
    """Connection parameters of a destination: its own server, or ours when hosted."""
    if destination.sftp_hosted:
        hosted = settings.HOSTED_SFTP
        if not hosted.get("HOST") or not hosted.get("HOST_KEY") or not hosted.get("USERNAME"):
            raise SftpError(
                "Hosted SFTP is not configured (HOSTED_SFTP_HOST, HOSTED_SFTP_USERNAME, "
                "HOSTED_SFTP_HOST_KEY).",
                kind="config",
            )
        private_key = ""
        if hosted.get("KEY_FILE"):
            try:
                with open(hosted["KEY_FILE"]) as key_file:
                    private_key = key_file.read()
            except OSError as exc:
                raise SftpError(f"Cannot read HOSTED_SFTP_KEY_FILE: {exc.strerror}", kind="config")
        root = hosted.get("ROOT") or "/"
        return SftpTarget(
            host=hosted["HOST"],
            port=int(hosted.get("PORT") or 22),
            username=hosted["USERNAME"],
            password=hosted.get("PASSWORD", ""),
            private_key=private_key,
            host_key=hosted["HOST_KEY"],
            directory=posixpath.join(root, destination.supplier.slug),
            create_directory=True,
        )
    if not destination.sftp_host or not destination.sftp_username:
        raise SftpError("The SFTP host and username are not set.", kind="config")
    return SftpTarget(
        host=destination.sftp_host,
        port=destination.sftp_port or 22,
        username=destination.sftp_username,
        password=destination.sftp_password or "",
        private_key=destination.sftp_private_key or "",
        host_key=destination.sftp_host_key,
        directory=destination.sftp_path or ".",
    )


# --- The connection ----------------------------------------------------------------------


class _SFTPClient(paramiko.SFTPClient):
    """paramiko's client, also keeping the extensions the server announces (paramiko drops
    them), so posix-rename is used only where offered."""

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


class SftpSession:
    """One authenticated SFTP connection and the directory files go to."""

    def __init__(self, *, target: SftpTarget, transport: paramiko.Transport, client) -> None:
        self.target = target
        self.transport = transport
        self.client = client
        self.directory = target.directory
        self.use_posix_rename = POSIX_RENAME in getattr(client, "server_extensions", {})
        self.lost = False

    def connected(self) -> bool:
        """False once the transport closed or a request timed out (a silent server is not
        asked again: each further request would only wait out its own timeout)."""
        return not self.lost and self.transport.is_active()

    def prepare_directory(self) -> None:
        """Check the directory exists (hosted: create it), or raise SftpError."""
        try:
            attributes = self.client.stat(self.directory)
        except OSError as exc:
            if exc.errno == errno.ENOENT and self.target.create_directory:
                self._mkdir(self.directory)
                return
            self._raise(exc, what=f"directory {self.directory}")
        if not stat_module.S_ISDIR(attributes.st_mode or 0):
            raise SftpError(f"{self.directory} on the server is not a directory.", kind="directory")

    def _mkdir(self, path: str) -> None:
        parent = posixpath.dirname(path.rstrip("/"))
        if parent and parent not in ("/", "."):
            try:
                self.client.stat(parent)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    self._raise(exc, what=f"directory {parent}")
                self._mkdir(parent)
        try:
            self.client.mkdir(path)
        except OSError as exc:
            # Another worker may have made it in between.
            try:
                if stat_module.S_ISDIR(self.client.stat(path).st_mode or 0):
                    return
            except OSError:
                pass
            self._raise(exc, what=f"creating directory {path}")

    def put(self, *, name: str, data: bytes) -> str:
        """Write `data` to `<directory>/<name>` via a temporary name; return the final path."""
        [result] = self.put_many([(name, data)])
        if isinstance(result, SftpError):
            raise result
        return result

    def put_many(self, files: list[tuple[str, bytes]]) -> list[str | SftpError]:
        """Upload files (name, data), each via a temporary name then a rename; per file, the
        final path or the SftpError. After a lost connection the rest are errors too.

        Requests are pipelined across files (as OpenSSH's sftp pipelines within one): the
        opens of up to PIPELINE_FILES files go out together, then their writes and closes,
        then their renames, so a batch waits for about three round trips per PIPELINE_FILES
        files instead of three per file. A file is renamed only after its close succeeded.
        """
        results: list[str | SftpError] = []
        for start in range(0, len(files), PIPELINE_FILES):
            window = files[start : start + PIPELINE_FILES]
            if not self.connected():
                lost = SftpError(
                    f"Connection to {self.target.address} lost before this file.",
                    kind="connection_lost",
                )
                results.extend(lost for _ in window)
                continue
            results.extend(self._put_window(window))
        return results

    def _put_window(self, files: list[tuple[str, bytes]]) -> list[str | SftpError]:
        uploads = []
        for name, data in files:
            if "/" in name or name in ("", ".", ".."):
                error = SftpError(f"Refusing the file name {name!r}.", kind="io", retryable=False)
            else:
                error = None
            uploads.append(
                _Upload(
                    name=name,
                    data=data,
                    final=posixpath.join(self.directory, name),
                    temporary=posixpath.join(
                        self.directory, f".{name}.{secrets.token_hex(6)}.part"
                    ),
                    error=error,
                )
            )
        replies = _Replies()
        try:
            # 1. Open every temporary file (write, create, truncate).
            self._round(
                replies,
                uploads,
                lambda u: [
                    (
                        CMD_OPEN,
                        u.temporary,
                        SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC,
                        SFTPAttributes(),
                    )
                ],
                on_reply=self._take_handle,
            )
            # 2. Write each in chunks, then close it; errors come back on either.
            self._round(
                replies,
                [u for u in uploads if u.handle is not None],
                lambda u: (
                    [
                        (CMD_WRITE, u.handle, int64(offset), u.data[offset : offset + WRITE_CHUNK])
                        for offset in range(0, len(u.data), WRITE_CHUNK)
                    ]
                    + [(CMD_CLOSE, u.handle)]
                ),
                what=lambda u: u.final,
            )
            # 3. Rename into place: one atomic step, or remove then rename.
            if self.use_posix_rename:
                self._round(
                    replies,
                    uploads,
                    lambda u: [(CMD_EXTENDED, POSIX_RENAME, u.temporary, u.final)],
                    what=lambda u: u.final,
                )
            else:
                # Not atomic: a crash in between leaves no file under the final name (and
                # the retry writes it again); never a partial one.
                self._round(
                    replies,
                    uploads,
                    lambda u: [(CMD_REMOVE, u.final)],
                    what=lambda u: u.final,
                    missing_ok=True,
                )
                self._round(
                    replies,
                    uploads,
                    lambda u: [(CMD_RENAME, u.temporary, u.final)],
                    what=lambda u: u.final,
                )
        except (OSError, EOFError, paramiko.SSHException) as exc:
            try:
                self._raise(exc, what=f"uploading to {self.directory}")
            except SftpError as lost:
                # Some of these may have landed; a retry replaces them, so that is harmless.
                for upload in uploads:
                    upload.error = upload.error or lost
                return [u.error or u.final for u in uploads]
        # A temporary file whose upload failed is removed; a leftover .part file (after a lost
        # connection) is never read as an order.
        leftovers = [u for u in uploads if u.error is not None and u.handle is not None]
        if leftovers and self.connected():
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException, SftpError):
                self._round(
                    replies,
                    leftovers,
                    lambda u: [(CMD_REMOVE, u.temporary)],
                    cleanup=True,
                )
        return [u.error or u.final for u in uploads]

    def _round(
        self,
        replies: _Replies,
        uploads: list[_Upload],
        requests,
        *,
        on_reply=None,
        what=None,
        missing_ok: bool = False,
        cleanup: bool = False,
    ) -> None:
        """Send each live upload's requests, then read until every reply is in."""
        sent: list[tuple[_Upload, list[int]]] = []
        for upload in uploads:
            if upload.error is not None and not cleanup:
                continue
            numbers = []
            for command, *args in requests(upload):
                args = [self.client._adjust_cwd(a) if isinstance(a, str) else a for a in args]
                if command == CMD_EXTENDED:
                    args[0] = POSIX_RENAME  # the request name, not a path
                numbers.append(self.client._async_request(replies, command, *args))
            sent.append((upload, numbers))
        for _, numbers in sent:
            for number in numbers:
                while number not in replies.by_number:
                    self.client._read_response()
        for upload, numbers in sent:
            for number in numbers:
                packet_type, message = replies.by_number.pop(number)
                if on_reply is not None:
                    on_reply(upload, packet_type, message)
                    continue
                try:
                    self.client._convert_status(message)
                except (OSError, EOFError) as exc:
                    if missing_ok and getattr(exc, "errno", None) == errno.ENOENT:
                        continue
                    if upload.error is None and not cleanup:
                        try:
                            self._raise(exc, what=what(upload) if what else upload.final)
                        except SftpError as error:
                            upload.error = error

    def _take_handle(self, upload: _Upload, packet_type: int, message: Message) -> None:
        if packet_type == CMD_HANDLE:
            upload.handle = message.get_binary()
            return
        try:
            self.client._convert_status(message)
            raise OSError(f"unexpected reply {packet_type} to open")
        except (OSError, EOFError) as exc:
            try:
                self._raise(exc, what=upload.final)
            except SftpError as error:
                upload.error = error

    def probe(self) -> None:
        """Write and remove a small file, proving the directory is writable."""
        name = f".orders-portal-probe-{secrets.token_hex(6)}"
        path = posixpath.join(self.directory, name)
        try:
            with self.client.open(path, "wb") as remote:
                remote.write(b"probe\n")
            self.client.remove(path)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self._raise(exc, what=f"writing in {self.directory}")

    def _raise(self, exc: BaseException, *, what: str):
        if isinstance(exc, TimeoutError | EOFError) or not self.transport.is_active():
            self.lost = True
        if isinstance(exc, TimeoutError):
            raise SftpError(
                f"Connection to {self.target.address} lost while {what}: the server stopped "
                f"answering (no reply within {self.client.get_channel().gettimeout():g} s).",
                kind="connection_lost",
            )
        if self.lost:
            raise SftpError(
                f"Connection to {self.target.address} lost while {what}: {_describe(exc)}",
                kind="connection_lost",
            )
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
            raise SftpError(f"No such file or directory on the server: {what}.", kind="directory")
        if isinstance(exc, OSError) and exc.errno == errno.EACCES:
            raise SftpError(f"Permission denied on the server: {what}.", kind="directory")
        raise SftpError(f"SFTP error on {what}: {_describe(exc)}", kind="io")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        with contextlib.suppress(Exception):
            self.transport.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


def _open_transport(
    *, host: str, port: int, prefer_key_type: str | None, timeout: float
) -> paramiko.Transport:
    """TCP connect and SSH handshake, both bounded by `timeout`; no authentication."""
    address = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise SftpError(f"Cannot resolve {host}: {exc.strerror}", kind="connect")
    except TimeoutError:
        raise SftpError(f"Timed out connecting to {address}.", kind="connect")
    except OSError as exc:
        raise SftpError(f"Cannot connect to {address}: {_describe(exc)}", kind="connect")
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    if prefer_key_type:
        options = transport.get_security_options()
        supported = list(options.key_types)
        preferred = [k for k in _KEY_ALGORITHMS.get(prefer_key_type, []) if k in supported]
        options.key_types = preferred + [k for k in supported if k not in preferred]
    try:
        transport.start_client(timeout=timeout)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        raise SftpError(f"SSH handshake with {address} failed: {_describe(exc)}", kind="connect")
    # start_client returns quietly when its timeout passes mid-handshake.
    if not transport.is_active() or not transport.initial_kex_done:
        transport.close()
        raise SftpError(f"Timed out in the SSH handshake with {address}.", kind="connect")
    return transport


def _authenticate(transport: paramiko.Transport, target: SftpTarget) -> None:
    pkey = sftp_private_key_load(target.private_key) if target.private_key else None
    if pkey is None and not target.password:
        raise SftpError("Neither a password nor a private key is set.", kind="config")
    failure = f"Authentication as {target.username!r} on {target.address} failed"
    try:
        if pkey is not None:
            try:
                transport.auth_publickey(target.username, pkey)
            except paramiko.AuthenticationException:
                if not target.password:
                    raise
        if not transport.is_authenticated() and target.password:
            transport.auth_password(target.username, target.password)
    except paramiko.BadAuthenticationType as exc:
        raise SftpError(
            f"{failure}: the server accepts only {', '.join(exc.allowed_types)}.", kind="auth"
        )
    except paramiko.AuthenticationException:
        raise SftpError(f"{failure}: check the username and the password or key.", kind="auth")
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise SftpError(f"{failure}: {_describe(exc)}", kind="connect")
    if not transport.is_authenticated():
        raise SftpError(f"{failure}: the server asks for more than we hold.", kind="auth")


@contextlib.contextmanager
def sftp_session(
    target: SftpTarget, *, connect_timeout: float | None = None, io_timeout: float | None = None
) -> Iterator[SftpSession]:
    """Connect, verify the pinned host key, authenticate, open SFTP; close on exit."""
    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    io_timeout = IO_TIMEOUT if io_timeout is None else io_timeout
    key_type, pinned_blob = sftp_host_key_parse(target.host_key)
    transport = _open_transport(
        host=target.host, port=target.port, prefer_key_type=key_type, timeout=connect_timeout
    )
    try:
        presented = transport.get_remote_server_key()
        if presented is None or presented.asbytes() != pinned_blob:
            shown = (
                f"{presented.get_name()} {sha256_fingerprint(presented.asbytes())}"
                if presented is not None
                else "no key"
            )
            logger.warning(
                "sftp host key mismatch for %s: presented %s, pinned %s %s",
                target.address,
                shown,
                key_type,
                sha256_fingerprint(pinned_blob),
            )
            raise SftpError(
                f"Host key mismatch for {target.address}: the server presented {shown}, but "
                f"{key_type} {sha256_fingerprint(pinned_blob)} is pinned. Nothing was sent. "
                "If the server's key really changed, pin the new one.",
                kind="host_key",
            )
        _authenticate(transport, target)
        try:
            client = _SFTPClient.from_transport(transport)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SftpError(
                f"The SFTP subsystem on {target.address} is not available: {_describe(exc)}",
                kind="connect",
            )
        client.get_channel().settimeout(io_timeout)
        session = SftpSession(target=target, transport=transport, client=client)
        yield session
    finally:
        transport.close()


# --- Helpers for the portal's settings page ----------------------------------------------


def sftp_fetch_host_key(*, host: str, port: int = 22) -> tuple[str, str, str]:
    """Read (never trust) a server's host key: (type, base64, SHA256 fingerprint).

    A person compares the fingerprint with the one their server shows
    (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before it is pinned. Raises SftpError.
    """
    host = (host or "").strip()
    if not host:
        raise SftpError("Give the SFTP host.", kind="config")
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise SftpError("The port must be a number from 1 to 65535.", kind="config")
    transport = _open_transport(host=host, port=port, prefer_key_type=None, timeout=CONNECT_TIMEOUT)
    try:
        key = transport.get_remote_server_key()
        return key.get_name(), key.get_base64(), sha256_fingerprint(key.asbytes())
    finally:
        transport.close()


def sftp_test_connection(*, destination) -> tuple[bool, str]:
    """Connect with the pinned key and prove the directory is writable; (ok, message)."""
    try:
        target = sftp_target_for(destination)
        with sftp_session(target) as session:
            session.prepare_directory()
            session.probe()
    except SftpError as exc:
        return False, exc.message
    where = "our hosted server" if destination.sftp_hosted else target.address
    return True, (
        f"Connected to {where} as {target.username!r}; the host key matches and "
        f"{target.directory} is writable."
    )
