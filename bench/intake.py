"""Benchmark: retailer intake through gunicorn on PostgreSQL, against a bare Django view.

Starts three gunicorns (2 sync workers each, as docker-compose.yml's web service;
DEBUG=false, production settings): one serving the real app, one a bench-only view that
parses the same JSON and answers 201 (intake_urls.py), and one the stack without the
intake service (intake_stack_urls.py: DRF, the key's auth and rate limit, validation, and
the app's own write of a statement built once). Drives the same number of POSTs at each
from this process over loopback with a few concurrent connections, and prints orders/s for
each, the ratio, and the ceiling of that ratio on this machine (the app's own SQL by
psycopg alone), which the stack alone shows how near this stack can come to.

    DEBUG=true .venv/bin/python bench/intake.py            # N=2000, CONCURRENCY=4, ROUNDS=3
    BENCH_N=300 DEBUG=true .venv/bin/python bench/intake.py

Environment: BENCH_N, BENCH_CONCURRENCY, BENCH_ROUNDS, BENCH_WORKERS (default 2),
BENCH_GUNICORN_ARGS (extra arguments for both gunicorns, e.g. "--threads 4"),
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/op_foundation),
BENCH_BROKER_URL (default redis://127.0.0.1:6379/1), BENCH_CACHE_URL (default
redis://127.0.0.1:6379/2).
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# The web service's default (WEB_CONCURRENCY in docker-compose.yml). 3 on these 2 cores left
# them idle half as often but cost about 15% more CPU per request: the same orders/s.
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WARMUP = 300
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_foundation"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/1")
# The rate limit's counters, and the shared epoch of the retailer key memory, as in production.
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/2")
PATH = "/api/v1/retailer/orders"
FLOOR_MODES = ("pipelined", "per_table")

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CELERY_BROKER_URL"] = BROKER_URL
os.environ["CACHE_URL"] = CACHE_URL
os.environ["RETAILER_API_RATE"] = "10000000/min"  # the in-process part shares the counters
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
        CACHE_URL=CACHE_URL,
        # The throttle still runs on every request; the limit is only raised above the load.
        RETAILER_API_RATE="10000000/min",
        LOG_LEVEL="WARNING",
    )
    from bench.static import static_root_collected

    env["STATIC_ROOT"] = static_root_collected(env)
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
            str(WORKERS),
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


class CpuWatch:
    """CPU used while a server's rounds run, per request: its gunicorn workers, PostgreSQL's
    processes (the machine's one server) and Redis; and the share of the cores left idle."""

    def __init__(self, server: subprocess.Popen) -> None:
        self.server = server
        self.totals = {"workers": 0.0, "postgres": 0.0, "redis": 0.0}
        self.idle = [0, 0]
        self.requests = 0

    def _read(self) -> dict[str, float]:
        from processes import children, cpu_seconds, named_pids

        return {
            "workers": sum(cpu_seconds(pid) for pid in children(self.server.pid)),
            "postgres": sum(cpu_seconds(pid) for pid in named_pids("postgres")),
            "redis": sum(cpu_seconds(pid) for pid in named_pids("redis-server")),
        }

    def round(self, run, requests: int):
        from processes import machine_idle

        before, idle_before = self._read(), machine_idle()
        result = run()
        after, idle_after = self._read(), machine_idle()
        for name in self.totals:
            self.totals[name] += after[name] - before[name]
        self.idle[0] += idle_after[0] - idle_before[0]
        self.idle[1] += idle_after[1] - idle_before[1]
        self.requests += requests
        return result

    def summary(self) -> str:
        per = {k: v / self.requests * 1e6 for k, v in self.totals.items()}
        return (
            f"workers {per['workers']:.0f} us, PostgreSQL {per['postgres']:.0f} us, Redis "
            f"{per['redis']:.0f} us; cores idle {self.idle[0] / max(1, self.idle[1]):.0%}"
        )


def drive(port: int, key: str, bodies: list[bytes]) -> tuple[float, dict[int, int], list[float]]:
    """POST every body, CONCURRENCY at a time; return seconds taken, status counts and each
    request's latency in seconds."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(body: bytes) -> tuple[int, float]:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status, time.perf_counter() - started
        finally:
            conn.close()

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for status, latency in pool.map(post, bodies):
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(latency)
    return time.perf_counter() - started, statuses, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def floor_statements(key: str, skus: list[str], n: int, tag: str) -> list[dict]:
    """The app's own SQL for n intakes, texts and parameters made beforehand by the app's
    code (so the timed part runs no Django): the key look-up, the catalogue read, and the
    write both ways: `pipelined` (orders/services/intake_write.py's one statement, sent with
    the bound in one round trip, an implicit transaction committed by the Sync, as the app
    does) and `per_table` (the earlier design: a statement per table and the sequence, each
    its own round trip)."""
    from django.db import connection

    from common.inserts import _sql as insert_sql
    from common.inserts import insert_params
    from orders import retailer_memory
    from orders.intake import intake_validate
    from orders.models import Retailer
    from orders.numbers import ORDER_NUMBER_SEQUENCE
    from orders.selectors.retailers import retailer_for_api_key, retailer_key_sql
    from orders.services import intake as intake_service
    from orders.services.intake_write import intake_insert_statement
    from orders.transactions import _BOUND_SQL, _bound_params
    from suppliers import catalogue_memory
    from suppliers.secrets import token_digest
    from suppliers.selectors import products_by_sku, products_sql

    digest = token_digest(key)
    retailer = retailer_for_api_key(digest=digest)
    assert isinstance(retailer, Retailer)
    bound = _bound_params(5.0)
    sql_products = products_sql(len(skus))
    vendor = connection.vendor
    out = []
    for i in range(n):
        data = intake_validate(payload=json.loads(payload(f"F-{tag}-{i}", skus)))
        products = products_by_sku(skus=skus)
        groups: dict = {}
        for line in data["lines"]:
            groups.setdefault(products[line["sku"]].supplier_id, []).append(
                (line, products[line["sku"]])
            )
        intake, orders, lines, events = intake_service._build(
            retailer=retailer, data=data, groups=groups, actor=None
        )
        # With the catalogue memory the products come from memory and the write checks them.
        guard = list(products.values()) if catalogue_memory.enabled() else None
        cte = intake_insert_statement(
            intake=intake, orders=orders, lines=lines, event=events[0], guard=guard
        )
        # Per table: the ids the real statements would return are stand-ins here (the
        # server still checks every foreign key, so they are the rows just written).
        key_read = (retailer_key_sql(), [digest])
        out.append(
            {
                # With the Redis cache the app takes the retailer from its memory.
                "reads": ([] if retailer_memory.enabled() else [key_read])
                + ([] if catalogue_memory.enabled() else [(sql_products, list(skus))]),
                "reads_per_table": [key_read, (sql_products, list(skus))],
                "bound": (_BOUND_SQL, bound),
                "cte": cte,
                "intake": (insert_sql(type(intake), 1, vendor), insert_params([intake])),
                "number": (
                    f"SELECT nextval('{ORDER_NUMBER_SEQUENCE}') FROM generate_series(1, %s)",
                    [len(orders)],
                ),
                "orders": orders,
                "lines": lines,
                "events": events,
            }
        )
    return out


def raw_floor(work_items: list[dict], mode: str) -> float:
    """The database work of the intakes alone: the app's statements by psycopg from 2
    threads (one connection each, as 2 workers), no HTTP, no Django. Returns orders/s.

    An intake must do at least a bare request's work plus this, on the same 2 cores, so
    orders/s <= 1 / (1/floor + 1/bare): the ceiling of the ratio on this machine.
    """
    import threading

    import psycopg

    from common.db import native_placeholders
    from common.inserts import _sql as insert_sql
    from common.inserts import insert_params

    def per_table(conn, item) -> None:
        # Parameters of the later statements depend on the earlier ones' ids, so they are
        # made here; insert_params is the app's own (a few microseconds).
        with conn.transaction():
            conn.execute(*item["bound"], prepare=True)
            (intake_id,) = conn.execute(*item["intake"], prepare=True).fetchone()
            numbers = conn.execute(*item["number"], prepare=True).fetchall()
            orders, lines, events = item["orders"], item["lines"], item["events"]
            for order, (number,) in zip(orders, numbers):
                order.number, order.intake_id = f"PO-{number}", intake_id
            rows = conn.execute(
                insert_sql(type(orders[0]), len(orders), "postgresql"),
                insert_params(orders),
                prepare=True,
            ).fetchall()
            flat = []
            for (order_id,), order_lines, event in zip(rows, lines, events):
                for line in order_lines:
                    line.order_id = order_id
                    flat.append(line)
                event.order_id = order_id
            conn.execute(
                insert_sql(type(flat[0]), len(flat), "postgresql"),
                insert_params(flat),
                prepare=True,
            ).fetchall()
            conn.execute(
                insert_sql(type(events[0]), len(events), "postgresql"),
                insert_params(events),
                prepare=True,
            ).fetchall()

    def pipelined(conn, item) -> None:
        # As the app sends it (common/db.py): $n placeholders on raw cursors, since psycopg
        # rewrites %s on every execution for a statement over 4 kB (intake's write is).
        bound, write = (psycopg.RawCursor(conn) for _ in range(2))
        with conn.pipeline():  # autocommit: the Sync commits the implicit transaction
            bound.execute(native_placeholders(item["bound"][0]), item["bound"][1], prepare=True)
            write.execute(native_placeholders(item["cte"][0]), item["cte"][1], prepare=True)
        write.fetchall()

    write = {"per_table": per_table, "pipelined": pipelined}[mode]

    errors: list[BaseException] = []

    def work(items: list[dict]) -> None:
        try:
            with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://")) as conn:
                conn.autocommit = True  # the reads run in autocommit in the app
                for item in items:
                    reads = item["reads_per_table" if mode == "per_table" else "reads"]
                    for sql, params in reads:
                        conn.execute(sql, params, prepare=True).fetchall()
                    write(conn, item)
        except Exception as exc:  # noqa: BLE001 - a floor that failed must not print a number
            errors.append(exc)

    half = len(work_items) // 2
    threads = [
        threading.Thread(target=work, args=(part,))
        for part in (work_items[:half], work_items[half : 2 * half])
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"database work alone ({mode}) failed: {errors[0]!r}")
    return 2 * half / (time.perf_counter() - started)


def in_process_profile(key: str, skus: list[str], n: int = 100) -> tuple[int, float, float]:
    """Queries per intake, and CPU ms per request for intake and bare, without HTTP."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    tag = secrets.token_hex(4)
    # This process's first request reads the retailer; the ones after take it from memory.
    client.post(PATH, data=payload(f"Q0-{tag}", skus), content_type="application/json")
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
    app_port, bare_port, stack_port = free_port(), free_port(), free_port()
    app = start_gunicorn(settings_module="orders_portal.settings", port=app_port)
    bare = start_gunicorn(settings_module="intake_settings", port=bare_port)
    stack = start_gunicorn(settings_module="intake_stack_settings", port=stack_port)
    try:
        wait_ready(app_port, "/healthz", app)
        wait_ready(bare_port, PATH, bare)
        wait_ready(stack_port, PATH, stack)
        print(
            f"intake bench: N={N} per round, {ROUNDS} rounds, concurrency {CONCURRENCY}, "
            f"{WORKERS} gunicorn workers each, PostgreSQL, single-supplier orders of 3 lines; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        for port in (app_port, bare_port, stack_port):
            drive(port, key, [payload(f"W-{run_id}-{port}-{i}", skus) for i in range(WARMUP)])
        totals = {"app": 0.0, "bare": 0.0, "stack": 0.0}
        latencies: dict[str, list[float]] = {"app": [], "bare": [], "stack": []}
        sys.path.insert(0, str(BASE_DIR / "bench"))
        watches = {"app": CpuWatch(app), "bare": CpuWatch(bare), "stack": CpuWatch(stack)}
        # Each round measures the floor too, after the servers, so that all four see the
        # machine's speed of the moment (it drifts by a fifth within minutes; one floor after
        # all the rounds moved the printed share of the ceiling by ten points between runs).
        # Its statements are made before it is timed, and dropped after it.
        floor_seconds = dict.fromkeys(FLOOR_MODES, 0.0)
        for round_no in range(1, ROUNDS + 1):
            for name, port in (("bare", bare_port), ("stack", stack_port), ("app", app_port)):
                bodies = [payload(f"B-{run_id}-{round_no}-{name}-{i}", skus) for i in range(N)]
                seconds, statuses, taken = watches[name].round(
                    lambda port=port, bodies=bodies: drive(port, key, bodies), N
                )
                if statuses != {201: N}:
                    raise SystemExit(f"{name}: unexpected answers {statuses}")
                totals[name] += seconds
                latencies[name] += taken
                print(f"  round {round_no} {name:>5}: {N / seconds:8.1f} orders/s ({seconds:.2f}s)")
            items = floor_statements(key, skus, 2 * N, f"{run_id}-{round_no}")
            for i, mode in enumerate(FLOOR_MODES):
                rate = raw_floor(items[i::2], mode)
                floor_seconds[mode] += N / rate
                print(f"  round {round_no} floor, {mode}: {rate:8.1f} orders/s")
        app_rate = N * ROUNDS / totals["app"]
        bare_rate = N * ROUNDS / totals["bare"]
        stack_rate = N * ROUNDS / totals["stack"]
        floors = {mode: N * ROUNDS / floor_seconds[mode] for mode in FLOOR_MODES}
        floor_rate = floors["pipelined"]
        queries, app_cpu, bare_cpu = in_process_profile(key, skus)
        print(
            f"in-process, no HTTP: {queries} round trip{'s' if queries != 1 else ''} to "
            f"PostgreSQL per intake (the write's transaction in one; plus the rate limit's one to "
            f"Redis); CPU per request: intake {app_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
        )
        for name in ("bare", "stack", "app"):
            print(f"under load, CPU per request, {name:>5}: {watches[name].summary()}")
        for name in ("bare", "stack", "app"):
            print(
                f"latency at concurrency {CONCURRENCY}, {name:>5}: "
                f"p50 {percentile(latencies[name], 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(latencies[name], 0.99) * 1000:.1f} ms"
            )
        p99 = percentile(latencies["app"], 0.99) * 1000
        print(f"bare Django view (parse JSON, 201): {bare_rate:8.1f} requests/s")
        print(f"retailer intake (real app):         {app_rate:8.1f} orders/s")
        ratio = app_rate / bare_rate
        print(
            "database work alone (the app's SQL, psycopg, 2 connections, no HTTP/Django): "
            f"{floors['pipelined']:8.1f} orders/s ({len(items[0]['reads']) + 1} round trip(s), "
            f"the write in one); a statement per table and the key read, as before: "
            f"{floors['per_table']:8.1f} orders/s (10 round trips)"
        )
        ceiling = floor_rate / (floor_rate + bare_rate)
        old_ceiling = floors["per_table"] / (floors["per_table"] + bare_rate)
        print(
            f"ceiling of the ratio here, bare request + database work on the same 2 cores: "
            f"{ceiling:.2f} (a statement per table: {old_ceiling:.2f}); intake reaches "
            f"{ratio / ceiling:.0%} of it (goal >= 85%: "
            f"{'met' if ratio / ceiling >= 0.85 else 'NOT met'})"
        )
        stack_ratio = stack_rate / bare_rate
        print(
            f"the stack alone (DRF, key auth, rate limit, validation, and the app's write of "
            f"a statement built once; no intake service): {stack_rate:8.1f} orders/s, "
            f"{stack_ratio / ceiling:.0%} of the ceiling: what intake could reach on this stack "
            f"if its own Python cost nothing"
        )
        print(
            f"ratio intake/bare: {ratio:.2f}; p99 at concurrency {CONCURRENCY} {p99:.1f} ms "
            f"(goal < 25 ms: {'met' if p99 < 25 else 'NOT met'})"
        )
    finally:
        stop(app)
        stop(bare)
        stop(stack)


if __name__ == "__main__":
    main()
