"""Transactions for delivery bookkeeping, committed without waiting for the WAL flush.

Claims, attempt records and dispatched rows are safe to lose in a database crash: a lost
claim lapses, a lost "delivered" mark means one more send with the same identity (receivers
dedupe on it), a lost dispatch leaves the event undispatched for the sweeper. The orders
and their events themselves are committed normally by `orders`. On PostgreSQL this saves a
WAL flush (milliseconds) per delivery; elsewhere it is a plain atomic block.
"""

from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def bookkeeping_atomic():
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
