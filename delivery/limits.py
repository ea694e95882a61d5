"""How often a supplier may open an SFTP connection from the settings page.

"Fetch fingerprint" and "Test connection" each connect to a host the supplier names; without a
limit, a loop of them is a port scanner and holds web workers. Counted per supplier in a
window of one minute in the shared cache: on Redis with the atomic window counter the API
throttles use (orders_portal/cache.py, orders/api/throttles.py), elsewhere with the cache's
atomic add and incr.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


def sftp_probe_wait(*, supplier_id: int) -> float | None:
    """Count one fetch or test; None when allowed, else the seconds until the next is."""
    limit = settings.SFTP_PROBES_PER_MINUTE
    key = f"sftp-probe:{supplier_id}"
    window_incr = getattr(cache, "window_incr", None)
    if window_incr is not None:
        count, remaining, _ = window_incr(key, WINDOW_SECONDS)
    else:
        if cache.add(key, 1, WINDOW_SECONDS):
            cache.set(f"{key}:opened", time.time(), WINDOW_SECONDS)
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the window closed in between: open a new one
                cache.add(key, 1, WINDOW_SECONDS)
                cache.set(f"{key}:opened", time.time(), WINDOW_SECONDS)
                count = 1
        opened = cache.get(f"{key}:opened")
        remaining = WINDOW_SECONDS - (time.time() - opened) if opened else WINDOW_SECONDS
    if count <= limit:
        return None
    return max(1.0, remaining)
