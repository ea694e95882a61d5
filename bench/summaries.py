"""Benchmark: build and send every retailer's monthly summary, against one SQL aggregate.

    .venv/bin/python bench/summaries.py

Loads BENCH_RETAILERS retailers (default 10,000) and BENCH_ORDERS orders (default 1,000,000)
into PostgreSQL (BENCH_DATABASE_URL, default the op_summaries database) with COPY, once: a
later run with the same sizes reuses them. 95% of the orders are placed in the summarised
month (last month), 5% in the month before; 8% are cancelled, 30% shipped; a fifth of the
earlier month's orders are cancelled during the summarised month (adjustments).
Since issue 12 every order has two lines, the cancelled ones their Cancellation records, and
1 in 20 of the others one unit cancelled (bench `line_level`, applied once), and 1 open order of
the month in 10, and every partly cancelled one, shipped in part (`part_shipped`, once).
Runs with production settings (DEBUG=false, a random SECRET_KEY) unless the environment
sets them; prints peak memory (this process, and its largest child) at the end.

Then, timed: (1) one SQL aggregate of the month per retailer, currency and status (the
baseline: the least work the database can do over these rows), (2) `summaries_send_for_month`
(figures, summary rows, delivery rows), (3) sending every summary email through the delivery
engine's batch send path (`deliveries_process_batch`: claim, render, one SMTP connection per
batch, attempts, delivered) to aiosmtpd in a subprocess. As in production, where Celery
workers send each chunk's deliveries as soon as its transaction commits, the sending runs in
BENCH_SEND_WORKERS worker processes (default 2, this machine's cores; forked, fed the queued
ids through a multiprocessing queue) while the build goes on in this process; with
BENCH_SEND_WORKERS=0 it runs synchronously in this process after the build. Prints time,
queries per retailer, summaries/s and the ratio to the aggregate.

Then memory by batching: a month three months earlier holds a skewed load (BENCH_SKEW_BIG
retailers, default 8, of BENCH_SKEW_BIG_ORDERS orders each, default 12,500, among the first
500 of BENCH_SKEW_SMALL retailers of 10 orders each, default 2,000; COPY, once; inactive, so
the summarised month's run skips them as empty). Its dry run (figures built, nothing written)
runs twice, each in a fresh process (this script with --memory-run BUDGET): batches of 500
retailers whatever their orders (before: a budget no batch reaches) and batches bounded by
SUMMARY_BATCH_ORDERS orders (after). Prints each one's batches, largest batch, time and the
peak memory it added (VmHWM after clear_refs, minus VmRSS at its start).

One script on purpose, over the usual module size: load, measure and report read top to
bottom, and nothing imports it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_summaries"
)
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "600000")
# Production settings unless the environment says otherwise (as bench/portal.py): with
# DEBUG=true Django also renders every statement for its query log, here 500 summaries' JSON
# per insert, work production never does.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")  # production refuses to start without
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
if "FIELD_ENCRYPTION_KEY" not in os.environ:
    from cryptography.fernet import Fernet

    os.environ["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()

import django  # noqa: E402

from bench.databases import database_ensure  # noqa: E402
from bench.processes import cpu_seconds  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

RETAILERS = int(os.environ.get("BENCH_RETAILERS", "10000"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
SEND_BATCH = int(os.environ.get("BENCH_SEND_BATCH", "200"))
SEND_WORKERS = int(os.environ.get("BENCH_SEND_WORKERS", "2"))
SKEW_BIG = int(os.environ.get("BENCH_SKEW_BIG", "8"))
SKEW_BIG_ORDERS = int(os.environ.get("BENCH_SKEW_BIG_ORDERS", "12500"))
SKEW_SMALL = int(os.environ.get("BENCH_SKEW_SMALL", "2000"))
SKEW_SMALL_ORDERS = 10
ORDER_COLUMNS = (
    "id, number, intake_id, supplier_id, retailer_id, retailer_reference, status, "
    "customer_name, customer_email, customer_phone, ship_name, ship_line1, ship_line2, "
    "ship_city, ship_region, ship_postcode, ship_country, currency, total, item_count, "
    "commission_rate, commission_amount, placed_at, created_at, updated_at, version, "
    "cancellation_reason, cancellation_note, cancelled_at, shipment_carrier, "
    "shipment_tracking_number, shipped_at, acknowledged_via, acknowledge_by"
)

SMTP_SERVER = r"""
import sys, threading
from aiosmtpd.controller import Controller
class C(Controller):
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
class H:
    count = 0
    size = 0
    async def handle_DATA(self, server, session, envelope):
        H.count += 1
        H.size += len(envelope.content)
        return "250 OK"
