"""Benchmark: retailer intake through gunicorn on PostgreSQL, against a bare Django view.

Starts two gunicorns (2 sync workers each, DEBUG=false, production settings): one serving the
real app, one serving a bench-only view that parses the same JSON and answers 201. Drives the
same number of POSTs at each from this process over loopback with a few concurrent
connections, and prints orders/s for both and the ratio (goal: >= 0.5).

    DEBUG=true .venv/bin/python bench/intake.py            # N=2000, CONCURRENCY=4, ROUNDS=2
    BENCH_N=300 DEBUG=true .venv/bin/python bench/intake.py

Environment: BENCH_N, BENCH_CONCURRENCY, BENCH_ROUNDS, BENCH_GUNICORN_ARGS (extra arguments for
both gunicorns, e.g. "--threads 4"), BENCH_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/op_foundation), BENCH_BROKER_URL
(default redis://127.0.0.1:6379/1).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_N", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
WARMUP = 50
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_foundation"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/1")
PATH = "/api/v1/retailer/orders"

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CELERY_BROKER_URL"] = BROKER_URL
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
sys.path.insert(0, str(BASE_DIR))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict:
    from cryptography.fernet import Fernet

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY"))
    }
    env.update(
        DEBUG="false",
        # Dummy but valid production keys, made for this run only.
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=DATABASE_URL,
        CELERY_BROKER_URL=BROKER_URL,
        # The throttle still runs on every request; the limit is only raised above the load.
        RETAILER_API_RATE="10000000/min",
        LOG_LEVEL="WARNING",
    )
    return env


def start_gunicorn(*, settings_module: str, port: int) -> subprocess.Popen:
    env = server_env()
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    return subprocess.Popen(
        [
            str(BASE_DIR / ".venv/bin/gunicorn"),
            "orders_portal.wsgi:application",
            "--pythonpath",
            f"{BASE_DIR},{BASE_DIR / 'bench'}",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
            *os.environ.get("BENCH_GUNICORN_ARGS", "").split(),
        ],
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,
    )


def wait_ready(port: int, path: str, proc: subprocess.Popen, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn on {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn on {port} did not answer within {deadline_s}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_data() -> tuple[str, list[str]]:
    """A bench supplier with three products and a bench retailer; returns its key and SKUs."""
    import django

    django.setup()
    from orders.services import retailer_create
    from testsupport.factories import make_products, make_supplier

    tag = secrets.token_hex(4)
    supplier = make_supplier(slug=f"bench-{tag}")
    skus = [f"BENCH-{tag}-{i}" for i in range(1, 4)]
    make_products(supplier=supplier, skus=dict.fromkeys(skus, "4.25"))
    _, key = retailer_create(slug=f"bench-{tag}", name="Bench Retailer", email="bench@example.com")
    return key, skus


def payload(reference: str, skus: list[str]) -> bytes:
    """The tests' intake order (after `make_data`, which sets Django up), three lines."""
    from testsupport.factories import intake_payload

    lines = [{"sku": sku, "quantity": q} for sku, q in zip(skus, (2, 1, 3))]
    body = intake_payload(reference=reference, lines=lines, placed_at="2026-11-27T10:00:00Z")
    return json.dumps(body).encode()


