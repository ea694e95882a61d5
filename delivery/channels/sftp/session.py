"""One SFTP connection: resolve and check the address, connect, pin the host key, log in.

`sftp_session` is used once per run. The host name is resolved once; unless private networks
are allowed (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, which covers every outgoing connection, see
`delivery.netguard.private_networks_allowed`) every address it resolves to must pass the same
check as a webhook's (`delivery.netguard.address_refused`: no loopback, private, link-local,
CGNAT, metadata or other non-public address), and the TCP connection goes to the address that
was checked, never to a second resolution (no DNS-rebinding gap).

Then the SSH handshake, bounded by the connect timeout, and the server's host key is compared
with the pinned one BEFORE any authentication, so a server with the wrong key never sees a
password, a key signature or a byte of an order. Keys are never learned or auto-accepted.

Files are written under a temporary name in the target directory, then renamed into place
(`posix-rename@openssh.com`, an atomic replace, when the server offers it; otherwise remove then
rename), so a reader never sees a partial file under its final name and a retry simply
replaces the file. The requests are pipelined across files (upload.py).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import posixpath
import secrets
import socket
import stat as stat_module
import threading
import time
from collections.abc import Iterator

import paramiko

from ...netguard import address_refused, private_networks_allowed
from ...resolve import ResolveTimeout, within_budget
from . import upload
from .errors import SftpError
from .keys import KEY_ALGORITHMS, host_key_parse, private_key_load, sha256_fingerprint
from .target import SftpTarget
from .upload import PipelinedSFTPClient, put_window

logger = logging.getLogger(__name__)

# Seconds, for deliveries. Module constants (not settings) because no supplier needs other
# values; tests may patch them. "Fetch fingerprint" and "Test connection" run in a web request
# and use the shorter SFTP_PROBE_TIMEOUT_SECONDS instead.
CONNECT_TIMEOUT = 15.0
IO_TIMEOUT = 30.0


class SftpSession:
    """One authenticated SFTP connection and the directory files go to."""

    def __init__(self, *, target: SftpTarget, transport: paramiko.Transport, client) -> None:
        self.target = target
        self.transport = transport
        self.client = client
        self.directory = target.directory
        self.use_posix_rename = upload.POSIX_RENAME in getattr(client, "server_extensions", {})
        self.lost = False
        self.seconds: float | None = None  # the session's time, when it has one
        self.expired = False

    def expire(self) -> None:
        """The session's time is up (called from its timer's thread): the connection is
        closed under whatever request waits, which then fails as lost."""
        self.expired = self.lost = True
        with contextlib.suppress(Exception):
            self.transport.close()

    def time_up_error(self, what: str) -> SftpError:
        return SftpError(
            f"Not sent: this run's time ran out ({self.seconds:g} s) {what}, the server at "
            f"{self.target.address} answering too slowly; the next run sends it.",
            kind="connection_lost",
        )

    def connected(self) -> bool:
        """False once the transport closed or a request timed out (a silent server is not
        asked again: each further request would only wait out its own timeout)."""
        return not self.lost and self.transport.is_active()

    def prepare_directory(self) -> None:
        """Check the directory exists (or create it when the target says so), or SftpError."""
        try:
            attributes = self.client.stat(self.directory)
        except OSError as exc:
            if exc.errno == errno.ENOENT and self.target.create_directory:
                self._mkdir(self.directory)
                return
            raise self.error_for(exc, what=f"directory {self.directory}")
        if not stat_module.S_ISDIR(attributes.st_mode or 0):
            raise SftpError(f"{self.directory} on the server is not a directory.", kind="directory")

    def _mkdir(self, path: str) -> None:
        parent = posixpath.dirname(path.rstrip("/"))
        if parent and parent not in ("/", "."):
            try:
                self.client.stat(parent)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise self.error_for(exc, what=f"directory {parent}")
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
            raise self.error_for(exc, what=f"creating directory {path}")

    def put(self, *, name: str, data: bytes) -> str:
        """Write `data` to `<directory>/<name>` via a temporary name; return the final path."""
        [result] = self.put_many([(name, data)])
        if isinstance(result, SftpError):
            raise result
        return result

    def put_many(self, files: list[tuple[str, bytes]]) -> list[str | SftpError]:
        """Upload files (name, data), each via a temporary name then a rename; per file, the
        final path or the SftpError. After a lost connection the rest are errors too."""
        results: list[str | SftpError] = []
        step = upload.PIPELINE_FILES
        for start in range(0, len(files), step):
            window = files[start : start + step]
            if not self.connected():
                lost = (
                    self.time_up_error("before this file")
                    if self.expired
                    else SftpError(
                        f"Connection to {self.target.address} lost before this file.",
                        kind="connection_lost",
                    )
                )
                results.extend(lost for _ in window)
                continue
            results.extend(put_window(self, window))
        return results

    def probe(self) -> None:
        """Write and remove a small file, proving the directory is writable."""
        name = f".orders-portal-probe-{secrets.token_hex(6)}"
        path = posixpath.join(self.directory, name)
        try:
            with self.client.open(path, "wb") as remote:
                remote.write(b"probe\n")
            self.client.remove(path)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self.error_for(exc, what=f"writing in {self.directory}")

    def error_for(self, exc: BaseException, *, what: str) -> SftpError:
        """The SftpError for a failed request; marks the session lost when it is."""
        if isinstance(exc, TimeoutError | EOFError) or not self.transport.is_active():
            self.lost = True
        if self.expired:
            return self.time_up_error(f"while {what}")
        if isinstance(exc, TimeoutError):
            return SftpError(
                f"Connection to {self.target.address} lost while {what}: the server stopped "
                f"answering (no reply within {self.client.get_channel().gettimeout():g} s).",
                kind="connection_lost",
            )
        if self.lost:
            return SftpError(
                f"Connection to {self.target.address} lost while {what}: {describe(exc)}",
                kind="connection_lost",
            )
        if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
            return SftpError(f"No such file or directory on the server: {what}.", kind="directory")
        if isinstance(exc, OSError) and exc.errno == errno.EACCES:
            return SftpError(f"Permission denied on the server: {what}.", kind="directory")
        return SftpError(f"SFTP error on {what}: {describe(exc)}", kind="io")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        with contextlib.suppress(Exception):
            self.transport.close()


def describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


# --- Connecting --------------------------------------------------------------------------


def addresses_checked(
    host: str, port: int, *, guarded: bool, timeout: float
) -> list[tuple[int, tuple]]:
    """Resolve `host` once, within `timeout` (getaddrinfo has no timeout of its own: a slow
    resolver held a run, or the settings page's probe, for as long as it took): its (family,
    socket address) list. When `guarded`, SftpError (kind "refused") if ANY address is not
    public, before anything is sent anywhere."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = within_budget(
            lambda: socket.getaddrinfo(name, port, type=socket.SOCK_STREAM),
            seconds=timeout,
            what=host,
        )
    except ResolveTimeout:
        raise SftpError(
            f"Timed out looking up {host}: its name did not resolve in {timeout:g} s.",
            kind="connect",
        )
    except socket.gaierror as exc:
        raise SftpError(f"Cannot resolve {host}: {exc.strerror}", kind="connect")
    except (UnicodeError, ValueError):
        raise SftpError(f"Cannot resolve {host}: not a valid host name.", kind="connect")
    addresses = [(family, sockaddr) for family, _, _, _, sockaddr in infos]
    if guarded:
        for _, sockaddr in addresses:
            ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if address_refused(ip):
                raise SftpError(
                    f"{host} is {ip}, which is not a public address; connections to "
                    "loopback, private, link-local and metadata addresses are refused. "
                    "Nothing was sent.",
                    kind="refused",
                    field="host",
                )
    return addresses


