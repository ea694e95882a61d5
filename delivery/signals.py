"""Signals delivery sends, for the apps whose messages it carries (statements' summaries).

deliveries_delivered (sender=Delivery, deliveries=[Delivery, ...]): rows just marked
delivered, sent inside the transaction that marks them, so a receiver's writes commit (or
roll back) with them. Each row carries its `source_key`, `status` and `delivered_at`.
"""

from django.dispatch import Signal

deliveries_delivered = Signal()