c = C(H(), hostname="127.0.0.1", port=0)
c.start()
print(c.port, flush=True)
sys.stdin.readline()
print(H.count, H.size, flush=True)
c.stop()
"""


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def loaded(month) -> bool:
    from orders.models import Order, Retailer

    return (
        Retailer.objects.filter(slug__startswith="bench-").count() == RETAILERS
        and Order.objects.filter(retailer__slug__startswith="bench-").count() == ORDERS
        and Order.objects.filter(retailer__slug="bench-0").exists()
        and Retailer.objects.filter(slug="bench-0", name__endswith=f"{month:%Y-%m}").exists()
    )


def load(month) -> None:
    from statements.months import month_bounds, month_previous
    from suppliers.services import supplier_create

    print(f"loading {RETAILERS:,} retailers and {ORDERS:,} orders with COPY ...", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE delivery_deliveryattempt, delivery_delivery, statements_monthlysummary, "
            "orders_orderevent, orders_orderline, orders_order, orders_orderintake, "
            "orders_retailer, delivery_destination, suppliers_supplier RESTART IDENTITY CASCADE"
        )
    suppliers = [
        supplier_create(slug="bench-acme", name="Acme Home Goods", order_emails="o@acme.example"),
        supplier_create(slug="bench-cogs", name="Cogs GmbH", order_emails="o@cogs.example"),
    ]
    start, end = month_bounds(month)
    prev_start, _ = month_bounds(month_previous(month))
    created = prev_start - timedelta(days=30)
    rng = random.Random(42)  # noqa: S311
    rates = [Decimal("0.10"), Decimal("0.12"), Decimal("0.15")]
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cur:
        with cur.copy(
            "COPY orders_retailer (id, slug, name, email, commission_rate, api_key_prefix, "
            "api_key_hash, is_active, created_at) FROM STDIN"
        ) as copy:
            for i in range(RETAILERS):
                copy.write_row(
                    (
                        i + 1,
                        f"bench-{i}",
                        f"Bench shop {i} {month:%Y-%m}",
                        f"buyers@bench-{i}.example",
                        rates[i % 3],
                        f"rtl_{i:08d}",
                        f"{i:064x}",
                        True,
                        created,
                    )
                )
        month_seconds = int((end - start).total_seconds())
        prev_seconds = int((start - prev_start).total_seconds())
        with cur.copy(
            "COPY orders_orderintake (id, retailer_id, reference, created_at) FROM STDIN"
        ) as intake_copy:
            for i in range(ORDERS):
                intake_copy.write_row((i + 1, i % RETAILERS + 1, f"R-{i}", created))
        with cur.copy(f"COPY orders_order ({ORDER_COLUMNS}) FROM STDIN") as copy:
            for i in range(ORDERS):
                retailer = i % RETAILERS
                rate = rates[retailer % 3]
                supplier = suppliers[i % 2]
                currency = "GBP" if i % 2 == 0 else "EUR"
                total = Decimal(rng.randint(500, 50000)) / 100
                commission = (total * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                earlier = rng.random() < 0.05  # placed in the month before
                if earlier:
                    placed = prev_start + timedelta(seconds=rng.randrange(prev_seconds))
                else:
                    placed = start + timedelta(seconds=rng.randrange(month_seconds))
                status, reason, note, cancelled_at, shipped_at = "placed", "", "", None, None
                roll = rng.random()
                if earlier and roll < 0.2:
                    status, reason, note = "cancelled", "out_of_stock", "Gone, sorry"
                    cancelled_at = start + timedelta(seconds=rng.randrange(month_seconds))
                elif not earlier and roll < 0.08:
                    status, reason, note = "cancelled", "customer_request", "Changed mind"
                    cancelled_at = min(placed + timedelta(hours=5), end - timedelta(seconds=1))
                elif roll < 0.38:
                    status, shipped_at = "shipped", placed + timedelta(hours=20)
                    if shipped_at >= end:
                        status, shipped_at = "processing", None
                elif roll < 0.5:
                    status = "processing"
                updated = cancelled_at or shipped_at or placed
                copy.write_row(
                    (
                        i + 1,
                        f"PO-{i + 10001}",
                        i + 1,
                        supplier.pk,
                        retailer + 1,
                        f"R-{i}",
                        status,
                        "Ann Lee",
                        "ann@example.com",
                        "+44 20 7946 0000",
                        "Ann Lee",
                        "1 High St",
                        "",
                        "Leeds",
                        "",
                        "LS1 1AA",
                        "GB",
                        currency,
                        total,
                        rng.randint(1, 5),
                        rate,
                        commission,
                        placed,
                        placed,
                        updated,
                        1,
                        reason,
                        note,
                        cancelled_at,
                        "DPD" if shipped_at else "",
                        "TRK" if shipped_at else "",
                        shipped_at,
                        "",
                        placed + timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS),
                    )
                )
        _sequences_past_loaded_rows(cur)
    _committed_and_analyzed(raw)
    print(f"loaded in {time.perf_counter() - started:.1f} s", flush=True)


def _sequences_past_loaded_rows(cur) -> None:
    """The id sequences of the tables loaded with ids by COPY, moved past their rows."""
    for table in ("orders_retailer", "orders_orderintake", "orders_order"):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


def _committed_and_analyzed(raw) -> None:
    raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def line_level(month) -> None:
    """Issue 12, once on top of the loaded orders: every order gets two lines (2 x 1.00 and
    1 x the rest), the cancelled ones their Cancellation records (as migration 0006 makes
    them), and 1 order in 20 of the open ones one unit of line 1 cancelled, in the summarised
    month (or, for an order of the month before, as an adjustment)."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import transaction

    from statements.months import month_bounds
    from suppliers.models import Product, Supplier

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM orders_orderline)")
        if cursor.fetchone()[0]:
            return
    print("line level: lines, cancellations, 5% partly cancelled ...", flush=True)
    started = time.perf_counter()
    _, end = month_bounds(month)
    for supplier in Supplier.objects.filter(slug__startswith="bench-"):
        for currency in ("GBP", "EUR"):
            Product.objects.get_or_create(
                sku=f"{supplier.slug}-{currency}",
                defaults={
                    "supplier": supplier,
                    "name": "Bench item",
                    "price": Decimal("1.00"),
                    "currency": currency,
                },
            )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        for line_no, quantity, price in (
            (1, "2", "1.00"),
            (2, "1", "o.total - 2.00"),
        ):
            cursor.execute(
                "INSERT INTO orders_orderline (order_id, line_no, product_id, sku, name, "
                "quantity, unit_price, line_total, quantity_cancelled, quantity_shipped) "
                f"SELECT o.id, {line_no}, p.id, p.sku, p.name, {quantity}, {price}, "
                f"{quantity} * ({price}), 0, 0 FROM orders_order o JOIN suppliers_supplier s "
                "ON s.id = o.supplier_id JOIN suppliers_product p "
                "ON p.sku = s.slug || '-' || o.currency"
            )
        import_module("orders.migrations.0006_line_level_records").forward(
            apps, SimpleNamespace(connection=connection)
        )
        cursor.execute(
            "CREATE TEMP TABLE mix_cancel ON COMMIT DROP AS SELECT id, "
            "LEAST(placed_at + interval '3 hours', %s - interval '1 second') AS at "
            "FROM orders_order WHERE status IN ('placed', 'processing') AND id %% 20 = 11",
            [end],
        )
        cursor.execute(
            "INSERT INTO orders_cancellation (order_id, retailer_id, reason, note, actor, "
            "created_at) SELECT m.id, o.retailer_id, 'out_of_stock', 'One short', 'bench', m.at "
            "FROM mix_cancel m JOIN orders_order o ON o.id = m.id"
        )
        cursor.execute(
            "INSERT INTO orders_cancellationline (cancellation_id, line_id, quantity) "
            "SELECT c.id, l.id, 1 FROM orders_cancellation c JOIN mix_cancel m "
            "ON m.id = c.order_id JOIN orders_orderline l ON l.order_id = c.order_id "
            "AND l.line_no = 1"
        )
        cursor.execute(
            "UPDATE orders_orderline l SET quantity_cancelled = 1 FROM mix_cancel m "
            "WHERE l.order_id = m.id AND l.line_no = 1"
        )
        cursor.execute(
            "UPDATE orders_order o SET commission_amount = "
            "ROUND((o.total - 1.00) * o.commission_rate, 2) FROM mix_cancel m WHERE o.id = m.id"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"line level: done in {time.perf_counter() - started:.1f} s", flush=True)


