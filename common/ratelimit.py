"""Fixed-window counters in the shared cache: the one way the project counts events to limit.

A window of the rate's length opens at a key's first event and counts events until it closes.
On the project's Redis cache the count, the window's expiry and its remaining time are one
atomic script call (`window_incr`, orders_portal/cache.py); on other caches the backend's
atomic add/incr. Rates are written as DRF's are: "5/hour", "600/min".
"""

from __future__ import annotations

import time

from django.core.cache import cache as default_cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """(events, seconds) of a rate such as "5/hour"; ValueError naming it when it is not one."""
    count, _, period = (rate or "").partition("/")
    try:
        events, seconds = int(count), _PERIODS[period.strip()[:1].lower()]
    except (ValueError, KeyError):
        raise ValueError(f"{rate!r} is not a rate such as '5/hour' or '600/min'.") from None
    if events < 0:
        raise ValueError(f"{rate!r} is not a rate such as '5/hour' or '600/min'.")
    return events, seconds


def window_count(key: str, seconds: float, *, cache=None) -> tuple[int, float]:
    """Count one event in `key`'s window; return the count so far (this one included) and the
    seconds until the window closes."""
    cache = cache or default_cache
    window_incr = getattr(cache, "window_incr", None)
    if window_incr is not None:  # Redis (orders_portal/cache.py): one atomic round trip
        count, remaining, _ = window_incr(key, seconds)
        return count, remaining
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
