"""The Redis broker transport: kombu's, with one fix, so a Celery worker survives Redis
restarting (bench/chaos.py saw a worker exit, status 1, at each Redis restart under load).

Celery 5.7.0's consumer, on losing the broker, first `collect()`s the connection, which
detaches its transport (`transport.client = None`), and then closes the same connection
(celery/worker/consumer/consumer.py, `on_connection_error_after_connected`, since celery
PR #10242). Closing its channel puts the worker's unacknowledged messages back, which needs a
Redis client; kombu builds one from `transport.client` and, finding None, raised
AttributeError ("'NoneType' object has no attribute 'hostname'"). Celery ignores only the
transport's connection errors there, so the AttributeError was "Unrecoverable" and the
worker exited. Here the detached channel says what happened in the transport's own terms, a
connection error, which celery ignores before it reconnects as usual.

Nothing is lost: the messages stay in Redis's unacknowledged set and are put back after the
visibility timeout, as for a worker that died, and the delivery rows are in the database
anyway (the sweeper queues them again). Used for `redis://` broker URLs (settings/celery.py).
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel is closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
