"""A summary counts as sent when delivery says its first email was delivered.

Connected from StatementsConfig.ready(). The signal is sent inside the transaction that marks
the rows delivered, so a summary is marked sent exactly when its delivery is.
"""

from django.dispatch import receiver

from delivery.models import Delivery
from delivery.signals import deliveries_delivered

from .services import summaries_mark_sent_for


@receiver(deliveries_delivered, sender=Delivery, dispatch_uid="statements.summaries_mark_sent")
def summaries_delivered(sender, *, deliveries: list[Delivery], delivered_at, **kwargs) -> None:
    summaries_mark_sent_for(deliveries=deliveries, now=delivered_at)
