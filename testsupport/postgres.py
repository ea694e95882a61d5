"""A throwaway PostgreSQL cluster (never the machine's): initdb in a temporary directory,
listening on 127.0.0.1 and a free port, restartable on the same port.

As root, initdb and the server run as the `postgres` account (PostgreSQL refuses root);
the directory belongs to it. Authentication is `trust` for 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from testsupport.waiting import free_port, wait_until


def postgres_bin() -> Path | None:
    """Debian's server binaries, any version (the newest first), else initdb on PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if versions:
        return versions[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresCluster:
    def __init__(self, *, bin_dir: Path | None = None):
        self.bin = bin_dir or postgres_bin()
        if self.bin is None:
            raise RuntimeError("initdb not found (Debian package 'postgresql')")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="op-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self._kwargs: dict = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            self._kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self.initialised = False

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.dir,
            **self._kwargs,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.initialised = True

    def start(self) -> PostgresCluster:
        if not self.initialised:
            self.init()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start"
        )
        wait_until(self._answers, timeout=30, message="PostgreSQL did not answer")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, *, mode: str = "immediate") -> None:
        """`immediate`: as a crash (no checkpoint, every connection cut); `fast`: clean."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
