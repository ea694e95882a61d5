"""Benchmark of the supplier read API through gunicorn, against raw SQL and a bare view.

    DEBUG=true .venv/bin/python bench/api.py

Loads BENCH_API_ORDERS orders (default 1,000,000, about 2 lines each) over
BENCH_API_SUPPLIERS suppliers (default 200), the largest with BENCH_API_BIG (default 100,000),
into BENCH_API_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/op_api) with COPY;
a later run with the same sizes reuses the data. Then starts gunicorn (2 workers,
DEBUG=false) on 127.0.0.1 and, from this process, measures for the largest supplier:

- p50/p99 of a 100-order page: a one-day window, a deep cursor page, and `updated_after`;
- in the same run, the same pages as raw SQL (psycopg, same rows with their lines) plus
  building and JSON-encoding the same documents;
- requests/s for a page against a bare Django view returning the same bytes;
- SQL queries per page (Django's test client in this process, after the token's first use).

Goals: <= 3 queries per page; p50 <= 3 x (raw SQL + serialization); req/s >= 0.3 x bare.
BENCH_API_LOAD_ONLY=1 loads and stops. BENCH_API_REQUESTS (default 300) sets requests per
latency figure, BENCH_API_SECONDS (default 6) the time each throughput figure takes (two
halves, in the order page, bare, bare, page).

One script on purpose, over the usual module size: load, measure and report read top to
bottom, and nothing imports it.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DSN = os.environ.get("BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_api")
ORDERS = int(os.environ.get("BENCH_API_ORDERS", "1000000"))
SUPPLIERS = int(os.environ.get("BENCH_API_SUPPLIERS", "200"))
BIG = int(os.environ.get("BENCH_API_BIG", str(max(1, ORDERS // 10))))
REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "300"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "6"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "3"))
PAGE = 100

os.environ["DATABASE_URL"] = DSN
os.environ.setdefault("DEBUG", "true")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api_settings"
os.environ["SUPPLIER_API_RATE"] = "1000000000/min"
# Production's Redis cache here too, so the query count below is production's (a token a
# process remembers is not read again: suppliers/token_memory.py).
CACHE_URL = os.environ.get("BENCH_API_CACHE_URL", "redis://127.0.0.1:6379/7")
os.environ["CACHE_URL"] = CACHE_URL

import django  # noqa: E402

from bench.databases import database_ensure  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])
django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.api_load import (  # noqa: E402
    BIG_SLUG,
    load,
    loaded_end,
    loaded_marker,
    marker_for,
)
from bench.line_mix import line_mix_apply  # noqa: E402
from orders.api.pagination import cursor_encode  # noqa: E402
from orders.documents import iso  # noqa: E402
from orders.selectors import OrderPosition  # noqa: E402
from suppliers.models import Supplier  # noqa: E402
from suppliers.services import api_token_create  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --- Raw SQL + serialization: the floor ------------------------------------------------------

ORDER_SQL = """
SELECT o.id, o.number, o.status, s.slug, r.slug, r.name, o.retailer_reference, o.placed_at,
       o.created_at, o.updated_at, o.customer_name, o.customer_email, o.customer_phone,
       o.ship_name, o.ship_line1, o.ship_line2, o.ship_city, o.ship_region, o.ship_postcode,
       o.ship_country, o.currency, o.total, o.cancellation_reason, o.cancellation_note,
       o.cancelled_at, o.shipment_carrier, o.shipment_tracking_number, o.shipped_at,
       o.acknowledged_at