def part_shipped(month) -> None:
    """Issue 12, once on top of `line_level`: orders shipped in parts before the close. 1 open
    order of the month in 10 has line 1 shipped (2 units, status processing), and each partly
    cancelled one ships its line 2 (one parcel each), so some orders are both partly cancelled
    and part shipped."""
    from django.db import transaction

    from statements.months import month_bounds

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM orders_shipment WHERE actor = 'bench-part')")
        if cursor.fetchone()[0]:
            return
    print("line level: part shipments ...", flush=True)
    started = time.perf_counter()
    start, end = month_bounds(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute(
            "CREATE TEMP TABLE mix_ship ON COMMIT DROP AS SELECT o.id, l.id AS line_id, "
            "l.quantity, LEAST(o.placed_at + interval '2 hours', %s - interval '1 second') AS at "
            "FROM orders_order o JOIN orders_orderline l ON l.order_id = o.id "
            "WHERE o.status IN ('placed', 'processing') AND o.placed_at >= %s "
            "AND o.placed_at < %s AND ((o.id %% 10 = 3 AND l.line_no = 1) "
            "OR (o.id %% 20 = 11 AND l.line_no = 2))",
            [end, start, end],
        )
        cursor.execute(
            "INSERT INTO orders_shipment (order_id, carrier, tracking_number, shipped_at, actor, "
            "created_at) SELECT id, 'DPD', 'PART' || id, at, 'bench-part', at FROM mix_ship"
        )
        cursor.execute(
            "INSERT INTO orders_shipmentline (shipment_id, line_id, quantity) "
            "SELECT s.id, m.line_id, m.quantity FROM orders_shipment s JOIN mix_ship m "
            "ON m.id = s.order_id WHERE s.actor = 'bench-part'"
        )
        cursor.execute(
            "UPDATE orders_orderline l SET quantity_shipped = m.quantity FROM mix_ship m "
            "WHERE l.id = m.line_id"
        )
        cursor.execute(
            "UPDATE orders_order o SET status = 'processing', "
            "shipment_carrier = 'DPD', shipment_tracking_number = 'PART' || o.id, "
            "shipped_at = m.at, updated_at = GREATEST(o.updated_at, m.at) FROM mix_ship m "
            "WHERE o.id = m.id"
        )
        cursor.execute("SELECT count(*) FROM mix_ship")
        parts = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"line level: {parts:,} part shipments in {time.perf_counter() - started:.1f} s")


