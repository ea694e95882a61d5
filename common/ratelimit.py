"""Fixed-window counters in the shared cache: the one way the project counts events to limit.

A window of the rate's length opens at a key's first event and counts events until it closes.
The counting itself is common/cache.py's window counter: one atomic call on the project's
Redis cache, the backend's atomic add/incr on any other. Rates are written as DRF's are:
"5/hour", "600/min".
"""

from __future__ import annotations

from .cache import window_incr

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
    count, remaining, _ = window_incr(key, seconds, cache=cache)
    return count, remaining