FROM orders_order o
JOIN suppliers_supplier s ON s.id = o.supplier_id
JOIN orders_retailer r ON r.id = o.retailer_id
WHERE {where}
ORDER BY o.created_at, o.id
LIMIT %(limit)s
"""
LINES_SQL = (
    "SELECT order_id, line_no, sku, name, quantity, unit_price, line_total, "
    "quantity_cancelled, quantity_shipped, id "
    "FROM orders_orderline WHERE order_id = ANY(%s) ORDER BY order_id, line_no"
)
# Line-level records (issue 12), with their lines, oldest first.
CANCELLATIONS_SQL = (
    "SELECT c.order_id, c.id, c.reason, c.note, c.created_at, cl.line_id, cl.quantity "
    "FROM orders_cancellation c JOIN orders_cancellationline cl ON cl.cancellation_id = c.id "
    "WHERE c.order_id = ANY(%s) ORDER BY c.order_id, c.created_at, c.id"
)
SHIPMENTS_SQL = (
    "SELECT s.order_id, s.id, s.carrier, s.tracking_number, s.shipped_at, sl.line_id, "
    "sl.quantity FROM orders_shipment s JOIN orders_shipmentline sl ON sl.shipment_id = s.id "
    "WHERE s.order_id = ANY(%s) ORDER BY s.order_id, s.created_at, s.id"
)


def _records(conn, sql: str, ids: list[int], line_nos: dict[int, int], keys) -> dict:
    records: dict[int, dict[int, dict]] = {}
    for order_id, record_id, a, b, at, line_id, quantity in conn.execute(sql, [ids]).fetchall():
        record = records.setdefault(order_id, {}).setdefault(
            record_id, {keys[0]: a, keys[1]: b, keys[2]: iso(at), "lines": []}
        )
        record["lines"].append({"line": line_nos[line_id], "quantity": quantity})
    for by_id in records.values():
        for record in by_id.values():
            record["lines"].sort(key=lambda item: item["line"])
    return {order_id: list(by_id.values()) for order_id, by_id in records.items()}


ACKNOWLEDGE = timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS)  # the order's deadline (issue 13)


def raw_page(conn, where: str, params: dict) -> bytes:
    rows = conn.execute(ORDER_SQL.format(where=where), {**params, "limit": PAGE + 1}).fetchall()
    rows = rows[:PAGE]
    lines: dict[int, list] = {}
    ids = [row[0] for row in rows]
    line_nos: dict[int, int] = {}
    for line in conn.execute(LINES_SQL, [ids]).fetchall():
        lines.setdefault(line[0], []).append(line)
        line_nos[line[9]] = line[1]
    cancellations = _records(
        conn, CANCELLATIONS_SQL, ids, line_nos, ("reason", "note", "cancelled_at")
    )
    shipments = _records(
        conn, SHIPMENTS_SQL, ids, line_nos, ("carrier", "tracking_number", "shipped_at")
    )
    docs = []
    for r in rows:
        docs.append(
            {
                "number": r[1],
                "status": r[2],
                "supplier": r[3],
                "retailer": {"slug": r[4], "name": r[5], "reference": r[6]},
                "placed_at": iso(r[7]),
                "created_at": iso(r[8]),
                "updated_at": iso(r[9]),
                "acknowledged_at": iso(r[28]),
                "acknowledge_by": iso(r[7] + ACKNOWLEDGE),
                "customer": {"name": r[10], "email": r[11], "phone": r[12]},
                "shipping_address": {
                    "name": r[13],
                    "line1": r[14],
                    "line2": r[15],
                    "city": r[16],
                    "region": r[17],
                    "postcode": r[18],
                    "country": r[19],
                },
                "lines": [
                    {
                        "line": ln[1],
                        "sku": ln[2],
                        "name": ln[3],
                        "quantity": ln[4],
                        "unit_price": f"{ln[5]:.2f}",
                        "line_total": f"{ln[6]:.2f}",
                        "quantity_cancelled": ln[7],
                        "quantity_shipped": ln[8],
                    }
                    for ln in lines.get(r[0], [])
                ],
                "currency": r[20],
                "total": f"{r[21]:.2f}",
                "cancellation": (
                    {"reason": r[22], "note": r[23], "cancelled_at": iso(r[24])}
                    if r[2] == "cancelled"
                    else None
                ),
                "shipment": (
                    {"carrier": r[25], "tracking_number": r[26], "shipped_at": iso(r[27])}
                    if r[27] is not None
                    else None
                ),
                "cancellations": cancellations.get(r[0], []),
                "shipments": shipments.get(r[0], []),
            }
        )
    return json.dumps({"results": docs, "next": None}, separators=(",", ":")).encode()


# --- HTTP ------------------------------------------------------------------------------------


def http_get(port: int, path: str, token: str | None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _throughput_worker(port, path, token, seconds, queue):
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        status, _ = http_get(port, path, token)
        assert status == 200, status
        count += 1
    queue.put(count)


def throughput(port: int, path: str, token: str | None, *, seconds: float = SECONDS) -> float:
    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_throughput_worker, args=(port, path, token, seconds, queue))
        for _ in range(CLIENTS)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    total = sum(queue.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / (time.perf_counter() - started)


def start_gunicorn(bare_file: str) -> tuple[subprocess.Popen, int]:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CACHE_URL": CACHE_URL,
        "BENCH_API_BARE_FILE": bare_file,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        "LOG_LEVEL": "WARNING",
    }
    from bench.static import static_root_collected

    env["STATIC_ROOT"] = static_root_collected(env)
    log = tempfile.NamedTemporaryFile(prefix="bench-api-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "orders_portal.wsgi:application",
            "--workers",
            "2",
            "--bind",
            "127.0.0.1:0",
            "--chdir",
            str(ROOT),
            "--log-level",
            "info",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    port = None
    while time.monotonic() < deadline and port is None:
        text = Path(log.name).read_text()
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= 2:
            port = int(found.group(1))
        elif proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{text}")
        else:
            time.sleep(0.1)
    if port is None:
        raise SystemExit("gunicorn did not start")
    # Both workers answer before measuring (each imports Django on its first request).
    for _ in range(20):
        http_get(port, "/healthz", None)
    return proc, port


def main() -> None:
    print(
        f"bench/api.py: {ORDERS:,} orders, {SUPPLIERS} suppliers, largest {BIG:,}; "
        f"{REQUESTS} requests per latency figure, {SECONDS:g}s x {CLIENTS} clients per rate"
    )
    call_command("migrate", verbosity=0)
    wanted = marker_for(orders=ORDERS, suppliers=SUPPLIERS, big=BIG)
    with connection.cursor() as cursor:
        present = loaded_marker(cursor)
    if present == wanted:
        print("data: already loaded, reusing it")
    else:
        print("data: loading with COPY ...", flush=True)
        result = load(dsn=DSN, orders=ORDERS, suppliers=SUPPLIERS, big=BIG, now=datetime.now(UTC))
        print(f"data: loaded in {result['seconds']:.1f}s")
    mix = line_mix_apply(dsn=DSN)
    if mix:
        print(
            f"data: line-level mix applied in {mix['seconds']:.1f}s: {mix['cancelled']:,} "
            f"orders partly cancelled, {mix['shipped']:,} part shipped"
        )
    if os.environ.get("BENCH_API_LOAD_ONLY"):
        return
    with connection.cursor() as cursor:
        end = loaded_end(cursor)

    supplier = Supplier.objects.get(slug=BIG_SLUG)
    _, token = api_token_create(supplier=supplier, name="bench")
    day = (end - timedelta(days=100)).replace(hour=0, minute=0, second=0, microsecond=0)
    with psycopg.connect(DSN, autocommit=True) as conn:
        big_count = conn.execute(
            "SELECT count(*) FROM orders_order WHERE supplier_id = %s", [supplier.pk]
        ).fetchone()[0]
        deep_offset = int(big_count * 0.9)
        deep = conn.execute(
            "SELECT created_at, id FROM orders_order WHERE supplier_id = %s "
            "ORDER BY created_at, id OFFSET %s LIMIT 1",
            [supplier.pk, deep_offset],
        ).fetchone()
    horizon = datetime.now(UTC) - timedelta(minutes=1)
    cursor_value = cursor_encode(
        position=OrderPosition(created_at=deep[0], id=deep[1]), settled_before=horizon
    )
    updated_after = end - timedelta(days=30)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    scenarios = {
        "one-day window": (
            {"created_after": iso(day), "created_before": iso(day + timedelta(days=1))},
            "o.supplier_id = %(s)s AND o.created_at >= %(a)s AND o.created_at < %(b)s",
            {"s": supplier.pk, "a": day, "b": day + timedelta(days=1)},
        ),
        f"deep cursor (order {deep_offset:,})": (
            {"created_after": iso(epoch), "cursor": cursor_value},
            "o.supplier_id = %(s)s AND o.created_at >= %(a)s AND o.created_at < %(h)s "
            "AND o.created_at >= %(ct)s AND (o.created_at > %(ct)s OR o.id > %(ci)s)",
            {"s": supplier.pk, "a": epoch, "h": horizon, "ct": deep[0], "ci": deep[1]},
        ),
        "updated_after (30 days)": (
            {"updated_after": iso(updated_after)},
            # The same late row lookup as the selector: ids from the covering index first.
            "o.id IN (SELECT id FROM orders_order WHERE supplier_id = %(s)s "
            "AND created_at < %(h)s AND updated_at >= %(u)s AND updated_at < %(h)s "
            "ORDER BY created_at, id LIMIT 101)",
            {"s": supplier.pk, "h": horizon, "u": updated_after},
        ),
    }

    # Queries per page, counted in this process through the same Django stack.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v1/orders", {"created_after": iso(day), "limit": 1})  # the token's touch
    counts, rows = {}, {}
    for name, (params, _, _) in scenarios.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/orders", {**params, "limit": PAGE})
        assert response.status_code == 200, response.content[:300]
        rows[name] = len(response.json()["results"])
        counts[name] = len(queries)

    # Where a page's time goes, in this process (no HTTP), against the raw floor.
    from orders.selectors import order_list_for_supplier

    day_where, day_params = scenarios["one-day window"][1:]
    parts = {"selector (1 query)": [], "page bytes": [], "raw": []}
    with psycopg.connect(DSN, autocommit=True) as conn:
        for _ in range(max(20, REQUESTS // 3)):
            t0 = time.perf_counter()
            page = order_list_for_supplier(
                supplier=supplier, created_after=day, created_before=day + timedelta(days=1)
            )
            t1 = time.perf_counter()
            ('{"results":[' + ",".join(page.documents) + '],"next":null}').encode()
            t2 = time.perf_counter()
            raw_page(conn, day_where, day_params)
            t3 = time.perf_counter()
            for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                parts[key].append(value)

    bare_file = tempfile.NamedTemporaryFile(prefix="bench-api-bare-", delete=False).name
    proc, port = start_gunicorn(bare_file)
    try:
        results = {}
        with psycopg.connect(DSN, autocommit=True) as conn:
            for name, (params, where, sql_params) in scenarios.items():
                path = "/api/v1/orders?" + urlencode({**params, "limit": PAGE})
                status, body = http_get(port, path, token)
                assert status == 200, body[:300]
                api_docs = json.loads(body)["results"]
                raw_docs = json.loads(raw_page(conn, where, sql_params))["results"]
                assert api_docs == raw_docs, f"{name}: raw SQL rows differ from the API's"
                for _ in range(10):
                    http_get(port, path, token)
                    raw_page(conn, where, sql_params)
                http_times, raw_times = [], []
                for _ in range(REQUESTS):
                    t0 = time.perf_counter()
                    status, _ = http_get(port, path, token)
                    http_times.append(time.perf_counter() - t0)
                    assert status == 200
                    t0 = time.perf_counter()
                    raw_page(conn, where, sql_params)
                    raw_times.append(time.perf_counter() - t0)
                results[name] = (http_times, raw_times, len(body), path)

        day_path = results["one-day window"][3]
        _, day_body = http_get(port, day_path, token)
        Path(bare_file).write_bytes(day_body)
        status, bare_body = http_get(port, "/bench/bare", None)
        assert status == 200 and bare_body == day_body
        # In the order page, bare, bare, page, each for half the time, so that a drift of
        # the machine's speed during the measurement weighs on both alike.
        runs = {"page": [], "bare": []}
        for name in ("page", "bare", "bare", "page"):
            path, key = (day_path, token) if name == "page" else ("/bench/bare", None)
            runs[name].append(throughput(port, path, key, seconds=SECONDS / 2))
        api_rps = statistics.fmean(runs["page"])
        bare_rps = statistics.fmean(runs["bare"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        os.unlink(bare_file)

    print()
    print(
        f"{'page':32} {'orders':>6} {'queries':>7} {'http p50':>9} {'http p99':>9} "
        f"{'raw p50':>8} {'raw p99':>8} {'p50 ratio':>9} {'bytes':>7}"
    )
    ok = True
    for name, (http_times, raw_times, size, _) in results.items():
        ratio = statistics.median(http_times) / statistics.median(raw_times)
        ok &= ratio <= 3 and counts[name] <= 3
        print(
            f"{name:32} {rows[name]:>6} {counts[name]:>7} {pct(http_times, 0.5) * 1000:>7.2f}ms "
            f"{pct(http_times, 0.99) * 1000:>7.2f}ms {pct(raw_times, 0.5) * 1000:>6.2f}ms "
            f"{pct(raw_times, 0.99) * 1000:>6.2f}ms {ratio:>8.2f}x {size:>7}"
        )
    print()
    print(
        "in-process, one-day page (p50): "
        + ", ".join(
            f"{name} {statistics.median(values) * 1000:.2f}ms" for name, values in parts.items()
        )
    )
    print()
    print(f"requests/s, one-day page: {api_rps:8.1f}")
    print(f"requests/s, bare view   : {bare_rps:8.1f}  (same {len(day_body)} bytes)")
    print(f"ratio page / bare       : {api_rps / bare_rps:8.2f}  (goal >= 0.30)")
    ok &= api_rps / bare_rps >= 0.3
    print()
    print("goals: <= 3 queries per page; http p50 <= 3x raw SQL + serialization; rate >= 0.3x")
    print("all goals met" if ok else "NOT all goals met")


if __name__ == "__main__":
    main()