def drive(port: int, key: str, bodies: list[bytes]) -> tuple[float, dict[int, int]]:
    """POST every body, CONCURRENCY at a time; return seconds taken and status counts."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(body: bytes) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    statuses: dict[int, int] = {}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for status in pool.map(post, bodies):
            statuses[status] = statuses.get(status, 0) + 1
    return time.perf_counter() - started, statuses


def raw_floor(key: str, skus: list[str], n: int) -> float:
    """The database work of n intakes alone: the same statements the app sends, by psycopg
    from 2 threads (one connection each, as 2 workers), no HTTP, no Django. Returns orders/s.

    An intake must do at least a bare request's work plus this, on the same 2 cores, so
    orders/s <= 1 / (1/floor + 1/bare): the ceiling of the ratio on this machine.
    """
    import threading

    import psycopg
    from django.utils import timezone

    from suppliers.secrets import token_digest

    digest = token_digest(key)
    tag = secrets.token_hex(4)
    sql_retailer = (
        "SELECT id, slug, name, email, commission_rate FROM orders_retailer "
        "WHERE api_key_hash = %s AND is_active"
    )
    sql_products = (
        "SELECT p.id, p.supplier_id, p.sku, p.name, p.price, p.currency, p.is_active, s.id, "
        "s.slug, s.name, s.is_active FROM suppliers_product p JOIN suppliers_supplier s "
        "ON s.id = p.supplier_id WHERE p.sku IN (%s, %s, %s) AND p.is_active"
    )
    sql_order = (
        "INSERT INTO orders_order (number, intake_id, supplier_id, retailer_id, "
        "retailer_reference, status, customer_name, customer_email, customer_phone, ship_name, "
        "ship_line1, ship_line2, ship_city, ship_region, ship_postcode, ship_country, currency, "
        "total, item_count, commission_rate, commission_amount, placed_at, created_at, "
        "updated_at, version, cancellation_reason, cancellation_note, cancelled_at, "
        "shipment_carrier, shipment_tracking_number, shipped_at) VALUES (%s, %s, %s, %s, %s, "
        "'placed', 'Ann Lee', 'ann@example.com', '+44 20 7946 0000', 'Ann Lee', '1 High St', "
        "'', 'Leeds', '', 'LS1 1AA', 'GB', %s, %s, 6, %s, %s, %s, %s, %s, 1, '', '', NULL, '', "
        "'', NULL) RETURNING id"
    )
    line = "(%s, %s, %s, %s, %s, %s, %s, %s)"
    sql_lines = (
        "INSERT INTO orders_orderline (order_id, line_no, product_id, sku, name, quantity, "
        f"unit_price, line_total) VALUES {line}, {line}, {line} RETURNING id"
    )
    sql_event = (
        "INSERT INTO orders_orderevent (order_id, type, actor, actor_user_id, note, data, "
        "created_at, dispatched_at) VALUES (%s, 'order.created', %s, NULL, '', %s::jsonb, %s, "
        "NULL) RETURNING id"
    )

    def work(index: int, count: int) -> None:
        with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://")) as conn:
            for i in range(count):
                reference = f"F-{tag}-{index}-{i}"
                retailer = conn.execute(sql_retailer, [digest]).fetchone()
                products = conn.execute(sql_products, skus).fetchall()
                conn.commit()  # the reads ran in autocommit in the app
                now = timezone.now()
                with conn.transaction():
                    conn.execute(
                        "SELECT set_config('statement_timeout', %s, true), set_config("
                        "'lock_timeout', %s, true), set_config("
                        "'idle_in_transaction_session_timeout', %s, true), pg_notify(%s, '')",
                        ["5000", "5000", "5000", "order_events"],
                    )
                    intake = conn.execute(
                        "INSERT INTO orders_orderintake (retailer_id, reference, created_at) "
                        "VALUES (%s, %s, %s) RETURNING id",
                        [retailer[0], reference, now],
                    ).fetchone()[0]
                    number = conn.execute("SELECT nextval('orders_order_number_seq')").fetchone()
                    total = sum(p[4] * q for p, q in zip(products, (2, 1, 3)))
                    order = conn.execute(
                        sql_order,
                        [f"PO-{number[0]}", intake, products[0][1], retailer[0], reference]
                        + [products[0][5], total, retailer[4], total * retailer[4], now, now, now],
                    ).fetchone()[0]
                    params = []
                    for no, (p, q) in enumerate(zip(products, (2, 1, 3)), start=1):
                        params += [order, no, p[0], p[2], p[3], q, p[4], p[4] * q]
                    conn.execute(sql_lines, params).fetchall()
                    conn.execute(
                        sql_event,
                        [order, "retailer:bench", json.dumps({"status": "placed"}), now],
                    ).fetchone()

    threads = [threading.Thread(target=work, args=(k, n // 2)) for k in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (n // 2 * 2) / (time.perf_counter() - started)


def in_process_profile(key: str, skus: list[str], n: int = 100) -> tuple[int, float, float]:
    """Queries per intake, and CPU ms per request for intake and bare, without HTTP."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    tag = secrets.token_hex(4)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(
            PATH, data=payload(f"Q-{tag}", skus), content_type="application/json"
        )
    assert response.status_code == 201, response.content
    queries = len(ctx.captured_queries)  # read now: every request resets the log

    def cpu_ms(prefix: str) -> float:
        bodies = [payload(f"{prefix}-{tag}-{i}", skus) for i in range(n)]
        started = time.process_time()
        for body in bodies:
            client.post(PATH, data=body, content_type="application/json")
        return (time.process_time() - started) / n * 1000

    app_cpu = cpu_ms("C")
    with override_settings(ROOT_URLCONF="intake_urls"):
        bare_cpu = cpu_ms("D")
    return queries, app_cpu, bare_cpu


