"""The hosted server's host key: generated once (ed25519), kept in a file, never regenerated.

Suppliers pin its SHA256 fingerprint (shown on /settings/); a new key on every start would
make every client refuse the server.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh
from django.conf import settings


def host_key_path() -> Path:
    return Path(settings.HOSTED_SFTP_HOST_KEY_FILE)


def host_key_load(*, create: bool = True) -> asyncssh.SSHKey:
    path = host_key_path()
    if not path.exists():
        if not create:
            raise FileNotFoundError(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.export_private_key())
        return key
    return asyncssh.read_private_key(str(path))


def host_key_fingerprint() -> str:
    """ "SHA256:..." of the host key, or "" when the server has never started."""
    try:
        return host_key_load(create=False).get_fingerprint("sha256")
    except (FileNotFoundError, asyncssh.KeyImportError):
        return ""
