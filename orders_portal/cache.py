"""Django's Redis cache backend, keeping one client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call, and
redis-py's constructor fills a table of ~200 response callbacks each time: two throttle
calls per API request cost more CPU than their round trips. The client is thread-safe and
its pool checks the process id after a fork, so one per pool is enough.

It is also the project's `CounterCache` (common/cache.py): window counters and epochs as one
Lua script call each.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.cache import CounterCache, epoch_new

# INCR a counter and give a new one its expiry, in one round trip; returns the count, the
# milliseconds until the window closes and, given a second key, that key's value (an epoch).
_WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local value = false
if KEYS[2] then value = redis.call('GET', KEYS[2]) end
return {count, redis.call('PTTL', KEYS[1]), value}
"""

# An epoch's value, set to ARGV[1] first if it has none (a new or restarted Redis, an evicted
# key): a value once read is never read again after any change of it.
_EPOCH_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache, CounterCache):
    unavailable_errors = (RedisConnectionError, RedisTimeoutError)

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._scripts = {}

    def window_incr(
        self, key: str, seconds: float, *, epoch: str | None = None
    ) -> tuple[int, float, str | None]:
        """Count one request in `key`'s window, opening a window of `seconds` if none is open.

        Returns the count so far, the seconds until the window closes (rate limits:
        orders/api/throttles.py) and, if asked, the epoch's value (None if it has none).
        Atomic, and one round trip.
        """
        keys = [self.make_and_validate_key(key)]
        if epoch is not None:
            keys.append(self.make_and_validate_key(epoch))
        count, ttl_ms, value = self._script("window", _WINDOW_SCRIPT, keys[0])(
            keys=keys, args=[max(1, int(seconds * 1000))]
        )
        return int(count), max(0, int(ttl_ms)) / 1000, _text(value)

    # Epochs (common/cache.py): random strings, so a Redis that lost its data never hands
    # back a value seen before.

    def epoch_get(self, key: str) -> str:
        """The epoch's value, giving it a new one if it has none. One round trip."""
        key = self.make_and_validate_key(key)
        return _text(self._script("epoch", _EPOCH_SCRIPT, key)(keys=[key], args=[epoch_new()]))

    def epoch_bump(self, key: str) -> None:
        """Give the epoch a new value: everything remembered under the old one is forgotten."""
        key = self.make_and_validate_key(key)
        self._cache.get_client(key, write=True).set(key, epoch_new())

    def _script(self, name: str, source: str, key: str):
        client = self._cache.get_client(key, write=True)
        script = self._scripts.get((name, id(client)))
        if script is None:
            script = self._scripts[(name, id(client))] = client.register_script(source)
        return script


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
