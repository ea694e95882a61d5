"""scripts/wait-ready, the wait of `make run` before its banner, against a port on which
something that is not our web server answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_port_that_answers_no_http_is_not_up_and_named(tmp_path):
    """An SSH server on the web port (PORT taken): wait-ready used to die of BadStatusLine
    with a traceback; now the URL is simply not up, and named when time runs out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "wait-ready"), "--timeout", "1", "--http", url],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        listener.close()
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"wait-ready: not up after 1 s: web {url}"
