"""The hosted SFTP server (delivery/hosted/server.py) for tests and the benchmark.

It runs in a thread of the test process, on its own event loop and a free 127.0.0.1 port,
so it reads the test database (tests using it need `transactional_db`: the server's
thread has its own connection and sees only committed rows). Storage and host key live in a
temporary directory the fixture points HOSTED_SFTP_ROOT / HOSTED_SFTP_HOST_KEY_FILE at.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from testsupport.waiting import wait_until


@pytest.fixture(autouse=True)
def login_throttle_fresh():
    """The hosted server's login throttle starts and ends empty (it lives in the cache, or in
    memory while the cache is down). Autouse in the modules that import it."""
    from django.core.cache import cache

    from delivery.hosted import throttle

    cache.clear()
    throttle._local.clear()
    yield
    cache.clear()
    throttle._local.clear()


class HostedSftpTestServer:
    def __init__(self, *, on_upload_closed=None):
        self.closed_uploads: list[tuple[str, str]] = []
        self._on_upload_closed = on_upload_closed
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acceptor = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _closed(self, slug: str, name: str) -> None:
        """Recorded once the hook (the apply) has run: a test that waited for the record and
        ended while the apply's transaction was still open had the database's flush
        deadlock against it (TRUNCATE against the apply's row locks)."""
        try:
            if self._on_upload_closed:
                self._on_upload_closed(slug, name)
        finally:
            self.closed_uploads.append((slug, name))

    def start(self) -> HostedSftpTestServer:
        from delivery.hosted.hostkey import host_key_load
        from delivery.hosted.server import server_start

        host_key = host_key_load()
        self.fingerprint = host_key.get_fingerprint("sha256")
        self.host_key_line = host_key.export_public_key("openssh").decode().split()[:2]

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._acceptor = loop.run_until_complete(
                    server_start(
                        host="127.0.0.1", port=0, host_key=host_key, on_upload_closed=self._closed
                    )
                )
                self.port = self._acceptor.sockets[0].getsockname()[1]
                loop.run_forever()
                self._acceptor.close()
                loop.run_until_complete(self._acceptor.wait_closed())
                # The sessions' own tasks (a login's recheck) end, and the applies handed to
                # the executor finish, before the test's database is flushed under them.
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_default_executor())
            except BaseException as exc:  # noqa: BLE001 - surfaced by start()'s wait
                self._error = exc
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="hosted-sftp", daemon=True)
        self._thread.start()
        wait_until(lambda: self.port or self._error, timeout=15, message="serve_sftp did not start")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)

    def known_hosts(self, directory: Path) -> Path:
        path = directory / "known_hosts"
        path.write_text(f"[127.0.0.1]:{self.port} {' '.join(self.host_key_line)}\n")
        return path


def keygen(path: Path) -> str:
    """A new ed25519 client key at `path`; its public line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "supplier", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Path(f"{path}.pub").read_text().strip()


def openssh_sftp(
    server: HostedSftpTestServer,
    *,
    user: str,
    batch: str,
    workdir: Path,
    key: Path | None = None,
    password: str | None = None,
) -> subprocess.CompletedProcess:
    """Run OpenSSH `sftp -b -` as `user` with `key`, or with `password` (given to ssh by an
    SSH_ASKPASS program, as a person's terminal would), pinned to the server's host key."""
    from testsupport.executables import require_executable
    from testsupport.sshd import SFTP_CANDIDATES

    sftp = require_executable(SFTP_CANDIDATES, "openssh-client")
    env = dict(os.environ)
    if password is None:
        auth = ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no"]
        auth += ["-o", "BatchMode=yes"]
    else:
        # ssh reads a password from SSH_ASKPASS when forced to; an option given first wins
        # over the BatchMode=yes that `-b` adds, so the prompt goes to the program.
        askpass = workdir / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho {shlex.quote(password)}\n")
        askpass.chmod(0o700)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        auth = ["-o", "BatchMode=no", "-o", "PubkeyAuthentication=no"]
        auth += ["-o", "PreferredAuthentications=password,keyboard-interactive"]
        auth += ["-o", "NumberOfPasswordPrompts=1"]
    return subprocess.run(
        [
            sftp,
            *auth,
            "-b",
            "-",
            "-P",
            str(server.port),
            "-o",
            f"UserKnownHostsFile={server.known_hosts(workdir)}",
            "-o",
            "StrictHostKeyChecking=yes",
            f"{user}@127.0.0.1",
        ],
        input=batch,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workdir,
        env=env,
    )


@pytest.fixture(name="hosted_sftp")
def hosted_sftp_fixture(settings, transactional_db):
    """A running hosted server over a temporary storage; `.closed_uploads` records the hook."""
    base = Path(tempfile.mkdtemp(prefix="op-hosted-"))
    settings.HOSTED_SFTP_ROOT = str(base / "storage")
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(base / "host_key")
    from delivery.hosted.updates import hosted_update_apply

    # The apply runs in the server's executor thread (in production a Celery task does it).
    server = HostedSftpTestServer(
        on_upload_closed=lambda slug, name: hosted_update_apply(slug=slug, name=name)
    ).start()
    server.base = base
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def paramiko_client(server, *, user: str, password: str | None = None, key: Path | None = None):
    """A paramiko SSH client logged in to the hosted test server, its host key pinned."""
    import paramiko

    client = paramiko.SSHClient()
    client.get_host_keys().add(
        f"[127.0.0.1]:{server.port}",
        server.host_key_line[0],
        paramiko.PKey.from_type_string(
            server.host_key_line[0], base64.b64decode(server.host_key_line[1])
        ),
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=server.port,
        username=user,
        password=password,
        key_filename=str(key) if key else None,
        allow_agent=False,
        look_for_keys=False,
        timeout=15,
        auth_timeout=15,
    )
    return client
