"""Where a supplier's own SFTP server is, and with which credentials: all from its row.

A hosted destination (the platform's own server, delivery/hosted/) has no network target:
its files are written straight into the hosted storage (channel.py), into the folder named
by the supplier's slug and nothing in the row, so no edit of a row can send a file into
another supplier's folder, and no row holds a platform credential (there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...netguard import host_name_possible
from .errors import SftpError


def host_name_check(host: str) -> None:
    """SftpError (field "host") unless `host` is a name DNS could hold or an IP literal (an
    IPv6 one bare or in brackets). "sftp.example.com:2222", "sftp://files.example.com" or
    "files..example.com" were saved, and every run to them failed with "Cannot resolve"
    (found in review)."""
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host_name_possible(name):
        raise SftpError(
            f"'{host}' is not a host name or IP address: give the server's name alone (such "
            "as sftp.example.com), without a scheme, user name or port (the port has its own "
            "field).",
            kind="config",
            field="host",
        )


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

    def credentials(self) -> tuple[str, str]:
        """(password, private key) to log in with."""
        return self.password, self.private_key


def sftp_target_for(destination) -> SftpTarget:
    """Connection parameters of a destination on the supplier's own server."""
    if destination.sftp_hosted:
        raise SftpError(
            "This file drop is on our hosted server: its files are written to the hosted "
            "storage, not sent over the network.",
            kind="config",
            field="hosted",
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
