"""The Redis cache backend (orders_portal/cache.py), against a real redis-server of its own."""

import pytest

from orders_portal.cache import RedisCache
from testsupport.executables import require_executable


@pytest.fixture
def redis_cache():
    from testsupport.processes import RedisServer

    require_executable(["redis-server"], "redis-server")
    server = RedisServer().start()
    try:
        yield RedisCache(server.url(0), {})
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    "cache_url, backend",
    [
        ("redis://127.0.0.1:6379/3", "orders_portal.cache.RedisCache"),
        ("locmemcache://", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_settings_pick_it_for_a_redis_cache_url(tmp_path, cache_url, backend):
    from orders_portal.tests.test_settings import clean_env, python

    result = python(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'])",
        clean_env(tmp_path, DEBUG="true", CACHE_URL=cache_url),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


def test_it_is_a_working_cache_that_keeps_one_client(redis_cache):
    redis_cache.set("greeting", {"hello": "world"}, 30)
    assert redis_cache.get("greeting") == {"hello": "world"}
    assert redis_cache.add("counter", 1, 30) is True
    assert redis_cache.add("counter", 1, 30) is False
    assert redis_cache.incr("counter") == 2
    assert redis_cache.touch("counter", 5) is True
    with pytest.raises(ValueError):
        redis_cache.incr("missing")
    client = redis_cache._cache.get_client("greeting", write=True)
    assert redis_cache._cache.get_client("counter", write=True) is client
    assert client.ttl(redis_cache.make_and_validate_key("counter")) <= 5


def test_a_rate_window_counts_in_one_call_and_closes(redis_cache):
    from testsupport.waiting import wait_until

    assert redis_cache.window_incr("throttle_x", 60)[0] == 1
    count, remaining, _ = redis_cache.window_incr("throttle_x", 60)
    assert count == 2 and 59 <= remaining <= 60
    client = redis_cache._cache.get_client("throttle_x", write=True)
    assert 0 < client.pttl(redis_cache.make_and_validate_key("throttle_x")) <= 60_000

    assert redis_cache.window_incr("throttle_short", 0.3)[0] == 1
    wait_until(
        lambda: redis_cache.window_incr("throttle_short", 0.3)[0] == 1,
        timeout=5,
        interval=0.05,
        message="the window never closed",
    )


def test_it_is_the_counter_cache_the_shared_helpers_use(redis_cache):
    """common/cache.py takes the native path on it: one call, and the epoch read with it."""
    from common import cache as shared

    assert shared.counters_native(redis_cache)
    first = shared.window_incr("w", 60, epoch="e", cache=redis_cache)
    assert first.count == 1 and 59 <= first.remaining <= 60 and first.epoch is None
    value = shared.epoch_get("e", cache=redis_cache)
    window = shared.window_incr("w", 60, epoch="e", cache=redis_cache)
    assert window.count == 2 and window.epoch == value
    shared.epoch_bump("e", cache=redis_cache)
    assert shared.epoch_get("e", cache=redis_cache) != value


def test_windows_and_epochs_answer_while_the_cache_is_down(redis_as_the_cache):
    from common import cache as shared

    assert shared.window_incr("w", 60).count == 1
    first = shared.epoch_get("e")
    redis_as_the_cache.stop()
    assert shared.window_incr("w", 60, epoch="e") == (0, 60.0, None)  # not counted: allowed
    down = shared.epoch_get("e")
    assert down not in (None, first)  # a value nothing remembered carries
    assert shared.epoch_get("e") != down


@pytest.mark.django_db
def test_an_intake_answers_201_while_the_cache_is_down(redis_as_the_cache, retailer_client, acme):
    """Redis (the shared cache) stopped: intakes still answer 201 and store their orders,
    the key read from the database; before, every API request was a 500 until Redis was
    back (bench/chaos.py)."""
    from orders.models import Order
    from testsupport.factories import intake_payload

    url = "/api/v1/retailer/orders"
    response = retailer_client.post(url, intake_payload(reference="R-UP"), format="json")
    assert response.status_code == 201
    redis_as_the_cache.stop()
    for reference in ("R-DOWN-1", "R-DOWN-2"):
        response = retailer_client.post(url, intake_payload(reference=reference), format="json")
        assert response.status_code == 201, response.content
    references = set(Order.objects.values_list("retailer_reference", flat=True))
    assert references == {"R-UP", "R-DOWN-1", "R-DOWN-2"}
