"""`make run`'s script (scripts/run-embedded) for real, on a free port and a temporary VAR_DIR:
the banner comes last, after the services' start-up lines; static files stay out of the
access log; SIGINT (a terminal's Ctrl-C, sent to the script's process group) leaves no
process within 10 seconds, each service having stopped by itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from testsupport.processes import group_stop
from testsupport.waiting import free_port, port_listening, wait_until

ROOT = Path(__file__).resolve().parents[2]
BANNER_END = "Ctrl-C stops everything."

pytestmark = pytest.mark.timeout(420)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
        return response.status


def _make_run(tmp_path, **extra: str) -> tuple[subprocess.Popen, Path, int, int]:
    """The script started as `make run` starts it, on free ports and a temporary VAR_DIR,
    with none of the caller's service URLs; returns it, its log, the web and SFTP ports."""
    port, sftp_port = free_port(), free_port()
    dropped = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "SITE_URL")
    env = {k: v for k, v in os.environ.items() if k not in (*dropped, "ALLOWED_HOSTS")}
    env |= {
        "DEBUG": "true",
        "PORT": str(port),
        "HOSTED_SFTP_PORT": str(sftp_port),
        "VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "run-embedded")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            # SIGINT at its default, as a terminal's shell starts it: a signal ignored when a
            # non-interactive bash starts cannot be trapped, and this test process may ignore
            # SIGINT by now (an earlier test's worker code can leave it so).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    return script, log_path, port, sftp_port


def test_make_run_prints_its_banner_last_and_stops_on_sigint_within_10_seconds(tmp_path):
    script, log_path, port, sftp_port = _make_run(tmp_path)
    processes: set[int] = set()
    try:
        output = _started(script, log_path)
        banner_at = output.index("Orders portal is running on")
        # The services' start-up lines came first; the banner says where everything is.
        assert output.index("celery@") < banner_at and output.index("beat: Starting") < banner_at
        banner = output[banner_at:]
        base = f"http://127.0.0.1:{port}"
        assert f"{base}/orders/" in banner and "demo / orders-demo-2026" in banner
        assert (
            "Retailer API key (shopco): rtl_" in banner
            and "Supplier API token (acme): sup_" in banner
        )
        assert f"sftp -P {sftp_port} acme@127.0.0.1" in banner
        assert f"links use {base}" in banner

        # A page is in the access log; its static files are not.
        assert _get(f"{base}/static/portal/portal.css") == 200
        assert _get(f"{base}/healthz") == 200
        wait_until(lambda: "GET /healthz" in log_path.read_text(), timeout=20, interval=0.2)
        assert "GET /static/" not in log_path.read_text()

        # gunicorn's control socket is this checkout's, not ~/.gunicorn's (shared by all).
        assert (tmp_path / "var" / "gunicorn.ctl").is_socket()

        processes = _descendants(script.pid)
        assert len(processes) >= 8  # script, gunicorn and 2 workers, worker and 2, beat, sftp
        os.killpg(script.pid, signal.SIGINT)
        started = time.monotonic()
        wait_until(
            lambda: not any(_alive(pid) for pid in processes),
            timeout=10,
            interval=0.1,
            message="processes left 10 s after SIGINT",
        )
        took = time.monotonic() - started
        output = log_path.read_text()
        assert script.wait(timeout=1) == 0 or "Stopped." in output
        assert not port_listening(port) and not port_listening(sftp_port)
        # Each stopped by itself, asked the right way: none had to be killed.
        assert "Not stopped after" not in output, output[-2000:]
        assert "Cold shutdown" in output and output.rstrip().endswith("Stopped."), took
    finally:
        for pid in processes | _descendants(script.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _started(script, log_path) -> str:
    """What `make run` printed up to its banner; fails if it stopped before."""
    wait_until(
        lambda: BANNER_END in log_path.read_text() or script.poll() is not None,
        timeout=300,
        interval=0.5,
    )
    output = log_path.read_text()
    assert script.poll() is None, output[-3000:]
    return output


def test_make_run_on_every_address_answers_by_the_machines_name(tmp_path):
    """HOST=0.0.0.0 (the README's way to reach it from another machine): the banner's
    address, this machine's name, is one the server answers to, not a 400 (DisallowedHost)."""
    script, log_path, port, _ = _make_run(tmp_path, HOST="0.0.0.0")
    name = socket.gethostname()
    try:
        output = _started(script, log_path)
        base = f"http://{name}:{port}"
        assert f"{base}/orders/" in output[output.index("Orders portal is running on") :]
        assert _get(f"{base}/accounts/login/") == 200
    finally:
        group_stop(script)


def test_make_run_on_an_ipv6_address_listens_there(tmp_path):
    """HOST=::1: gunicorn is given the address in brackets, as it takes one; the banner's and
    the links' address is http://[::1]:PORT, and the portal answers there."""
    script, log_path, port, _ = _make_run(tmp_path, HOST="::1")
    try:
        output = _started(script, log_path)
        base = f"http://[::1]:{port}"
        banner = output[output.index("Orders portal is running on") :]
        assert f"{base}/orders/" in banner and f"links use {base}" in banner
        assert _get(f"{base}/accounts/login/") == 200
    finally:
        group_stop(script)