def tcp_connect(family: int, sockaddr: tuple, timeout: float) -> socket.socket:
    """Connect to exactly this (checked) address."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def open_transport(
    *, host: str, port: int, prefer_key_type: str | None, timeout: float
) -> paramiko.Transport:
    """Checked TCP connect and SSH handshake, both bounded by `timeout`; no authentication."""
    address = f"{host}:{port}"
    guarded = not private_networks_allowed()
    sock = None
    last: OSError | None = None
    started = time.monotonic()
    for family, sockaddr in addresses_checked(host, port, guarded=guarded, timeout=timeout):
        try:
            sock = tcp_connect(family, sockaddr, max(timeout - (time.monotonic() - started), 0.001))
            break
        except OSError as exc:  # TimeoutError included
            last = exc
    if sock is None:
        if isinstance(last, TimeoutError):
            raise SftpError(f"Timed out connecting to {address}.", kind="connect")
        reason = describe(last) if last else "no address"
        raise SftpError(f"Cannot connect to {address}: {reason}", kind="connect")
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    if prefer_key_type:
        options = transport.get_security_options()
        supported = list(options.key_types)
        preferred = [k for k in KEY_ALGORITHMS.get(prefer_key_type, []) if k in supported]
        options.key_types = preferred + [k for k in supported if k not in preferred]
    try:
        transport.start_client(timeout=timeout)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        raise SftpError(f"SSH handshake with {address} failed: {describe(exc)}", kind="connect")
    # start_client returns quietly when its timeout passes mid-handshake.
    if not transport.is_active() or not transport.initial_kex_done:
        transport.close()
        raise SftpError(f"Timed out in the SSH handshake with {address}.", kind="connect")
    return transport


def _authenticate(transport: paramiko.Transport, target: SftpTarget) -> None:
    password, private_key = target.credentials()
    pkey = private_key_load(private_key) if private_key else None
    if pkey is None and not password:
        raise SftpError("Neither a password nor a private key is set.", kind="config")
    failure = f"Authentication as {target.username!r} on {target.address} failed"
    try:
        if pkey is not None:
            try:
                transport.auth_publickey(target.username, pkey)
            except paramiko.AuthenticationException:
                if not password:
                    raise
        if not transport.is_authenticated() and password:
            transport.auth_password(target.username, password)
    except paramiko.BadAuthenticationType as exc:
        raise SftpError(
            f"{failure}: the server accepts only {', '.join(exc.allowed_types)}.", kind="auth"
        )
    except paramiko.AuthenticationException:
        raise SftpError(f"{failure}: check the username and the password or key.", kind="auth")
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise SftpError(f"{failure}: {describe(exc)}", kind="connect")
    if not transport.is_authenticated():
        raise SftpError(f"{failure}: the server asks for more than we hold.", kind="auth")


def _verify_host_key(transport: paramiko.Transport, target: SftpTarget, key_type, pinned_blob):
    presented = transport.get_remote_server_key()
    if presented is not None and presented.asbytes() == pinned_blob:
        return
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


@contextlib.contextmanager
def sftp_session(
    target: SftpTarget,
    *,
    connect_timeout: float | None = None,
    io_timeout: float | None = None,
    seconds: float | None = None,
) -> Iterator[SftpSession]:
    """Connect, verify the pinned host key, authenticate, open SFTP; close on exit.

    `seconds` bounds the whole session, from now: past it the connection is closed under
    whatever request waits (`SftpSession.expire`). The timeouts bound each step and each
    reply, but a server that answers every request slowly, each within its timeout, held a
    run (and the worker it runs on) for as long as it liked (found in review)."""
    started = time.monotonic()
    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    io_timeout = IO_TIMEOUT if io_timeout is None else io_timeout
    key_type, pinned_blob = host_key_parse(target.host_key)
    timer: threading.Timer | None = None
    transport = open_transport(
        host=target.host,
        port=target.port,
        prefer_key_type=key_type,
        timeout=connect_timeout,
    )
    try:
        _verify_host_key(transport, target, key_type, pinned_blob)
        _authenticate(transport, target)
        try:
            client = PipelinedSFTPClient.from_transport(transport)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SftpError(
                f"The SFTP subsystem on {target.address} is not available: {describe(exc)}",
                kind="connect",
            )
        client.get_channel().settimeout(io_timeout)
        session = SftpSession(target=target, transport=transport, client=client)
        if seconds is not None:
            session.seconds = seconds
            timer = threading.Timer(max(seconds - (time.monotonic() - started), 0), session.expire)
            timer.daemon = True
            timer.start()
        yield session
    finally:
        if timer is not None:
            timer.cancel()
        transport.close()
