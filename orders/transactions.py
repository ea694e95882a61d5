"""Bounded write transactions: what they stamp becomes visible within a known time.

The supplier API lists an order only once its `created_at` (or, for `updated_after`, its
`updated_at`) is older than `SUPPLIER_API_SETTLE_SECONDS`. That is only safe if no transaction
can commit a row whose timestamp is older than that. `bounded_atomic()` gives the guarantee:

- The timestamp is taken with `transaction_now()` inside the transaction, after its first
  statement; lock waits before it (a racing intake on the unique reference, a row lock) do
  not count against the bound, because the timestamp is not taken yet.
- From that stamp to the last statement of the block may take at most
  `ORDERS_TRANSACTION_TIMEOUT_SECONDS`; past it the block raises `TransactionTooSlowError`
  and rolls back, so a slow transaction never becomes visible at all.
- On PostgreSQL the outermost block also queues `NOTIFY order_events` (every bounded write
  records order events; orders/signals.py) and sets `statement_timeout`, `lock_timeout` and
  `idle_in_transaction_session_timeout` to the same bound (SET LOCAL): no statement, and no
  pause of the client between statements or before COMMIT (a GC pause, a stopped process),
  can hold the transaction open longer; the server rolls it back instead. PostgreSQL 15 has
  no `transaction_timeout` (17+), hence the deadline check in Python.

So a row stamped T commits before T + 2 x bound + commit latency, or never. The settle time
must exceed that plus the clock skew between app servers; settings.py enforces
settle > 2 x bound.

Only the outermost block bounds anything: nested inside a caller's longer transaction, the
commit is the caller's, and the caller owns its duration.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from common.db import execute_prepared

from .signals import ORDER_EVENTS_CHANNEL

_state = threading.local()


class TransactionTooSlowError(DatabaseError):
    """A bounded transaction ran past its bound and was rolled back; retrying is safe."""


def _stack() -> list[dict]:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def bounded_transaction_notified() -> bool:
    """True inside a bounded transaction that has already queued its NOTIFY order_events."""
    return any(frame["notified"] for frame in _stack())


def transaction_now() -> datetime:
    """The current time, as the stamp of the innermost bounded transaction (first call wins)."""
    now = timezone.now()
    stack = _stack()
    if stack and stack[-1]["stamped"] is None:
        stack[-1]["stamped"] = time.monotonic()
    return now


@contextmanager
def bounded_atomic(*, using: str | None = None):
    """atomic() whose stamped rows commit within the bound of their stamp, or not at all."""
    bound = float(settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS)
    connection = transaction.get_connection(using)
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        frame = {"started": time.monotonic(), "stamped": None, "notified": False}
        _stack().append(frame)
        try:
            if outermost and connection.vendor == "postgresql":
                ms = str(max(1, int(bound * 1000)))
                with connection.cursor() as cursor:
                    # The same round trip queues the transaction's NOTIFY (orders/signals.py):
                    # PostgreSQL sends it only if this transaction commits.
                    execute_prepared(
                        cursor,
                        "SELECT set_config('statement_timeout', %s, true),"
                        " set_config('lock_timeout', %s, true),"
                        " set_config('idle_in_transaction_session_timeout', %s, true),"
                        " pg_notify(%s, '')",
                        [ms, ms, ms, ORDER_EVENTS_CHANNEL],
                    )
                frame["notified"] = True
            yield
            if outermost:
                elapsed = time.monotonic() - (frame["stamped"] or frame["started"])
                if elapsed > bound:
                    raise TransactionTooSlowError(
                        f"The transaction took {elapsed:.2f}s, longer than its bound of "
                        f"{bound:.2f}s; it was rolled back. Retry the request."
                    )
        finally:
            _stack().pop()
