"""What delivery does when the apps below it announce something.

A new supplier (`suppliers.signals.supplier_created`, in its creating transaction) gets its
email channel, on, to its order emails. A deleted one's hosted SFTP folder is moved aside once
the deletion commits, however it was deleted (the admin, a shell): its slug may go to a new
supplier (delivery/hosted/storage.py `supplier_folder_retire`).

Committed order events go to the dispatcher, as settings.DELIVERY_DISPATCH says:
- "inline": the process that committed them dispatches them now, from the signal.
- "listener": nothing happens here; `manage.py dispatch_events` is woken by the NOTIFY that
  the same commit delivered (delivery/listener.py), so a web request spends nothing on
  delivery (dispatching in the request was two thirds of an intake's CPU).
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from orders.signals import order_events_committed
from suppliers.models import Supplier
from suppliers.signals import supplier_created

from .dispatcher import events_dispatch
from .services import destination_email_ensure

logger = logging.getLogger(__name__)


@receiver(supplier_created, dispatch_uid="delivery.supplier_email_channel")
def supplier_email_channel(sender, supplier, **kwargs) -> None:
    destination_email_ensure(supplier=supplier)


@receiver(post_delete, sender=Supplier, dispatch_uid="delivery.supplier_folder_retire")
def supplier_folder_retire_on_delete(sender, instance, **kwargs) -> None:
    from .hosted.storage import supplier_folder_retire

    slug = instance.slug

    def retire() -> None:
        try:
            moved = supplier_folder_retire(slug)
        except OSError:
            logger.exception("hosted folder of deleted supplier %s could not be moved", slug)
            return
        if moved is not None:
            logger.info("hosted folder of deleted supplier %s moved to %s", slug, moved)

    transaction.on_commit(retire)


@receiver(order_events_committed, dispatch_uid="delivery.events_dispatch")
def dispatch_committed_events(sender, event_ids, **kwargs) -> None:
    # A failure here is logged by `orders` (send_robust); the sweeper dispatches the event later.
    if settings.DELIVERY_DISPATCH == "inline":
        events_dispatch(event_ids=list(event_ids))
