"""Django's Redis cache backend, keeping one client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call, and
redis-py's constructor fills a table of ~200 response callbacks each time: two throttle
calls per API request cost more CPU than their round trips. The client is thread-safe and
its pool checks the process id after a fork, so one per pool is enough.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

# INCR a counter and give a new one its expiry, in one round trip; returns the count and the
# milliseconds until the window closes.
_WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
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


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._window_scripts = {}

    def window_incr(self, key: str, seconds: float) -> tuple[int, float]:
        """Count one request in `key`'s window, opening a window of `seconds` if none is open.

        Returns the count so far and the seconds until the window closes (rate limits:
        orders/api/throttles.py). Atomic, and one round trip.
        """
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        script = self._window_scripts.get(id(client))
        if script is None:
            script = self._window_scripts[id(client)] = client.register_script(_WINDOW_SCRIPT)
        count, ttl_ms = script(keys=[key], args=[max(1, int(seconds * 1000))])
        return int(count), max(0, int(ttl_ms)) / 1000
