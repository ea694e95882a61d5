"""Window counters and epochs on any Django cache, through one typed interface.

Two operations the project needs from its shared cache:
- a window counter: count one event in a key's window, opening a window of N seconds at the
  first event, and say how long the window has left (rate limits: common/ratelimit.py,
  orders/api/throttles.py, delivery/limits.py);
- an epoch: a shared value that changes whenever what processes remember must be forgotten
  (suppliers/token_memory.py). It is a random string, not a counter, so that a cache that lost
  its data never hands back a value seen before.

A backend that does both natively (atomically, one round trip each; the project's Redis
backend, orders_portal/cache.py) subclasses `CounterCache`. The functions here use it when the
cache is one and otherwise fall back to the atomic add/incr every Django cache has, so no
caller asks a cache what methods it has.

While the cache's server cannot be reached (Redis restarting, bench/chaos.py's fault), a
window counts nothing (the request is allowed: rate limits are off for the outage) and an
epoch reads as a new random value that nothing remembered carries, so every process reads
keys and tokens from the database. The APIs go on answering (before, every API request was
a 500 until Redis was back). `epoch_bump` still raises: its callers log it.
"""

from __future__ import annotations

import logging
import secrets
import time
from abc import ABC, abstractmethod
from typing import NamedTuple

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache import cache as default_cache

logger = logging.getLogger(__name__)
# At most one warning per process this often while the cache is unreachable.
OUTAGE_LOG_SECONDS = 10.0
_outage_logged_at = 0.0


class Window(NamedTuple):
    count: int  # events in this window so far, this one included
    remaining: float  # seconds until the window closes
    epoch: str | None  # the epoch's value, when one was asked for


class CounterCache(ABC):
    """A cache backend with native window counters and epochs (mixed into a BaseCache)."""

    #: What its calls raise while its server cannot be reached.
    unavailable_errors: tuple[type[BaseException], ...] = ()

    @abstractmethod
    def window_incr(
        self, key: str, seconds: float, *, epoch: str | None = None
    ) -> tuple[int, float, str | None]:
        """Count one event in `key`'s window and, given `epoch`, read that epoch (None if it
        has none); atomic, one round trip. Returns (count, seconds left, epoch value)."""

    @abstractmethod
    def epoch_get(self, key: str) -> str:
        """The epoch's value, giving it a new one if it has none."""

    @abstractmethod
    def epoch_bump(self, key: str) -> None:
        """Give the epoch a new value."""


def _backend(cache: BaseCache | None) -> BaseCache:
    """The backend itself: `django.core.cache.cache` (DRF's throttles' too) is a proxy that no
    isinstance sees through."""
    if cache is None or cache is default_cache:
        return caches[DEFAULT_CACHE_ALIAS]
    return cache


def epoch_new() -> str:
    return secrets.token_hex(16)


def counters_native(cache: BaseCache | None = None) -> bool:
    """True when the cache counts windows and keeps epochs natively (one round trip, shared by
    every process: the Redis backend); other caches work through the fallback below."""
    return isinstance(_backend(cache), CounterCache)


def window_incr(
    key: str, seconds: float, *, epoch: str | None = None, cache: BaseCache | None = None
) -> Window:
    """Count one event in `key`'s window of `seconds` (opened by its first event)."""
    cache = _backend(cache)
    try:
        if isinstance(cache, CounterCache):
            return Window(*cache.window_incr(key, seconds, epoch=epoch))
        count, remaining = _window_incr_generic(cache, key, seconds)
        return Window(count, remaining, None if epoch is None else cache.get(epoch))
    except unavailable_errors(cache) as exc:
        outage_log(exc)
        return Window(0, float(seconds), None)  # not counted: allowed; no epoch to match


def epoch_get(key: str, *, cache: BaseCache | None = None) -> str:
    """The epoch's value, giving it a new one first if it has none."""
    cache = _backend(cache)
    if isinstance(cache, CounterCache):
        try:
            return cache.epoch_get(key)
        except cache.unavailable_errors as exc:
            outage_log(exc)
            return epoch_new()  # seen by no one: nothing remembered is trusted
    cache.add(key, epoch_new(), None)
    value = cache.get(key)
    if value is None:  # evicted between the two calls: a new value, seen by no one yet
        value = epoch_new()
        cache.set(key, value, None)
    return value


def epoch_bump(key: str, *, cache: BaseCache | None = None) -> None:
    """Give the epoch a new value: everything remembered under the old one is forgotten."""
    cache = _backend(cache)
    if isinstance(cache, CounterCache):
        cache.epoch_bump(key)
    else:
        cache.set(key, epoch_new(), None)


def unavailable_errors(cache: BaseCache) -> tuple[type[BaseException], ...]:
    """What `cache`'s calls raise while its server cannot be reached (none for a cache that
    does not say)."""
    return cache.unavailable_errors if isinstance(cache, CounterCache) else ()


def outage_log(exc: BaseException) -> None:
    """Warn that the shared cache is down, at most once per OUTAGE_LOG_SECONDS per process."""
    global _outage_logged_at  # noqa: PLW0603 - one timestamp per process
    now = time.monotonic()
    if now - _outage_logged_at >= OUTAGE_LOG_SECONDS:
        _outage_logged_at = now
        logger.warning(
            "The shared cache cannot be reached (%s): until it is back, rate limits are not "
            "counted, keys are read from the database and hosted SFTP login failures are "
            "counted per process.",
            exc,
        )


def _window_incr_generic(cache: BaseCache, key: str, seconds: float) -> tuple[int, float]:
    """A window on the cache's own atomic add and incr: the count, and the window's opening
    time kept beside it to tell how long it has left."""
    try:
        count = cache.incr(key)
        if count == 1:
            # The window expired between the backend's existence check and its increment,
            # which then made a key with no expiry: give it one.
            cache.touch(key, seconds)
    except ValueError:  # no open window: open one
        if cache.add(key, 1, seconds):
            cache.set(f"{key}:opened", time.time(), seconds)
            return 1, float(seconds)
        count = cache.incr(key)  # another process opened it just now
    opened = cache.get(f"{key}:opened")
    remaining = seconds - (time.time() - opened) if opened else float(seconds)
    return count, max(0.0, remaining)
