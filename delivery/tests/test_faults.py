"""Faults on PostgreSQL and Redis, with a real Celery worker subprocess.

The broker is down while orders are placed; a worker is SIGKILLed mid-delivery. Every order
still reaches the webhook, with its one identity, and the database never holds two deliveries
for one (event, destination).
"""

import json
import time

import pytest
from django.db import connection
from django.db.models import Count

from delivery.models import Delivery, DeliveryStatus
from delivery.queue import broker_backoff_reset
from delivery.services import destination_disable, destination_set_webhook
from orders.models import OrderEvent
from suppliers.services import supplier_create
from testsupport.executables import require_executable
from testsupport.factories import make_products, make_retailer, place_order
from testsupport.http import Answer
from testsupport.processes import CeleryWorker, RedisServer, celery_broker, database_url_for
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stack(on_postgres, http_receiver, settings):
    """Own redis-server, a worker with beat (sweeper every second), a webhook supplier."""
    require_executable(["redis-server"], "redis-server")
    redis = RedisServer().start()
    worker = CeleryWorker(
        env={
            "DATABASE_URL": database_url_for(connection.settings_dict),
            "CELERY_BROKER_URL": redis.url(0),
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "WEBHOOK_TIMEOUT_SECONDS": "4",
            "DELIVERY_CLAIM_SECONDS": "6",
            "DELIVERY_REQUEUE_AFTER_SECONDS": "1",
            "DELIVERY_DISPATCH_GRACE_SECONDS": "1",
            "SWEEP_INTERVAL_SECONDS": "1",
            "DELIVERY_BROKER_BACKOFF_SECONDS": "1",
            "EMAIL_URL": "consolemail://",
        },
        beat=True,
    )
    supplier = supplier_create(slug="cole", name="Cole", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    destination_disable(supplier=supplier, channel="email")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on loopback
    destination_set_webhook(supplier=supplier, url=http_receiver.url + "/hook")
    retailer, _ = make_retailer(slug="shopco")
    broker_backoff_reset()
    try:
        with celery_broker(redis.url(0)):
            yield redis, worker, retailer
    finally:
        worker.cleanup()
        redis.cleanup()
        broker_backoff_reset()


def assert_one_row_per_event_and_target():
    duplicates = (
        Delivery.objects.values("event_id", "target_key").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert list(duplicates) == []


def test_broker_down_while_orders_are_placed(stack, http_receiver, settings):
    redis, worker, retailer = stack
    settings.DELIVERY_BROKER_BACKOFF_SECONDS = 1
    worker.start()
    redis.stop()  # the broker goes away
    started = time.monotonic()
    orders = [
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(5)
    ]
    # Placing orders never failed and never hung on the broker for long.
    assert time.monotonic() - started < 30
    assert OrderEvent.objects.filter(dispatched_at__isnull=False).count() == 5
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 5
    assert http_receiver.requests == []

    redis.start()  # same port: the worker and beat reconnect, the sweeper queues the rows
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 5,
        timeout=90,
        interval=0.2,
        message=f"not every order delivered; worker log: {worker.log_tail()}",
    )
    ids = [r.headers["webhook-id"] for r in http_receiver.requests]
    deliveries = Delivery.objects.filter(channel="webhook")
    assert sorted(ids) == sorted(deliveries.values_list("identity", flat=True))  # once each
    numbers = {d.event.order.number for d in deliveries.select_related("event__order")}
    assert numbers == {o.number for o in orders}
    assert_one_row_per_event_and_target()


def test_worker_killed_mid_delivery(stack, http_receiver):
    redis, worker, retailer = stack
    # The receiver stalls on the first request; the worker is killed while it waits.
    http_receiver.script(Answer(status=200, delay=60))
    worker.start()
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    http_receiver.wait_for(1, timeout=60)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.claimed_until is not None and delivery.status == DeliveryStatus.PENDING
    worker.kill()  # SIGKILL, whole process group, mid-request
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING

    worker.start()
    wait_until(
        lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED,
        timeout=90,
        interval=0.2,
        message=f"not delivered after restart; worker log: {worker.log_tail()}",
    )
    first, second = http_receiver.requests[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.identity
    assert len({r.headers["webhook-id"] for r in http_receiver.requests}) == 1
    delivery.refresh_from_db()
    assert delivery.attempt_count >= 2
    assert delivery.attempts.filter(success=True).count() == 1
    assert Delivery.objects.filter(event__order=order).count() == 1
    assert_one_row_per_event_and_target()


def test_the_sweeper_does_not_flood_a_queue_the_workers_are_behind_on(
    stack, http_receiver, settings
):
    """Found by bench/chaos.py: with workers behind (a backlog after an outage), each sweep
    queued every stale row again; the queue grew faster than it drained, and rows waited
    minutes behind thousands of tasks that found nothing to do."""

    redis, worker, retailer = stack
    with celery_broker(redis.url(0)):  # a fresh publishing pool (earlier tests closed theirs)
        _sweep_against_a_long_queue(retailer, worker, http_receiver, settings)


def _sweep_against_a_long_queue(retailer, worker, http_receiver, settings):
    from datetime import timedelta

    from django.utils import timezone

    from delivery.queue import broker_queue_depth
    from delivery.services import deliveries_sweep

    broker_backoff_reset()
    base = broker_queue_depth() or 0  # the queue this process publishes to, as it is now
    settings.DELIVERY_SWEEP_QUEUE_LIMIT = base + 5
    settings.DELIVERY_REQUEUE_AFTER_SECONDS = 60
    for _ in range(3):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    assert broker_queue_depth() == base + 3  # queued at commit; no worker runs yet

    def stale() -> None:
        Delivery.objects.update(queued_at=timezone.now() - timedelta(minutes=5))

    stale()
    assert deliveries_sweep().deliveries_queued == 3  # a short queue: lost ones go again
    assert broker_queue_depth() == base + 6
    stale()
    assert deliveries_sweep().deliveries_queued == 0  # workers behind: nothing added
    assert broker_queue_depth() == base + 6

    worker.start()
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 3,
        timeout=90,
        interval=0.2,
        message=f"not delivered; worker log: {worker.log_tail()}",
    )
    ids = [r.headers["webhook-id"] for r in http_receiver.requests]
    assert sorted(ids) == sorted(Delivery.objects.values_list("identity", flat=True))


def test_a_worker_sending_when_redis_restarts_empty_stays_up_and_takes_new_work(
    stack, http_receiver
):
    """Redis goes away while the worker holds an unacknowledged task (a send in flight):
    the worker reconnects when Redis is back, and the next order is delivered by it. (With
    celery 5.7.0's own Redis transport, the worker exited here: orders_portal/broker.py.)"""
    redis, worker, retailer = stack
    http_receiver.script(Answer(status=200, delay=6))  # the first send is in flight a while
    worker.start()
    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    http_receiver.wait_for(1, timeout=60)
    redis.stop()
    wait_until(
        lambda: b"Connection to broker lost" in worker.log_path.read_bytes(),
        timeout=30,
        interval=0.1,
        message=f"the worker did not see Redis go; log: {worker.log_tail()}",
    )
    redis.start()  # same port, empty
    (second,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    wait_until(
        lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2,
        timeout=90,
        interval=0.2,
        message=f"not every order delivered; worker log: {worker.log_tail()}",
    )
    assert worker.proc.poll() is None, worker.log_tail()
    assert b"Unrecoverable error" not in worker.log_path.read_bytes()
    numbers = {json.loads(r.body)["data"]["number"] for r in http_receiver.requests}
    assert second.number in numbers
    assert_one_row_per_event_and_target()
