"""The settings page's two SFTP actions: "Fetch fingerprint" and "Test connection".

Both run inside a web request, so both use SFTP_PROBE_TIMEOUT_SECONDS (a few seconds) for the
TCP connect, the SSH handshake and each SFTP request, instead of a delivery's longer timeouts:
two slow or silent servers cannot hold the web workers. Both pass the same address check as
every delivery (session.py), and the view limits how often a supplier may call them.
"""

from __future__ import annotations

from django.conf import settings

from .errors import SftpError
from .keys import sha256_fingerprint
from .session import open_transport, sftp_session
from .target import host_name_check, sftp_target_for


def probe_timeout() -> float:
    return float(settings.SFTP_PROBE_TIMEOUT_SECONDS)


def sftp_fetch_host_key(*, host: str, port: int = 22) -> tuple[str, str, str]:
    """Read (never trust) a server's host key: (type, base64, SHA256 fingerprint).

    A person compares the fingerprint with the one their server shows
    (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before it is pinned. Raises SftpError.
    """
    host = (host or "").strip()
    if not host:
        raise SftpError("Give the SFTP host.", kind="config", field="host")
    host_name_check(host)
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise SftpError("The port must be a number from 1 to 65535.", kind="config", field="port")
    transport = open_transport(host=host, port=port, prefer_key_type=None, timeout=probe_timeout())
    try:
        key = transport.get_remote_server_key()
        return key.get_name(), key.get_base64(), sha256_fingerprint(key.asbytes())
    finally:
        transport.close()


def sftp_test_connection(*, destination) -> tuple[bool, str]:
    """Connect with the pinned key and prove the directory is writable; (ok, message)."""
    timeout = probe_timeout()
    try:
        target = sftp_target_for(destination)
        with sftp_session(target, connect_timeout=timeout, io_timeout=timeout) as session:
            session.prepare_directory()
            session.probe()
    except SftpError as exc:
        return False, exc.message
    where = target.address
    return True, (
        f"Connected to {where} as {target.username!r}; the host key matches and "
        f"{target.directory} is writable."
    )
