"""Real Redis and Celery worker subprocesses for fault tests and the benchmark.

Every process binds 127.0.0.1 on a free port, logs to a file, is waited on with a deadline
and is killed by its own process group id when stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from testsupport.waiting import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parents[1]


class RedisServer:
    """Our own redis-server (never the machine's), restartable on the same port."""

    def __init__(self, executable: str = "redis-server"):
        self.executable = shutil.which(executable) or executable
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="op-redis-"))
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, timeout=15, message="redis-server did not start")
        return self

    def _answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def group_stop(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 15) -> None:
    """Ask `proc`'s process group to stop with `sig` (a person's Ctrl-C by default); SIGKILL
    it if it is still running after `timeout` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def database_url_for(settings_dict: dict) -> str:
    """A DATABASE_URL naming the database this process uses (the test database in tests)."""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class BackgroundProcess:
    """A project process (worker, dispatcher) run in its own session, logging to a file."""

    name = "process"
    ready_marker = b""

    def __init__(self, *, env: dict[str, str]):
        self.env = {**os.environ, "DEBUG": "true", "PYTHONUNBUFFERED": "1", **env}
        self.dir = Path(tempfile.mkdtemp(prefix=f"op-{self.name}-"))
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / f"{self.name}.log"
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, *, timeout: float = 60):
        self.wait_ready(self.spawn(), timeout=timeout)
        return self

    def spawn(self) -> tuple[subprocess.Popen, int]:
        """Start the process without waiting for it; return it and its log's offset."""
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen(
            self.command(),
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.proc, offset

    def wait_ready(self, spawned: tuple[subprocess.Popen, int], *, timeout: float = 60) -> None:
        """Wait for the ready line of the process `spawn` started (AssertionError if it
        exits first or is not ready within `timeout`)."""
        proc, offset = spawned
        wait_until(
            lambda: self._ready(offset, proc),
            timeout=timeout,
            interval=0.1,
            message=f"{self.name} did not start; log: {self.log_tail()}",
        )

    def _ready(self, offset: int, proc: subprocess.Popen | None = None) -> bool:
        proc = proc or self.proc
        if proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log_tail()}")
        with open(self.log_path, "rb") as handle:
            handle.seek(offset)
            return self.ready_marker in handle.read()

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole process group: main process and every child."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class CeleryWorker(BackgroundProcess):
    """`celery worker` (optionally with embedded beat)."""

    name = "worker"
    ready_marker = b" ready."

    def __init__(self, *, env: dict[str, str], concurrency: int = 2, beat: bool = False):
        super().__init__(env=env)
        self.concurrency = concurrency
        self.beat = beat

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "orders_portal",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"test{self.starts}@%h",
        ]
        if self.beat:
            command += ["--beat", "--schedule", str(self.dir / "beat-schedule")]
        return command


class Dispatcher(BackgroundProcess):
    """`manage.py dispatch_events`: the dispatcher woken by PostgreSQL's NOTIFY."""

    name = "dispatcher"
    ready_marker = b"dispatch_events: ready"

    def command(self) -> list[str]:
        return [sys.executable, "manage.py", "dispatch_events"]


@contextlib.contextmanager
def celery_broker(url: str):
    """Point this process's Celery app at `url` (publishing), then back."""
    from celery import current_app as app

    def reset() -> None:
        from kombu import pools

        if app._pool is not None:
            with contextlib.suppress(Exception):
                app._pool.force_close_all()
        app._pool = None
        # kombu keeps its pools in a registry keyed by broker URL: a closed one would be
        # handed out again to the next app on the same URL ("Acquire on closed pool").
        pools.reset()
        with contextlib.suppress(AttributeError, KeyError):
            app.__dict__["amqp"]._producer_pool = None

    # The write and read URLs too: Celery lets a CELERY_BROKER_URL in the environment (CI's)
    # win over conf.broker_url, but not over conf.broker_write_url / broker_read_url.
    keys = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options")
    old = {key: app.conf.get(key) for key in keys}
    reset()
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    try:
        yield app
    finally:
        reset()
        for key, value in old.items():
            app.conf[key] = value


@contextlib.contextmanager
def celery_broker_down():
    """Make this process's current Celery app one whose broker is down (a Redis URL on a
    loopback port nothing listens on), then put the previous app back. The down app is never
    left current: later tests publish to the real broker again."""
    from celery import Celery, current_app

    from delivery.queue import broker_backoff_reset

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Celery("broker-down", set_as_current=False)
    # The write URL: a CELERY_BROKER_URL in the environment (CI's) would win over broker_url.
    down.conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    down.conf.broker_connection_timeout = 1
    down.conf.broker_connection_retry = False
    down.conf.broker_connection_max_retries = 0
    previous = current_app._get_current_object()
    broker_backoff_reset()
    down.set_current()
    try:
        yield down
    finally:
        previous.set_current()
        broker_backoff_reset()


class Beat(BackgroundProcess):
    """`celery beat`: the one scheduler (sweeps, SFTP runs)."""

    name = "beat"
    ready_marker = b"beat: Starting"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "orders_portal",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(self.dir / "beat-schedule"),
        ]


class Gunicorn(BackgroundProcess):
    """gunicorn serving the project on 127.0.0.1 and a port kept across restarts."""

    name = "gunicorn"
    ready_marker = b"Booting worker"

    def __init__(self, *, env: dict[str, str], workers: int = 2, port: int | None = None):
        super().__init__(env=env)
        self.workers = workers
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "orders_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "60",
            "--log-level",
            "info",
        ]


def hosted_sftp_env(folder) -> dict[str, str]:
    """`serve_sftp`'s own folders under `folder`: its VAR_DIR, storage and host key."""
    return {
        "VAR_DIR": str(folder / "var"),
        "HOSTED_SFTP_ROOT": str(folder / "sftp"),
        "HOSTED_SFTP_HOST_KEY_FILE": str(folder / "host_key"),
    }


class HostedSftp(BackgroundProcess):
    """`manage.py serve_sftp`: the hosted SFTP server, on a port kept across restarts."""

    name = "serve_sftp"
    ready_marker = b"Hosted SFTP on"

    def __init__(self, *, env: dict[str, str], port: int | None = None):
        super().__init__(env=env)
        self.port = port or free_port()

    def command(self) -> list[str]:
        return [
            sys.executable,
            "manage.py",
            "serve_sftp",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
