"""Waiting without sleeping: poll a condition with a deadline; pick a free local port.

Every test and benchmark that waits for a server, a process or a delivery waits on a condition
through `wait_until`, never on a fixed sleep.
"""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Poll a condition until it holds or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def a_session_waits_on_a_lock(*, query_prefix: str = "") -> bool:
    """Whether a PostgreSQL session of this test database is waiting on a lock (its query
    starting with `query_prefix`): how a race test knows the second writer is blocked."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND starts_with(query, %s)",
            [query_prefix],
        )
        return cursor.fetchone()[0] > 0
