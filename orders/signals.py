"""The one announcement `orders` makes: events that have committed.

Sent from `transaction.on_commit`, with `event_ids`. `delivery` listens; `orders` knows no
channel. A receiver that fails never undoes the commit: the sweeper finds the event later.
"""

from django.dispatch import Signal

order_events_committed = Signal()
