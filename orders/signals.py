"""The announcement `orders` makes: events that have committed. Two forms, same meaning.

- The Django signal `order_events_committed`, sent from `transaction.on_commit` with
  `event_ids`, in the process that wrote them.
- On PostgreSQL, also `NOTIFY order_events` (no payload), issued inside the writing
  transaction: PostgreSQL delivers it to every session that LISTENs if, and only if, the
  transaction commits, so no process crash between commit and a hook can lose it.

`delivery` listens to one or the other (settings.DELIVERY_DISPATCH); `orders` knows no
channel. A receiver that fails never undoes the commit: the sweeper finds the event later.
"""

from django.db import connection
from django.dispatch import Signal

order_events_committed = Signal()

ORDER_EVENTS_CHANNEL = "order_events"


def order_events_notify() -> None:
    """Inside the writing transaction: have PostgreSQL announce new events at commit."""
    from .transactions import bounded_transaction_notified

    if connection.vendor == "postgresql" and not bounded_transaction_notified():
        with connection.cursor() as cursor:
            # Identical notifications of one transaction are folded into one by PostgreSQL.
            cursor.execute("SELECT pg_notify(%s, '')", [ORDER_EVENTS_CHANNEL])
