"""Listens to `orders` and hands committed events to the dispatcher."""

from django.dispatch import receiver

from orders.signals import order_events_committed

from .dispatcher import events_dispatch


@receiver(order_events_committed, dispatch_uid="delivery.events_dispatch")
def dispatch_committed_events(sender, event_ids, **kwargs) -> None:
    # A failure here is logged by `orders` (send_robust); the sweeper dispatches the event later.
    events_dispatch(event_ids=list(event_ids))
