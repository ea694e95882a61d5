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
must exceed that plus the clock skew between app servers; orders/checks.py enforces
settle > 2 x bound.

Only the outermost block bounds anything: nested inside a caller's longer transaction, the
commit is the caller's, and the caller owns its duration.

`bounded_pipelined()` gives the same guarantee to a write that is known whole before it is
sent (intake): the block stamps and builds its statements without touching the database;
at its end, if the bound has not passed since the stamp, the SET LOCALs and NOTIFY above
and the statements go to PostgreSQL in one round trip, one implicit transaction that the
pipeline's Sync commits (common/db.py's `transaction_pipelined`). Each statement is held
to the bound by `statement_timeout` and `lock_timeout`, and the client cannot pause
between them (they arrive in one write), so a row stamped T still commits before
T + 2 x bound + commit latency, or never.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from common.db import execute_prepared, transaction_pipelined

from .signals import ORDER_EVENTS_CHANNEL

_state = threading.local()


class TransactionTooSlowError(DatabaseError):
    """A bounded transaction ran past its bound and was rolled back; retrying is safe."""


def _stack() -> list[dict]:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


_BOUND_SQL = (
    "SELECT set_config('statement_timeout', %s, true),"
    " set_config('lock_timeout', %s, true),"
    " set_config('idle_in_transaction_session_timeout', %s, true),"
    " pg_notify(%s, '')"
)


def _bound_params(bound: float) -> list:
    ms = str(max(1, int(bound * 1000)))
    return [ms, ms, ms, ORDER_EVENTS_CHANNEL]


def bounded_transaction_notified() -> bool:
    """True inside a bounded transaction that has already queued its NOTIFY order_events."""
    return any(frame["notified"] for frame in _stack())


def transaction_now() -> datetime:
    """The current time, as the stamp of each open bounded block not stamped yet (first
    call wins).

    The outermost block, the one that checks the bound, included: a change nested in an
    outer bounded block (the update API's, with an Idempotency-Key) otherwise left the
    outer one unstamped, and the bound was measured from its start, the wait for the
    order's lock included, so a request that waited was 503 that without the key applied
    (found in review).
    """
    now = timezone.now()
    stamp = None
    for frame in _stack():
        if frame["stamped"] is None:
            if stamp is None:
                stamp = time.monotonic()
            frame["stamped"] = stamp
    return now


@contextmanager
def bounded_atomic(*, using: str | None = None, bound_with_first: bool = False):
    """atomic() whose stamped rows commit within the bound of their stamp, or not at all.

    `bound_with_first`: the bound's statement (SET LOCALs, NOTIFY) is not sent on entry but
    taken by the block's first statement (`bounded_bound_take()`), which sends it with BEGIN
    in its own round trip (the update API's lock: orders/services/hold_sql.py). Should
    nothing take it, it is sent before the block ends.
    """
    bound = float(settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS)
    connection = transaction.get_connection(using)
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        frame = {"started": time.monotonic(), "stamped": None, "notified": False}
        _stack().append(frame)
        try:
            if outermost and connection.vendor == "postgresql":
                if bound_with_first:
                    frame["bound"] = (_BOUND_SQL, _bound_params(bound))
                else:
                    with connection.cursor() as cursor:
                        # The same round trip queues the transaction's NOTIFY
                        # (orders/signals.py): PostgreSQL sends it only if this commits.
                        execute_prepared(cursor, _BOUND_SQL, _bound_params(bound))
                frame["notified"] = True
            yield
            if frame.get("bound") is not None:  # nothing took it: sent now, before COMMIT
                with connection.cursor() as cursor:
                    execute_prepared(cursor, *frame.pop("bound"))
            if outermost:
                elapsed = time.monotonic() - (frame["stamped"] or frame["started"])
                if elapsed > bound:
                    raise TransactionTooSlowError(
                        f"The transaction took {elapsed:.2f}s, longer than its bound of "
                        f"{bound:.2f}s; it was rolled back. Retry the request."
                    )
        finally:
            _stack().pop()


def bounded_bound_take() -> tuple[str, list] | None:
    """The bound's statement of a `bounded_atomic(bound_with_first=True)` block not sent
    yet, for the caller to send first (the caller must); else None."""
    stack = _stack()
    if not stack:
        return None
    return stack[0].pop("bound", None)


class PipelinedWrite:
    """The statements of a `bounded_pipelined()` block, and after it their rows."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list]] = []
        self.readers: list = []
        self.committed: list = []

    def add(self, sql: str, params: list, *, on_rows=None) -> None:
        """Queue a statement; `on_rows(rows)` gets its rows once the write has committed,
        before any `on_commit` function runs."""
        self.statements.append((sql, params))
        self.readers.append(on_rows)

    def on_commit(self, function) -> None:
        """Run `function` once the write has committed (never if it did not)."""
        self.committed.append(function)


def pipelined_write_current() -> PipelinedWrite | None:
    """The `bounded_pipelined()` write being built in this thread, if any."""
    stack = _stack()
    return stack[-1].get("write") if stack else None


def bounded_pipelined_possible(*, using: str | None = None) -> bool:
    """Whether `bounded_pipelined()` can run here: PostgreSQL, outside any atomic block."""
    connection = transaction.get_connection(using)
    return connection.vendor == "postgresql" and not connection.in_atomic_block


@contextmanager
def bounded_pipelined(*, using: str | None = None):
    """bounded_atomic() for a write sent whole, in one round trip, when the block ends."""
    bound = float(settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS)
    connection = transaction.get_connection(using)
    if not bounded_pipelined_possible(using=using):
        raise RuntimeError("bounded_pipelined() needs PostgreSQL and no open atomic block")
    write = PipelinedWrite()
    # notified: the NOTIFY goes in the same round trip (_BOUND_SQL).
    frame = {"started": time.monotonic(), "stamped": None, "notified": True, "write": write}
    _stack().append(frame)
    try:
        yield write
        elapsed = time.monotonic() - (frame["stamped"] or frame["started"])
        if elapsed > bound:
            # Nothing was sent: nothing to roll back.
            raise TransactionTooSlowError(
                f"The transaction took {elapsed:.2f}s, longer than its bound of "
                f"{bound:.2f}s; it was rolled back. Retry the request."
            )
    finally:
        _stack().pop()
    results = transaction_pipelined(
        connection, [(_BOUND_SQL, _bound_params(bound)), *write.statements]
    )
    for reader, rows in zip(write.readers, results[1:], strict=True):
        if reader is not None:
            reader(rows)
    for function in write.committed:
        function()