def skew_month(month):
    """The month of the skewed load: three before the summarised one, before any other order."""
    from statements.months import month_previous

    return month_previous(month_previous(month_previous(month)))


def skew_load(month) -> None:
    """Once: SKEW_SMALL + SKEW_BIG inactive retailers with orders in `skew_month` only (placed
    or shipped, two lines' worth of item_count, no lines), the big ones spread over the first
    500 of them."""
    from orders.models import Order, Retailer
    from statements.months import month_bounds
    from suppliers.models import Supplier

    start, end = month_bounds(skew_month(month))
    count = SKEW_BIG + SKEW_SMALL
    if (
        Retailer.objects.filter(slug__startswith="skew-", name__endswith=f"{start:%Y-%m}").count()
        == count
        and Order.objects.filter(retailer__slug__startswith="skew-").count()
        == SKEW_BIG * SKEW_BIG_ORDERS + SKEW_SMALL * SKEW_SMALL_ORDERS
    ):
        return
    print(
        f"skewed load: {SKEW_BIG} retailers of {SKEW_BIG_ORDERS:,} orders, "
        f"{SKEW_SMALL:,} of {SKEW_SMALL_ORDERS} ...",
        flush=True,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM orders_order WHERE retailer_id IN "
            "(SELECT id FROM orders_retailer WHERE slug LIKE 'skew-%%')"
        )
        cursor.execute(
            "DELETE FROM orders_orderintake WHERE retailer_id IN "
            "(SELECT id FROM orders_retailer WHERE slug LIKE 'skew-%%')"
        )
        cursor.execute("DELETE FROM orders_retailer WHERE slug LIKE 'skew-%%'")
        ids = []
        for table in ("orders_retailer", "orders_orderintake", "orders_order"):
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            ids.append(cursor.fetchone()[0])
    next_retailer, next_intake, next_order = ids
    suppliers = list(Supplier.objects.filter(slug__startswith="bench-").order_by("pk"))
    big_at = {i * (500 // max(SKEW_BIG, 1)) for i in range(SKEW_BIG)}
    rng = random.Random(7)  # noqa: S311
    seconds = int((end - start).total_seconds())
    raw = connection.connection
    with raw.cursor() as cur:
        sizes = []
        with cur.copy(
            "COPY orders_retailer (id, slug, name, email, commission_rate, api_key_prefix, "
            "api_key_hash, is_active, created_at) FROM STDIN"
        ) as copy:
            for i in range(count):
                sizes.append(SKEW_BIG_ORDERS if i in big_at else SKEW_SMALL_ORDERS)
                copy.write_row(
                    (
                        next_retailer + i + 1,
                        f"skew-{i}",
                        f"Skewed shop {i} {start:%Y-%m}",
                        f"buyers@skew-{i}.example",
                        Decimal("0.10"),
                        f"skw_{i:08d}",
                        f"{i:063x}s",
                        False,
                        start - timedelta(days=1),
                    )
                )
        rows = [(next_retailer + i + 1, n) for i, size in enumerate(sizes) for n in range(size)]
        with cur.copy(
            "COPY orders_orderintake (id, retailer_id, reference, created_at) FROM STDIN"
        ) as copy:
            for k, (retailer_id, n) in enumerate(rows):
                copy.write_row((next_intake + k + 1, retailer_id, f"S-{n}", start))
        with cur.copy(f"COPY orders_order ({ORDER_COLUMNS}) FROM STDIN") as copy:
            for k, (retailer_id, n) in enumerate(rows):
                placed = start + timedelta(seconds=rng.randrange(seconds))
                shipped_at = placed + timedelta(hours=20) if k % 3 == 0 else None
                if shipped_at and shipped_at >= end:
                    shipped_at = None
                total = Decimal(rng.randint(500, 50000)) / 100
                copy.write_row(
                    (
                        next_order + k + 1,
                        f"SK-{next_order + k + 1}",
                        next_intake + k + 1,
                        suppliers[k % 2].pk,
                        retailer_id,
                        f"S-{n}",
                        "shipped" if shipped_at else "placed",
                        "Ann Lee",
                        "ann@example.com",
                        "+44 20 7946 0000",
                        "Ann Lee",
                        "1 High St",
                        "",
                        "Leeds",
                        "",
                        "LS1 1AA",
                        "GB",
                        "GBP" if k % 2 == 0 else "EUR",
                        total,
                        3,
                        Decimal("0.10"),
                        (total / 10).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                        placed,
                        placed,
                        shipped_at or placed,
                        1,
                        "",
                        "",
                        None,
                        "DPD" if shipped_at else "",
                        "TRK" if shipped_at else "",
                        shipped_at,
                        "",
                        placed + timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS),
                    )
                )
        _sequences_past_loaded_rows(cur)
    _committed_and_analyzed(raw)
    print(f"skewed load: {len(rows):,} orders in {time.perf_counter() - started:.1f} s")


def status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def memory_run(budget: int) -> None:
    """In a fresh process (--memory-run): the skewed month's dry run with this order budget
    (0: SUMMARY_BATCH_ORDERS); prints its batches, largest batch, seconds and the peak memory
    it added, as one line."""
    from statements.months import month_last_closed
    from statements.services import summaries_send_for_month

    batches = []
    Path("/proc/self/clear_refs").write_text("5")  # peak resident := now
    before_kib = status_kib("VmRSS")
    started = time.perf_counter()
    run = summaries_send_for_month(
        month=skew_month(month_last_closed()),
        dry_run=True,
        order_budget=budget or None,
        progress=lambda r: batches.append((r.batch_retailers, r.batch_orders)),
    )
    seconds = time.perf_counter() - started
    peak_mib = (status_kib("VmHWM") - before_kib) / 1024
    largest = max(batches, key=lambda b: b[1])
    print(
        f"{len(batches)} {largest[0]} {largest[1]} {seconds:.2f} {peak_mib:.0f} {run.would_create}",
        flush=True,
    )


def memory_by_batching() -> list[str]:
    """Both memory runs, each in its own process; one report line each."""
    lines = []
    for label, budget in (
        ("before, batches of 500 retailers", 10**12),
        (f"after, batches of <= {settings.SUMMARY_BATCH_ORDERS:,} orders", None),
    ):
        args = [sys.executable, __file__, "--memory-run", str(budget or 0)]
        out = subprocess.run(args, capture_output=True, text=True, check=True)  # noqa: S603
        batches, retailers, orders, seconds, peak, made = out.stdout.split()[-6:]
        lines.append(
            f"memory, {label}: {batches} batches, the largest {int(orders):,} orders "
            f"({retailers} retailers); {made} summaries built in {float(seconds):.1f} s; "
            f"peak memory added {peak} MiB"
        )
    return lines


def sql_aggregate(month) -> tuple[float, int]:
    from statements.months import month_bounds

    start, end = month_bounds(month)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT retailer_id, currency, status, count(*), sum(total), "
            "sum(CASE WHEN status = 'cancelled' THEN 0 ELSE commission_amount END) "
            "FROM orders_order WHERE created_at >= %s AND created_at < %s "
            "GROUP BY retailer_id, currency, status",
            [start, end],
        )
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def send_all(delivery_ids: list[int]) -> None:
    """The delivery engine's batch send path (claim, render, one SMTP connection per batch,
    attempts, delivered), called synchronously in this process instead of by Celery workers."""
    from delivery.models import Delivery
    from delivery.services import deliveries_process_batch

    for index in range(0, len(delivery_ids), SEND_BATCH):
        batch = list(Delivery.objects.filter(pk__in=delivery_ids[index : index + SEND_BATCH]))
        deliveries_process_batch(deliveries=batch)


