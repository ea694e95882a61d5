"""Django's PostgreSQL backend with a health check that costs no round trip on a busy
connection.

CONN_HEALTH_CHECKS makes Django run `SELECT 1` before the first query of every request that
reuses a connection: on the supplier API that was one database round trip in four. Like
pgx's pool (Go), this backend checks a connection that served a request in the last
HEALTH_CHECK_PING_AFTER seconds with a non-blocking poll of its socket instead: a connection
the server has ended (a restart, a crash, `pg_terminate_backend`, an idle timeout) has its
farewell or its end of stream waiting there, and an idle connection has nothing to read.
Anything found, or a connection idle for longer, gets Django's own `SELECT 1`, and is
replaced when that fails. Only a peer that vanished without a word (a cut cable) goes
unnoticed until its first query fails, as it would between the `SELECT 1` and that query.
"""

from __future__ import annotations

import select
import time

from django.db.backends.postgresql import base

# pgx's pool pings a connection that sat idle for longer than one second; so do we.
HEALTH_CHECK_PING_AFTER = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.health_checked_at: float | None = None

    def connect(self):
        super().connect()
        self.health_checked_at = time.monotonic()

    def close_if_health_check_failed(self):
        if (
            self.pool
            or self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
        ):
            return super().close_if_health_check_failed()
        now = time.monotonic()
        busy = (
            self.health_checked_at is not None
            and now - self.health_checked_at < HEALTH_CHECK_PING_AFTER
        )
        if not (busy and self.socket_quiet()) and not self.is_usable():
            self.close()
        self.health_checked_at = now
        self.health_check_done = True

    def socket_quiet(self) -> bool:
        """True if the idle connection's socket is open with nothing to read (no round trip)."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError, self.Database.Error):
            return False
