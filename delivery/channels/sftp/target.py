"""Where a destination's files go, and with which credentials.

A supplier's own server: everything comes from the destination row. The platform's hosted
server: everything comes from the settings (`HOSTED_SFTP_*`, read here and nowhere else), and
nothing from the row but the supplier's slug: the host, port, user name and pinned key are the
configured hosted server's, the directory is always ROOT/<supplier slug>, and the platform's
password or key is never stored in a row. It is read only when a session authenticates
(`SftpTarget.credentials`), and only for a target that still is the configured hosted server,
so no edit of a row can send it anywhere else or into another supplier's folder.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from django.conf import settings

from .errors import SftpError

# HOSTED_SFTP_ROOT when the setting is empty (the one default; README's configuration table).
DEFAULT_HOSTED_ROOT = "/suppliers"


@dataclass(frozen=True)
class HostedSftp:
    """The configured hosted server (without its credentials, which are read at connect)."""

    host: str
    port: int
    username: str
    host_key: str
    root: str

    def directory_for(self, slug: str) -> str:
        return posixpath.join(self.root, slug)


def hosted_sftp() -> HostedSftp:
    """The hosted server's settings, or SftpError (field "hosted") when it is not configured."""
    conf = settings.HOSTED_SFTP
    if not conf.get("HOST") or not conf.get("HOST_KEY") or not conf.get("USERNAME"):
        raise SftpError(
            "Hosted SFTP is not configured (HOSTED_SFTP_HOST, HOSTED_SFTP_USERNAME, "
            "HOSTED_SFTP_HOST_KEY).",
            kind="config",
            field="hosted",
        )
    return HostedSftp(
        host=conf["HOST"],
        port=int(conf.get("PORT") or 22),
        username=conf["USERNAME"],
        host_key=conf["HOST_KEY"],
        root=(conf.get("ROOT") or DEFAULT_HOSTED_ROOT).rstrip("/") or "/",
    )


def hosted_sftp_credentials() -> tuple[str, str]:
    """The platform's (password, private key), read now; SftpError if the key file fails."""
    conf = settings.HOSTED_SFTP
    private_key = ""
    if conf.get("KEY_FILE"):
        try:
            with open(conf["KEY_FILE"]) as key_file:
                private_key = key_file.read()
        except OSError as exc:
            raise SftpError(
                f"Cannot read HOSTED_SFTP_KEY_FILE: {exc.strerror}", kind="config", field="hosted"
            )
    return conf.get("PASSWORD") or "", private_key


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
    hosted: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def credentials(self) -> tuple[str, str]:
        """(password, private key) to log in with. For the hosted server, the platform's,
        read now, and only while this target is still exactly the configured server."""
        if not self.hosted:
            return self.password, self.private_key
        current = hosted_sftp()
        if (current.host, current.port, current.username, current.host_key) != (
            self.host,
            self.port,
            self.username,
            self.host_key,
        ):
            raise SftpError(
                "The hosted SFTP settings changed during this run; it is retried.",
                kind="config",
            )
        return hosted_sftp_credentials()


def sftp_target_for(destination) -> SftpTarget:
    """Connection parameters of a destination: its own server, or ours when hosted."""
    if destination.sftp_hosted:
        hosted = hosted_sftp()
        return SftpTarget(
            host=hosted.host,
            port=hosted.port,
            username=hosted.username,
            host_key=hosted.host_key,
            directory=hosted.directory_for(destination.supplier.slug),
            create_directory=True,
            hosted=True,
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
