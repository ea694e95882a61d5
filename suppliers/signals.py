"""What suppliers announce, and what they do on their own models' changes.

- `supplier_created` (sent by `suppliers.services.supplier_create`, with `supplier=`) lets
  the apps above add what a new supplier needs without suppliers importing them: delivery
  turns its email channel on (delivery/receivers.py). It is sent inside the creating
  transaction, so a receiver's writes commit or roll back with the supplier, and a receiver
  that raises refuses the creation (nothing is half-made).
- Every committed change to a supplier or an API token replaces the shared token epoch, so
  that web processes forget the tokens they remember (suppliers/token_memory.py).
"""

import logging

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from . import token_memory
from .models import ApiToken, Supplier

logger = logging.getLogger(__name__)

supplier_created = Signal()  # kwargs: supplier


def _epoch_bump() -> None:
    try:
        token_memory.epoch_bump()
    except Exception:
        logger.exception(
            "Could not replace the API token epoch in the cache: web processes may accept a "
            "revoked token for up to SUPPLIER_API_TOKEN_MEMORY_SECONDS."
        )


@receiver(post_save, sender=ApiToken)
@receiver(post_delete, sender=ApiToken)
@receiver(post_save, sender=Supplier)
@receiver(post_delete, sender=Supplier)
def api_tokens_changed(sender, **kwargs) -> None:
    if token_memory.epochs_shared():
        transaction.on_commit(_epoch_bump)
