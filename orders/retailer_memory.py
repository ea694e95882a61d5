"""What a web process remembers of the retailer API keys it has recently authenticated.

Reading the retailer by its key was one of an intake's three PostgreSQL round trips. As for
supplier tokens (suppliers/token_memory.py, which this follows), a process remembers the
retailer it read for a key for RETAILER_API_KEY_MEMORY_SECONDS (default 10) and, on every
request, checks that no retailer changed since: the request's rate-limit call to Redis also
reads a shared epoch (orders/api/auth.py), which every committed change to a retailer
replaces (`retailers_changed` below). A replaced epoch makes the process forget all it
remembers and read PostgreSQL again, so a deactivated retailer or a replaced key is refused
at once by every process, and a new commission rate is used by the next intake.

The epoch is read before the retailer is, so a change committing in between is never
remembered under the new epoch. If an epoch cannot be replaced (logged), a process may use
the old row until its memory of it expires; changes made with QuerySet.update() or SQL send
no signal and are likewise seen within that time. Only with the Redis cache (the epoch comes
back in the rate-limit call's round trip); with any other cache, or 0 seconds, every request
reads PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from common import cache as shared_cache

from .models import Retailer

EPOCH_KEY = "orders:retailer_keys:epoch"
MAX_REMEMBERED = 10_000
_FIELDS = ("id", "slug", "name", "email", "commission_rate")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RememberedRetailer:
    values: tuple
    epoch: str
    expires_at: float

    @property
    def retailer_id(self) -> int:
        return self.values[0]

    def retailer(self) -> Retailer:
        """A fresh instance, as retailer_for_api_key loads it (the same fields)."""
        return Retailer.from_db(DEFAULT_DB_ALIAS, _FIELDS, self.values)


_remembered: dict[str, RememberedRetailer] = {}


def enabled() -> bool:
    return settings.RETAILER_API_KEY_MEMORY_SECONDS > 0 and shared_cache.counters_native()


def recall(digest: str) -> RememberedRetailer | None:
    entry = _remembered.get(digest)
    if entry is not None and entry.expires_at <= time.monotonic():
        _remembered.pop(digest, None)
        return None
    return entry


def remember(digest: str, retailer: Retailer, *, epoch: str) -> None:
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[digest] = RememberedRetailer(
        values=tuple(getattr(retailer, name) for name in _FIELDS),
        epoch=epoch,
        expires_at=time.monotonic() + settings.RETAILER_API_KEY_MEMORY_SECONDS,
    )


def forget_all() -> None:
    _remembered.clear()


def epoch_current() -> str:
    return shared_cache.epoch_get(EPOCH_KEY)


def _epoch_bump() -> None:
    try:
        shared_cache.epoch_bump(EPOCH_KEY)
    except Exception:
        logger.exception(
            "Could not replace the retailer key epoch in the cache: web processes may use an "
            "old retailer row for up to RETAILER_API_KEY_MEMORY_SECONDS."
        )


@receiver(post_save, sender=Retailer)
@receiver(post_delete, sender=Retailer)
def retailers_changed(sender, **kwargs) -> None:
    if shared_cache.counters_native():
        transaction.on_commit(_epoch_bump)
