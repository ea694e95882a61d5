"""What the delivery engine tells other code, without knowing who listens.

`deliveries_delivered` is sent (sender=Delivery) inside the transaction that marks rows
delivered, after the UPDATE, with `deliveries` (the Delivery objects this worker moved to
delivered) and `delivered_at` (the time written on them). A receiver's writes commit or roll
back with the mark; a receiver that raises undoes it (the rows are sent again, same identity).
Monthly summaries use it to record when a summary went out (statements/receivers.py).
"""

from django.dispatch import Signal

deliveries_delivered = Signal()