def main() -> None:
    from bench.databases import database_ensure

    database_ensure(DATABASE_URL)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, check=True
    )
    key, skus = make_data()
    run_id = secrets.token_hex(4)
    app_port, bare_port = free_port(), free_port()
    app = start_gunicorn(settings_module="orders_portal.settings", port=app_port)
    bare = start_gunicorn(settings_module="intake_settings", port=bare_port)
    try:
        wait_ready(app_port, "/healthz", app)
        wait_ready(bare_port, PATH, bare)
        print(
            f"intake bench: N={N} per round, {ROUNDS} rounds, concurrency {CONCURRENCY}, "
            f"2 gunicorn workers each, PostgreSQL, single-supplier orders of 3 lines"
        )
        for port in (app_port, bare_port):
            drive(port, key, [payload(f"W-{run_id}-{port}-{i}", skus) for i in range(WARMUP)])
        totals = {"app": 0.0, "bare": 0.0}
        for round_no in range(1, ROUNDS + 1):
            for name, port in (("bare", bare_port), ("app", app_port)):
                bodies = [payload(f"B-{run_id}-{round_no}-{name}-{i}", skus) for i in range(N)]
                seconds, statuses = drive(port, key, bodies)
                if statuses != {201: N}:
                    raise SystemExit(f"{name}: unexpected answers {statuses}")
                totals[name] += seconds
                print(f"  round {round_no} {name:>4}: {N / seconds:8.1f} orders/s ({seconds:.2f}s)")
        app_rate = N * ROUNDS / totals["app"]
        bare_rate = N * ROUNDS / totals["bare"]
        floor_rate = raw_floor(key, skus, N)
        sys.path.insert(0, str(BASE_DIR / "bench"))
        queries, app_cpu, bare_cpu = in_process_profile(key, skus)
        print(
            f"in-process, no HTTP: {queries} queries per intake (BEGIN/COMMIT included); "
            f"CPU per request: intake {app_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
        )
        print(f"bare Django view (parse JSON, 201): {bare_rate:8.1f} requests/s")
        print(f"retailer intake (real app):         {app_rate:8.1f} orders/s")
        ratio = app_rate / bare_rate
        ceiling = floor_rate / (floor_rate + bare_rate)
        print(
            f"database work alone (same SQL, psycopg, 2 connections, no HTTP/Django): "
            f"{floor_rate:8.1f} orders/s"
        )
        print(
            f"ceiling of the ratio here, bare request + database work on the same 2 cores: "
            f"{ceiling:.2f}; intake reaches {ratio / ceiling:.0%} of it"
        )
        print(
            f"ratio intake/bare: {ratio:.2f} (goal >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})"
        )
    finally:
        stop(app)
        stop(bare)


if __name__ == "__main__":
    main()