def backend_pid() -> int:
    """The PostgreSQL server process of this process's connection (same machine here)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def send_worker(tasks, results) -> None:
    """A worker process: send each list of delivery ids it is given, as a Celery worker would."""
    counter = QueryCounter()
    sent = 0
    backend = backend_pid()
    own_cpu, backend_cpu = time.process_time(), cpu_seconds(backend)
    with connection.execute_wrapper(counter):
        while (ids := tasks.get()) is not None:
            send_all(ids)
            sent += len(ids)
    cpu = time.process_time() - own_cpu + cpu_seconds(backend) - backend_cpu
    connection.close()
    results.put((sent, counter.count, time.perf_counter(), cpu))


def main() -> None:
    from delivery.models import Delivery
    from statements import services as summaries
    from statements.models import MonthlySummary, summary_source_key
    from statements.months import month_last_closed

    def month_deliveries():
        ids = MonthlySummary.objects.filter(month=month).values_list("pk", flat=True)
        return Delivery.objects.filter(source_key__in=[summary_source_key(pk) for pk in ids])

    call_command("migrate", verbosity=0)
    month = month_last_closed()
    if loaded(month):
        print(f"reusing the loaded {RETAILERS:,} retailers and {ORDERS:,} orders", flush=True)
    else:
        load(month)
    line_level(month)
    part_shipped(month)
    skew_load(month)

    # A clean run: no summaries or summary deliveries of this month yet.
    month_deliveries().delete()
    MonthlySummary.objects.filter(month=month).delete()

    smtp = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", SMTP_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(smtp.stdout.readline())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""

    aggregate_s, groups = sql_aggregate(month)
    aggregate_s = min(aggregate_s, sql_aggregate(month)[0])  # warm

    queued: list[int] = []
    workers = []
    if SEND_WORKERS:
        # Forked with no open database connection: each worker opens its own.
        connection.close()
        context = multiprocessing.get_context("fork")
        tasks, results = context.Queue(), context.Queue()
        workers = [
            context.Process(target=send_worker, args=(tasks, results)) for _ in range(SEND_WORKERS)
        ]
        for worker in workers:
            worker.start()

        def enqueue(*, delivery_ids):
            # Called on commit of each chunk, as `deliveries_queue` would publish the tasks.
            queued.extend(delivery_ids)
            for index in range(0, len(delivery_ids), SEND_BATCH):
                tasks.put(delivery_ids[index : index + SEND_BATCH])

        summaries.deliveries_queue = enqueue
    else:
        # The queue step collects ids here; `send_all` then sends them through the engine.
        summaries.deliveries_queue = lambda *, delivery_ids: queued.extend(delivery_ids)
    counter = QueryCounter()
    backend = backend_pid()
    build_cpu = time.process_time() + cpu_seconds(backend)
    smtp_cpu = cpu_seconds(smtp.pid)
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        run = summaries.summaries_send_for_month(month=month)
    build_s = time.perf_counter() - started
    build_cpu = time.process_time() + cpu_seconds(backend) - build_cpu
    build_queries = counter.count

    if SEND_WORKERS:
        for _ in workers:
            tasks.put(None)
        done = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        send_s = max(finished for _, _, finished, _ in done) - started - build_s
        send_queries = sum(count for _, count, _, _ in done)
        send_cpu = sum(cpu for _, _, _, cpu in done)
        mode = (
            f"{SEND_WORKERS} worker processes, sending while the build goes on; "
            f"sent {', '.join(str(sent) for sent, _, _, _ in done)}"
        )
    else:
        counter = QueryCounter()
        send_cpu = time.process_time() + cpu_seconds(backend)
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            send_all(queued)
        send_s = time.perf_counter() - started
        send_cpu = time.process_time() + cpu_seconds(backend) - send_cpu
        send_queries = counter.count
        mode = "synchronously in this process, after the build"

    smtp_cpu = cpu_seconds(smtp.pid) - smtp_cpu
    smtp.stdin.write("\n")
    smtp.stdin.flush()
    received, size = (int(x) for x in smtp.stdout.readline().split())
    smtp.wait(timeout=30)

    summaries.summaries_mark_sent()
    total_s = build_s + send_s
    delivered = month_deliveries().filter(status="delivered").count()
    marked = MonthlySummary.objects.filter(month=month, sent_at__isnull=False).count()
    print()
    print(f"month {month:%Y-%m}: {RETAILERS:,} retailers, {ORDERS:,} orders (PostgreSQL)")
    print(f"SQL aggregate (one GROUP BY, {groups:,} groups): {aggregate_s * 1000:.0f} ms")
    print(
        f"build: {run.created:,} summaries in {build_s:.1f} s, {build_queries:,} queries "
        f"({build_queries / max(run.retailers, 1):.3f} per retailer); failed {len(run.failed)}"
    )
    print(f"send:  {mode}")
    if SEND_WORKERS:
        print(
            f"send:  {delivered:,} delivered ({marked:,} summaries marked sent), "
            f"{received:,} emails received by SMTP "
            f"({size / max(received, 1) / 1024:.1f} KiB each), the last {send_s:.1f} s after "
            f"the build ended; {send_queries:,} queries "
            f"({send_queries / max(len(queued), 1):.2f} per summary)"
        )
        print(
            f"total: {total_s:.1f} s from the first build query to the last email recorded = "
            f"{run.created / total_s:.0f} summaries/s (build {build_s:.1f} s of it, "
            f"{run.created / build_s:.0f}/s); goal >= 200/s"
        )
    else:
        print(
            f"send:  {delivered:,} delivered ({marked:,} summaries marked sent), "
            f"{received:,} emails received by SMTP "
            f"({size / max(received, 1) / 1024:.1f} KiB each) in {send_s:.1f} s, "
            f"{send_queries:,} queries ({send_queries / max(len(queued), 1):.2f} per summary)"
        )
        print(
            f"total: {total_s:.1f} s = {run.created / total_s:.0f} summaries/s "
            f"(build alone {run.created / build_s:.0f}/s, send alone "
            f"{len(queued) / send_s:.0f}/s); goal >= 200/s"
        )
    print(f"ratio build+send / SQL aggregate: {total_s / aggregate_s:.0f}x")
    # CPU used, which a busy machine inflates far less than it does wall time: the build
    # process and its PostgreSQL server process, the senders and theirs, the SMTP server.
    created = max(run.created, 1)
    cores = os.cpu_count() or 1
    all_cpu = build_cpu + send_cpu + smtp_cpu
    print(
        f"cpu:   build {build_cpu:.1f} s ({build_cpu / created * 1000:.2f} ms per summary, "
        f"with PostgreSQL's), send {send_cpu:.1f} s ({send_cpu / created * 1000:.2f} ms), "
        f"SMTP server {smtp_cpu:.1f} s; all {all_cpu / created * 1000:.2f} ms per summary = "
        f"at most {min(cores / (all_cpu / created), created / build_cpu):.0f} summaries/s on "
        f"{cores} idle cores (an estimate, not a measurement)"
    )
    # ru_maxrss is in KiB on Linux; children: the send workers and the SMTP server.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {own:.0f} MiB this process, {children:.0f} MiB its largest child")
    print(f"DEBUG: {settings.DEBUG}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (cores: {os.cpu_count()})")
    for line in memory_by_batching():
        print(line)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory-run"]:
        memory_run(int(sys.argv[2]))
    else:
        main()
