"""Window counters and epochs (common/cache.py) on a cache without native ones (locmem).

The Redis backend's native path is tested against a real redis-server in
orders_portal/tests/test_cache.py.
"""

from django.core.cache.backends.locmem import LocMemCache

from common import cache as shared
from testsupport.waiting import wait_until


def locmem(name: str) -> LocMemCache:
    return LocMemCache(name, {})


def test_a_plain_cache_is_not_native_and_still_counts_a_window():
    cache = locmem("window")
    assert not shared.counters_native(cache)
    first = shared.window_incr("k", 60, cache=cache)
    assert (first.count, first.remaining, first.epoch) == (1, 60.0, None)
    second = shared.window_incr("k", 60, cache=cache)
    assert second.count == 2 and 59 <= second.remaining <= 60
    assert shared.window_incr("other", 60, cache=cache).count == 1


def test_a_plain_cache_window_closes():
    cache = locmem("short")
    assert shared.window_incr("k", 0.3, cache=cache).count == 1
    assert shared.window_incr("k", 0.3, cache=cache).count == 2
    wait_until(
        lambda: shared.window_incr("k", 0.3, cache=cache).count == 1,
        timeout=5,
        interval=0.05,
        message="the window never closed",
    )


def test_a_plain_cache_keeps_an_epoch_until_it_is_bumped():
    cache = locmem("epoch")
    assert shared.window_incr("k", 60, epoch="e", cache=cache).epoch is None  # none yet
    value = shared.epoch_get("e", cache=cache)
    assert value and shared.epoch_get("e", cache=cache) == value
    assert shared.window_incr("k", 60, epoch="e", cache=cache).epoch == value
    shared.epoch_bump("e", cache=cache)
    bumped = shared.epoch_get("e", cache=cache)
    assert bumped != value
    cache.clear()  # a cache that lost its data never hands back a value seen before
    assert shared.epoch_get("e", cache=cache) not in (value, bumped)


def test_a_counter_cache_is_asked_natively():
    """A backend that declares the interface gets the calls itself (no probing)."""
    calls = []

    class Native(LocMemCache, shared.CounterCache):
        def window_incr(self, key, seconds, *, epoch=None):
            calls.append(("window", key, seconds, epoch))
            return 7, 12.5, "e1"

        def epoch_get(self, key):
            calls.append(("get", key))
            return "e1"

        def epoch_bump(self, key):
            calls.append(("bump", key))

    cache = Native("native", {})
    assert shared.counters_native(cache)
    assert shared.window_incr("k", 60, epoch="e", cache=cache) == (7, 12.5, "e1")
    assert shared.epoch_get("e", cache=cache) == "e1"
    shared.epoch_bump("e", cache=cache)
    assert calls == [("window", "k", 60, "e"), ("get", "e"), ("bump", "e")]
    assert cache.get("k") is None  # nothing went through the fallback


def test_the_default_cache_is_seen_through_its_proxy(settings):
    """`django.core.cache.cache` (DRF's throttles use it) is a proxy to the backend."""
    from django.core.cache import cache

    # Django's test signals give the proxy the new setting's backend.
    settings.CACHES = {"default": {"BACKEND": "common.tests.test_cache.NativeCache"}}
    assert shared.counters_native(cache) and shared.counters_native()
    assert shared.window_incr("k", 60, cache=cache) == (7, 12.5, "e1")


class NativeCache(LocMemCache, shared.CounterCache):
    def window_incr(self, key, seconds, *, epoch=None):
        return 7, 12.5, "e1"

    def epoch_get(self, key):
        return "e1"

    def epoch_bump(self, key):
        pass
