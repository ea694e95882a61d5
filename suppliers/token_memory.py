"""What a web process remembers of the supplier API tokens it has recently authenticated.

Reading the token from PostgreSQL was one database round trip of a supplier API page's two.
A process now remembers a token it has read for SUPPLIER_API_TOKEN_MEMORY_SECONDS (default
10) and, on every request, checks that no token or supplier changed since: the request's
rate-limit call to Redis also reads a shared epoch (orders/api/auth.py), which every change
to a token or a supplier replaces once it commits (suppliers/signals.py). A replaced epoch
makes the process forget all it remembers and read PostgreSQL again, so a revoked token, or
one of a deactivated supplier, is refused at once by every process, as before.

The epoch is read before the token is, so a change committing in between is never
remembered under the new epoch. If an epoch cannot be replaced (Redis reachable from the web
processes but not from the one that made the change; the error is logged), a process may
accept a revoked token until its memory of it expires. Changes made with QuerySet.update()
or SQL send no signal and are likewise seen within that time.

Only with a cache that keeps epochs natively, in the rate-limit call's round trip (the Redis
backend: common/cache.py's CounterCache); with any other cache, or 0 seconds, every request
reads PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from common import cache as shared_cache

from .models import ApiToken
from .selectors import api_token_loaded

EPOCH_KEY = "suppliers:api_tokens:epoch"
MAX_REMEMBERED = 10_000


@dataclass
class RememberedToken:
    token_id: int
    supplier_id: int
    supplier_slug: str
    last_used_at: datetime | None
    scope: str
    name: str
    epoch: str
    expires_at: float

    def token(self) -> ApiToken:
        """A fresh ApiToken (with its supplier) as api_token_authenticate would load it."""
        return api_token_loaded(
            token_id=self.token_id,
            supplier_id=self.supplier_id,
            last_used_at=self.last_used_at,
            supplier_slug=self.supplier_slug,
            scope=self.scope,
            name=self.name,
        )


_remembered: dict[str, RememberedToken] = {}


def enabled() -> bool:
    return settings.SUPPLIER_API_TOKEN_MEMORY_SECONDS > 0 and epochs_shared()


def epochs_shared() -> bool:
    """True when the cache keeps an epoch that every process shares (Redis)."""
    return shared_cache.counters_native()


def recall(digest: str) -> RememberedToken | None:
    entry = _remembered.get(digest)
    if entry is not None and entry.expires_at <= time.monotonic():
        _remembered.pop(digest, None)
        return None
    return entry


def remember(digest: str, token: ApiToken, *, epoch: str) -> RememberedToken:
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    entry = _remembered[digest] = RememberedToken(
        token_id=token.pk,
        supplier_id=token.supplier_id,
        supplier_slug=token.supplier.slug,
        last_used_at=token.last_used_at,
        scope=token.scope,
        name=token.name,
        epoch=epoch,
        expires_at=time.monotonic() + settings.SUPPLIER_API_TOKEN_MEMORY_SECONDS,
    )
    return entry


def forget_all() -> None:
    _remembered.clear()


def epoch_current() -> str:
    return shared_cache.epoch_get(EPOCH_KEY)


def epoch_bump() -> None:
    shared_cache.epoch_bump(EPOCH_KEY)
