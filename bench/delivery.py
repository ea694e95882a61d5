"""Benchmark: order commit -> signed webhook received, through a real Celery worker on Redis.

Against a plain `requests.post` loop to the same local receiver, in the same run:

1. plain loop: BENCH_N POSTs of a same-sized JSON body, one after another (posts/s, p50).
2. throughput: BENCH_N orders placed (PostgreSQL) and dispatched in this process while the
   worker is stopped, so BENCH_N `delivery.send` tasks wait in Redis; the worker starts and
   we time first to last webhook received (deliveries/s). Goal: >= 0.5 of the plain loop.
3. latency: BENCH_LATENCY_N orders placed one at a time, as production runs: this process
   only commits (DELIVERY_DISPATCH=listener), a `dispatch_events` process woken by the
   commit's NOTIFY makes the rows and queues the send, the worker sends. Each is timed from
   its commit (the committed-events signal) to its webhook's arrival at the receiver.
   Goal: p50 added latency (minus the plain loop's p50) < 20 ms.

    DEBUG=true .venv/bin/python bench/delivery.py                 # N=1000, latency N=200
    BENCH_N=200 BENCH_LATENCY_N=50 DEBUG=true .venv/bin/python bench/delivery.py

Environment: BENCH_N, BENCH_LATENCY_N, BENCH_WORKER_CONCURRENCY (default 4),
DELIVERY_DESTINATION_BATCH (passed to the worker; default from settings, 50),
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/op_delivery),
BENCH_BROKER_URL (default redis://127.0.0.1:6379/2).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_N", "1000"))
LATENCY_N = int(os.environ.get("BENCH_LATENCY_N", "200"))
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "4"))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_delivery"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/2")

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CELERY_BROKER_URL"] = BROKER_URL
os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
sys.path.insert(0, str(BASE_DIR))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    import django

    from bench.databases import database_ensure

    database_ensure(DATABASE_URL)
    django.setup()
    import requests
    from celery import current_app
    from django.conf import settings
    from django.core.management import call_command

    from delivery.models import Delivery, DeliveryStatus
    from delivery.services import destination_disable, destination_set_webhook
    from orders.documents import order_document, orders_with_document_relations
    from orders.models import Order
    from orders.services import order_place_from_retailer, retailer_create
    from orders.signals import order_events_committed
    from suppliers.services import supplier_create
    from testsupport.factories import make_products
    from testsupport.http import HTTPReceiver
    from testsupport.processes import CeleryWorker, Dispatcher
    from testsupport.waiting import wait_until

    call_command("migrate", verbosity=0)
    run = f"b{int(time.time())}"
    supplier = supplier_create(slug=run, name="Bench", order_emails=f"po@{run}.example")
    make_products(supplier=supplier, skus={f"{run.upper()}-1": "9.50"})
    destination_disable(supplier=supplier, channel="email")
    retailer, _ = retailer_create(slug=f"r{run}", name="Bench Retailer", email="r@bench.example")

    receiver = HTTPReceiver().start()
    destination, _ = destination_set_webhook(supplier=supplier, url=receiver.url + "/hook")
    current_app.control.purge()  # leftovers of an earlier run in this Redis db

    # When each order's events committed: a receiver placed first on the signal.
    committed_at: dict[int, float] = {}

    def on_committed(sender, event_ids, **kwargs):
        now = time.time()
        for event_id in event_ids:
            committed_at[event_id] = now

    order_events_committed.connect(on_committed, weak=False, dispatch_uid="bench")
    order_events_committed.receivers.insert(0, order_events_committed.receivers.pop())
    order_events_committed.sender_receivers_cache.clear()

    counter = iter(range(10**9))

    def place() -> Order:
        payload = {
            "reference": f"{run}-{next(counter)}",
            "customer": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+44 1"},
            "shipping_address": {
                "name": "Ann Lee",
                "line1": "1 High St",
                "city": "Leeds",
                "postcode": "LS1 1AA",
                "country": "GB",
            },
            "lines": [{"sku": f"{run.upper()}-1", "quantity": 2}],
        }
        return order_place_from_retailer(retailer=retailer, payload=payload).orders[0]

    worker = CeleryWorker(
        env={
            "DATABASE_URL": DATABASE_URL,
            "CELERY_BROKER_URL": BROKER_URL,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "LOG_LEVEL": "WARNING",
            **(
                {"DELIVERY_DESTINATION_BATCH": os.environ["DELIVERY_DESTINATION_BATCH"]}
                if "DELIVERY_DESTINATION_BATCH" in os.environ
                else {}
            ),
        },
        concurrency=CONCURRENCY,
    )
    dispatcher = Dispatcher(env={"DATABASE_URL": DATABASE_URL, "CELERY_BROKER_URL": BROKER_URL})
    settings.DELIVERY_DISPATCH = "inline"  # phases 1-2: rows and tasks made here, at once
    try:
        # 1. Plain loop, same receiver, same body size.
        sample = place()
        body = json.dumps(
            {
                "type": "order.created",
                "timestamp": "2026-11-27T10:00:00Z",
                "data": order_document(
                    orders_with_document_relations(Order.objects.filter(pk=sample.pk)).get()
                ),
            }
        ).encode()
        receiver.requests.clear()
        plain_latencies = []
        t0 = time.perf_counter()
        for _ in range(N):
            start = time.time()
            requests.post(
                receiver.url + "/plain",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=10,
            )
            plain_latencies.append(receiver.requests[-1].received_at - start)
        plain_elapsed = time.perf_counter() - t0
        plain_rate = N / plain_elapsed

        # 2. Throughput: N tasks waiting in Redis, then the worker drains them.
        receiver.requests.clear()
        placing = time.perf_counter()
        for _ in range(N):
            place()
        placing = time.perf_counter() - placing
        worker.start()
        wait_until(
            lambda: len(receiver.requests) >= N + 1,  # + the sample order
            timeout=max(120, N / 5),
            interval=0.05,
            message="not every webhook arrived",
        )
        times = sorted(r.received_at for r in receiver.requests)
        webhook_rate = (len(times) - 1) / (times[-1] - times[0])

        # The tasks of rows that went out with their destination's batch are still queued
        # (each finds nothing to do): let them drain so they do not delay the next phase.
        import redis

        broker = redis.Redis.from_url(BROKER_URL)
        wait_until(lambda: broker.llen("celery") == 0, timeout=300, interval=0.05)
        time.sleep(0.5)  # the last few in flight

        # 3. Latency, one order at a time, dispatched by the dispatcher process.
        settings.DELIVERY_DISPATCH = "listener"
        dispatcher.start()
        receiver.requests.clear()
        latencies = []
        for _ in range(LATENCY_N):
            before = len(receiver.requests)
            order = place()
            wait_until(lambda n=before: len(receiver.requests) > n, timeout=30, interval=0.001)
            event_id = order.events.get().pk
            request = receiver.requests[before]
            assert json.loads(request.body)["data"]["number"] == order.number
            latencies.append(request.received_at - committed_at[event_id])

        delivered = Delivery.objects.filter(supplier=supplier, status=DeliveryStatus.DELIVERED)
        total = Delivery.objects.filter(supplier=supplier).count()
        wait_until(lambda: delivered.count() == total, timeout=30, interval=0.05)
        ms = 1000
        print(f"delivery benchmark: N={N}, latency N={LATENCY_N}, worker concurrency {CONCURRENCY}")
        print(f"  database {DATABASE_URL.rsplit('/', 1)[-1]}, broker {BROKER_URL}")
        print(
            f"  placing {N} orders (intake + inline dispatch + publish): {N / placing:.0f} orders/s"
        )
        print(
            f"  plain requests.post loop:   {plain_rate:8.1f} posts/s      "
            f"p50 {pct(plain_latencies, 50) * ms:6.2f} ms  "
            f"p99 {pct(plain_latencies, 99) * ms:6.2f} ms"
        )
        print(
            f"  webhooks via Celery/Redis:  {webhook_rate:8.1f} deliveries/s "
            f"p50 {pct(latencies, 50) * ms:6.2f} ms  p99 {pct(latencies, 99) * ms:6.2f} ms"
            " (commit -> NOTIFY -> dispatcher -> worker -> received)"
        )
        added = (pct(latencies, 50) - pct(plain_latencies, 50)) * ms
        ratio = webhook_rate / plain_rate
        print(
            f"  throughput ratio webhooks/plain: {ratio:.2f} (goal >= 0.5) "
            f"{'OK' if ratio >= 0.5 else 'MISSED'}"
        )
        print(
            f"  p50 added latency: {added:.2f} ms (goal < 20 ms) {'OK' if added < 20 else 'MISSED'}"
        )
        print(f"  rows: {delivered.count()} delivered of {total}")
    finally:
        dispatcher.cleanup()
        worker.cleanup()
        receiver.stop()


if __name__ == "__main__":
    main()
