"""Per-credential rate limits (429 with Retry-After), counted in the shared cache.

A window of the rate's length opens at a credential's first request and counts requests;
past the limit, requests get 429 until the window closes, and Retry-After says when that
is. The window is common/cache.py's counter: one script call on Redis, the atomic add/incr
on other caches. DRF's default throttle
keeps a list of every request time in the window instead, read and written back whole on
every request: at a high rate that list is thousands of entries (most of a page's CPU in
bench/api.py), and two workers racing between the read and the write lose counts. The rate
strings are DRF's ("600/min").
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from common.cache import epoch_get, window_incr
from common.ratelimit import window_count


class _CredentialThrottle(SimpleRateThrottle):
    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.key_for(request.auth.pk)

    def key_for(self, ident) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}

    @classmethod
    def count_with_epoch(cls, request, *, ident, epoch_key: str) -> str | None:
        """Count this request in credential `ident`'s window and read an epoch, in one Redis
        call (common/cache.py); allow_request then uses the count. For authentication
        that checks what it remembers against the epoch (orders/api/auth.py)."""
        throttle = cls()
        if throttle.rate is None:
            return epoch_get(epoch_key, cache=throttle.cache)
        key = throttle.key_for(ident)
        count, remaining, epoch = window_incr(
            key, throttle.duration, epoch=epoch_key, cache=throttle.cache
        )
        request._throttle_counted = (key, count, remaining)
        return epoch

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self._wait = None
        counted = getattr(request, "_throttle_counted", None)
        if counted is not None and counted[0] == key:
            _, count, remaining = counted  # counted by authentication, same window
        else:
            count, remaining = window_count(key, self.duration, cache=self.cache)
        if count <= self.num_requests:
            return True
        self._wait = max(1.0, remaining)
        return False

    def wait(self) -> float | None:
        return self._wait


class RetailerKeyThrottle(_CredentialThrottle):
    scope = "retailer_key"


class SupplierTokenThrottle(_CredentialThrottle):
    scope = "supplier_token"
