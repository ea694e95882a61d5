"""Every part of the production shape, each restartable on its own port."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiosmtpd.controller import Controller

from testsupport.http import HTTPReceiver
from testsupport.postgres import PostgresCluster
from testsupport.processes import (
    Beat,
    CeleryWorker,
    Dispatcher,
    Gunicorn,
    HostedSftp,
    RedisServer,
)
from testsupport.smtp import SMTPServer, _Collector
from testsupport.sshd import SftpTestServer, find_binaries

WEBHOOK_TIMEOUT_SECONDS = 3


class RestartableSMTP(SMTPServer):
    """The test SMTP server, stoppable and started again on the same port, same mailbox."""

    def __init__(self):
        super().__init__()
        self.running = False

    def start(self) -> RestartableSMTP:
        self._controller = Controller(_Collector(self), hostname=self.host, port=self.port)
        self._controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self._controller.stop()
            self.running = False


def stack_env(*, database_url: str, redis: RedisServer, smtp: SMTPServer, base: Path) -> dict:
    """The settings every process of the soak runs with (short timers so faults heal fast)."""
    return {
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "EMAIL_URL": f"smtp://{smtp.host}:{smtp.port}",
        "EMAIL_TIMEOUT": "5",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT_SECONDS),
        "DELIVERY_CLAIM_SECONDS": "30",
        "DELIVERY_REQUEUE_AFTER_SECONDS": "5",
        "DELIVERY_DISPATCH_GRACE_SECONDS": "2",
        "DELIVERY_BROKER_BACKOFF_SECONDS": "2",
        "SWEEP_INTERVAL_SECONDS": "2",
        # About six minutes of tries in all: longer than any fault of the soak.
        "DELIVERY_RETRY_SCHEDULE": "0,2,4,8,15,20,30,30,30,30,30,30,30,30,30,30",
        "DELIVERY_REDELIVER_COOLDOWN_SECONDS": "60",
        "DELIVERY_HEALED_MIN_WAIT_SECONDS": "2",
        "CELERY_VISIBILITY_TIMEOUT": "60",
        "HOSTED_SFTP_ROOT": str(base / "hosted"),
        "HOSTED_SFTP_HOST_KEY_FILE": str(base / "hosted_host_key"),
        "RETAILER_API_RATE": "100000/min",
        "SUPPLIER_API_RATE": "100000/min",
        "LOG_LEVEL": "INFO",
    }


class Stack:
    """Servers first (`servers_start`), then Django in this process, then the processes."""

    def __init__(self, *, log, overrides: dict[str, str] | None = None):
        self.log = log
        self.overrides = overrides or {}
        self.base = Path(tempfile.mkdtemp(prefix="op-chaos-"))
        self.postgres = PostgresCluster()
        self.redis = RedisServer()
        self.smtp = RestartableSMTP()
        self.receiver = HTTPReceiver()
        sshd, keygen = find_binaries()
        if not sshd or not keygen:
            raise RuntimeError("needs sshd and ssh-keygen (Debian package 'openssh-server')")
        self.sshd = SftpTestServer(sshd=sshd, ssh_keygen=keygen)
        self.env: dict[str, str] = {}
        self.processes: dict[str, object] = {}
        self.lock = threading.Lock()

    def servers_start(self) -> dict[str, str]:
        self.postgres.start()
        self.postgres.createdb("chaos")
        self.redis.start()
        self.smtp.start()
        self.receiver.start()
        self.sshd.start()
        self.sshd.make_dir("updates")
        self.env = stack_env(
            database_url=self.postgres.url("chaos"),
            redis=self.redis,
            smtp=self.smtp,
            base=self.base,
        )
        self.env.update(self.overrides)
        os.environ.update(self.env)
        return self.env

    def processes_start(self) -> None:
        env = self.env
        self.processes = {
            "gunicorn": Gunicorn(env=env, workers=2),
            "worker-1": CeleryWorker(env=env, concurrency=2),
            "worker-2": CeleryWorker(env=env, concurrency=2),
            "dispatcher": Dispatcher(env=env),
            "beat": Beat(env=env),
            "serve_sftp": HostedSftp(env=env),
        }
        # All at once (each waits for its own ready line): start-up is the slowest one's.
        with ThreadPoolExecutor(max_workers=len(self.processes)) as pool:
            for name, process in zip(
                self.processes,
                pool.map(lambda p: p.start(timeout=180), self.processes.values()),
                strict=True,
            ):
                self.log(f"started {name} (pid {process.proc.pid})")

    @property
    def web_url(self) -> str:
        return self.processes["gunicorn"].url

    @property
    def hosted_port(self) -> int:
        return self.processes["serve_sftp"].port

    def supervise(self) -> None:
        """What systemd's Restart=always or Docker's restart policy does in production: a
        process that exits on its own is started again, and each exit is kept for the
        report (with its log's end)."""
        self.exits: list[dict] = []
        self._supervising = threading.Event()

        def loop() -> None:
            while not self._supervising.wait(1.0):
                spawned = []
                # Under the lock only to see the exit and spawn again: the wait for the ready
                # line is outside it, since a worker is not ready until the broker answers,
                # and healing a stopped Redis takes the lock (held while waiting, a worker
                # that died in Redis's outage kept Redis down for the whole start timeout).
                with self.lock:
                    for name, process in self.processes.items():
                        if process.proc is None or process.proc.poll() is None:
                            continue
                        code = process.proc.returncode
                        tail = process.log_tail(1200)
                        self.exits.append({"process": name, "code": code, "log_end": tail})
                        self.log(f"supervisor: {name} exited ({code}); starting it again")
                        process.proc = None
                        spawned.append((name, process, process.spawn()))
                for name, process, started in spawned:
                    try:
                        process.wait_ready(started, timeout=180)
                        self.log(f"supervisor: {name} is up again")
                    except AssertionError as exc:
                        # Killed by a fault meanwhile (its healing starts it), or it exited
                        # again (the next round sees it): either way not ours to wait for.
                        self.log(f"supervisor: {name} did not start: {str(exc)[:300]}")

        self._supervisor = threading.Thread(target=loop, daemon=True)
        self._supervisor.start()

    def supervise_stop(self) -> None:
        if getattr(self, "_supervising", None) is not None:
            self._supervising.set()
            self._supervisor.join(timeout=200)

    def all_running(self) -> list[str]:
        """The names of processes that are not running (should be none at the end)."""
        return [n for n, p in self.processes.items() if p.proc is None or p.proc.poll() is not None]

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.receiver.stop()
        self.smtp.stop()
        self.sshd.stop()
        self.redis.stop()
        self.postgres.stop(mode="fast")

    def cleanup(self, *, keep: bool = False) -> None:
        for process in self.processes.values():
            process.kill()
        for action in (self.receiver.stop, self.smtp.stop, self.sshd.close, self.redis.cleanup):
            try:
                action()
            except Exception:  # noqa: BLE001, S110 - best effort at the end
                pass
        if keep:
            return
        self.postgres.cleanup()
        for process in self.processes.values():
            shutil.rmtree(process.dir, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
