"""The image's HEALTHCHECK (scripts/docker-healthcheck) checks what the container runs.

It was web's /healthz for every container, so a worker, dispatcher, beat or sftp container
started from the image was marked unhealthy while it worked. Here the script is run as Docker
runs it, pointed (HEALTHCHECK_PID, PID 1 in a container) at the real processes started on
this host: gunicorn, serve_sftp, a celery worker, and a process of no known role.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from testsupport.processes import (
    CeleryWorker,
    Gunicorn,
    HostedSftp,
    database_url_for,
    hosted_sftp_env,
)
from testsupport.waiting import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docker-healthcheck"

pytestmark = pytest.mark.django_db


def healthcheck(pid: int, **env: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**os.environ, "HEALTHCHECK_PID": str(pid), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout.strip()


@pytest.fixture
def process_env() -> dict[str, str]:
    return {"DATABASE_URL": database_url_for(connection.settings_dict)}


def test_web_is_healthy_while_healthz_answers(process_env):
    web = Gunicorn(env=process_env, workers=1)
    try:
        web.start()
        assert healthcheck(web.proc.pid, PORT=str(web.port)) == (0, "healthy")
        code, said = healthcheck(web.proc.pid, PORT=str(free_port()))
        assert code == 1 and said.startswith("unhealthy: http://127.0.0.1:")
    finally:
        web.cleanup()


def test_sftp_is_healthy_while_it_sends_its_ssh_banner(process_env, tmp_path):
    sftp = HostedSftp(env={**process_env, **hosted_sftp_env(tmp_path)})
    try:
        sftp.start()
        assert healthcheck(sftp.proc.pid, HOSTED_SFTP_PORT=str(sftp.port)) == (0, "healthy")
        # `docker run IMAGE sftp --port N`: the port the command was given, not the setting's
        # (it probed HOSTED_SFTP_PORT, so such a container was unhealthy while it served).
        assert healthcheck(sftp.proc.pid, HOSTED_SFTP_PORT=str(free_port())) == (0, "healthy")
        os.kill(sftp.proc.pid, signal.SIGSTOP)  # alive, but sends no banner
        try:
            code, said = healthcheck(sftp.proc.pid)
        finally:
            os.kill(sftp.proc.pid, signal.SIGCONT)
        assert code == 1 and said.startswith(f"unhealthy: SFTP on 127.0.0.1:{sftp.port}:")
    finally:
        sftp.cleanup()


def test_a_worker_is_healthy_while_it_answers_a_ping_and_not_when_frozen(process_env):
    worker = CeleryWorker(env=process_env, concurrency=1)
    try:
        worker.start()
        assert healthcheck(worker.proc.pid) == (0, "healthy")
        os.killpg(worker.proc.pid, signal.SIGSTOP)  # alive, but answers nothing
        try:
            code, said = healthcheck(worker.proc.pid)
        finally:
            os.killpg(worker.proc.pid, signal.SIGCONT)
        assert code == 1 and "did not answer a ping" in said and "test1@" in said
    finally:
        worker.cleanup()


def test_another_command_is_healthy_while_it_runs_and_a_gone_process_is_not():
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert healthcheck(other.pid) == (0, "healthy")
    finally:
        other.kill()
        other.wait()
    code, said = healthcheck(other.pid)
    assert code == 1 and said.startswith(f"unhealthy: cannot read process {other.pid}")
