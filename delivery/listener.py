"""The dispatcher process (`manage.py dispatch_events`): committed events become deliveries.

On PostgreSQL it LISTENs on the channel `orders` notifies at every commit that wrote events
(orders/signals.py) and, when woken, dispatches every event not yet dispatched. It also looks
once per `wait` seconds without a wake-up, so an event whose notification it missed (it was
down, its connection dropped) goes out within that time, and on start it catches up on what
committed while it was away. On SQLite, which has no NOTIFY, it looks every `wait` seconds.

Several can run at once: the dispatcher locks each event it works on (skip_locked) and
writes its rows once. The sweeper remains the backstop when none runs.
"""

from __future__ import annotations

import logging
import threading

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

from orders.signals import ORDER_EVENTS_CHANNEL

from .dispatcher import events_dispatch_pending

logger = logging.getLogger(__name__)


class _Listener:
    """A dedicated autocommit connection that LISTENs (PostgreSQL only)."""

    def __init__(self) -> None:
        self.wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
        self.wrapper.ensure_connection()
        self.raw = self.wrapper.connection
        self.raw.autocommit = True
        # The raw driver connection raises psycopg's own errors; Django's wrapper turns them
        # into django.db errors, which events_listen recovers from (a restarted server).
        with self.wrapper.wrap_database_errors:
            self.raw.execute(f"LISTEN {ORDER_EVENTS_CHANNEL}")

    def wait(self, seconds: float) -> bool:
        """Block until a notification arrives (True) or `seconds` pass (False)."""
        woke = False
        with self.wrapper.wrap_database_errors:
            for _ in self.raw.notifies(timeout=seconds, stop_after=1):
                woke = True
        return woke

    def close(self) -> None:
        try:
            self.wrapper.close()
        except DatabaseError:
            pass


def events_listen(*, stop: threading.Event, wait: float = 1.0, ready=None) -> None:
    """Run the dispatcher until `stop` is set. `ready()` is called once it is listening."""
    postgres = connection.vendor == "postgresql"
    listener: _Listener | None = None
    backoff = 0.5
    announced = False
    while not stop.is_set():
        try:
            if postgres and listener is None:
                listener = _Listener()
            # Listening first, then catching up: nothing that commits in between is missed.
            events_dispatch_pending()
            if not announced:
                announced = True
                logger.info(
                    "dispatch_events: %s",
                    f"listening on '{ORDER_EVENTS_CHANNEL}'"
                    if postgres
                    else f"polling every {wait:g}s (no NOTIFY on {connection.vendor})",
                )
                if ready is not None:
                    ready()
            backoff = 0.5
            if listener is not None:
                listener.wait(wait)
            else:
                stop.wait(wait)
        except DatabaseError as exc:
            # The database went away or restarted: reconnect both connections, then catch up.
            logger.warning("dispatch_events: %r; reconnecting in %.1fs", exc, backoff)
            if listener is not None:
                listener.close()
                listener = None
            connection.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)
    if listener is not None:
        listener.close()
    connection.close()
