"""Benchmark of supplier updates (issue 13): by API through gunicorn and as one update file,
against the same changes by raw SQL, all in one run.

    DEBUG=true .venv/bin/python bench/updates.py
    BENCH_UPDATES=1500 DEBUG=true .venv/bin/python bench/updates.py   # a quick run

Into BENCH_UPDATES_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/op_updates,
emptied first) it places BENCH_UPDATES (default 10,000) / 3 orders of two lines (2 units
each) for each of the measured ways, then applies to every order the same three updates:
acknowledge, cancel one unit of line 1, ship the rest (so a mix of the three kinds):

- (a) one API request each (POST acknowledgement, cancellation, shipments) through gunicorn
  (2 workers, DEBUG=false) from this process, keep-alive, one at a time: p50/p99 per kind
  and overall, and updates/s; then, in the same run, the read API's one-order page
  (GET /api/v1/orders/<number>) p50/p99 (BENCH_UPDATES_READS requests); and the CPU per
  request of the serving processes (gunicorn's workers and their PostgreSQL server
  processes, from /proc), which a loaded machine inflates far less than wall time;
- (b) the same changes as one update file (one row per update) through
  `update_file_receive_and_apply`, the portal's task and SFTP's path (SHA-256 record, parse,
  each order's rows under one lock, result rows, result CSV): rows/s, and the peak resident
  memory applying it added (Linux VmHWM after clear_refs); and (b') the portal's preview of
  such a file while it is pending, its first UPDATE_FILE_PREVIEW_ROWS rows as a page view
  makes it, against the whole file as every view made it before: seconds and peak memory;
- (c) the same changes by raw SQL (psycopg, one transaction per update: the order row,
  the line, the record, the event), the floor.

- (d) what a COMMIT costs here (bench/commits.py): after a read, a row lock, a row's UPDATE.

Goals: the file at 500 rows/s or more; an API update's p50 within 3x that of the read page.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DSN = os.environ.get("BENCH_UPDATES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_updates")
UPDATES = int(os.environ.get("BENCH_UPDATES", "10000"))
READS = int(os.environ.get("BENCH_UPDATES_READS", "1000"))
CACHE_URL = os.environ.get("BENCH_UPDATES_CACHE_URL", "redis://127.0.0.1:6379/7")

os.environ["DATABASE_URL"] = DSN
os.environ.setdefault("DEBUG", "true")
os.environ["DJANGO_SETTINGS_MODULE"] = "orders_portal.settings"
os.environ["SUPPLIER_API_RATE"] = "1000000000/min"
os.environ["CACHE_URL"] = CACHE_URL
os.environ["DELIVERY_DISPATCH"] = "listener"  # as in production: no dispatch in the request

import django  # noqa: E402

from bench.commits import commit_latencies  # noqa: E402
from bench.databases import database_ensure  # noqa: E402
from bench.processes import cpu_seconds  # noqa: E402

database_ensure(DSN)
django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402

from orders.models import Order  # noqa: E402
from orders.services import order_place_from_retailer  # noqa: E402
from suppliers.services import api_token_create  # noqa: E402
from testsupport.factories import (  # noqa: E402
    intake_payload,
    make_products,
    make_retailer,
    make_supplier,
)

KINDS = ("acknowledge", "cancel", "ship")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fresh_database() -> None:
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    call_command("migrate", verbosity=0)


def place(count: int, *, retailer) -> list[str]:
    numbers = []
    for _ in range(count):
        result = order_place_from_retailer(
            retailer=retailer,
            payload=intake_payload(
                lines=[{"sku": "UPD-1", "quantity": 2}, {"sku": "UPD-2", "quantity": 2}]
            ),
        )
        numbers += [order.number for order in result.orders]
    return numbers


def requests_for(number: str) -> list[tuple[str, str, dict]]:
    """The three updates of one order: (kind, path, body)."""
    base = f"/api/v1/orders/{number}"
    return [
        ("acknowledge", f"{base}/acknowledgement", {}),
        (
            "cancel",
            f"{base}/cancellation",
            {"reason": "out_of_stock", "note": "one short", "lines": [{"line": 1, "quantity": 1}]},
        ),
        ("ship", f"{base}/shipments", {"carrier": "DPD", "tracking_number": f"T{number}"}),
    ]


# --- (a) the API through gunicorn --------------------------------------------------------


def start_gunicorn() -> tuple[subprocess.Popen, int]:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        # One PostgreSQL server process per worker for the whole run, so that its CPU can be
        # read (with the default 60 s, each worker reconnects, and the old process's is lost).
        "CONN_MAX_AGE": "3600",
    }
    log = tempfile.NamedTemporaryFile(prefix="bench-updates-gunicorn-", suffix=".log", delete=False)
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
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = Path(log.name).read_text()
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found and text.count("Booting worker") >= 2:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{text}")
        time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


class Api:
    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, float]:
        data = None if body is None else json.dumps(body)
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000


def server_pids(gunicorn: subprocess.Popen) -> list[int]:
    """The gunicorn workers and the PostgreSQL server processes of their connections (this
    process's own connection excepted): the processes whose CPU an API request costs."""
    children = Path(f"/proc/{gunicorn.pid}/task/{gunicorn.pid}/children").read_text().split()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        backends = [pid for (pid,) in cursor.fetchall()]
    return [int(pid) for pid in children] + backends


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def measure_api(port: int, token: str, numbers: list[str], gunicorn: subprocess.Popen) -> dict:
    api = Api(port, token)
    for _ in range(20):  # both workers warm (each imports on its first request)
        api.call("GET", f"/api/v1/orders/{numbers[0]}")
    by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    pids = server_pids(gunicorn)
    cpu_before = cpu_of(pids)
    started = time.perf_counter()
    for number in numbers:
        for kind, path, body in requests_for(number):
            status, ms = api.call("POST", path, body)
            if status not in (200, 201):
                raise SystemExit(f"{kind} {path}: {status}")
            by_kind[kind].append(ms)
    seconds = time.perf_counter() - started
    update_cpu = cpu_of(pids) - cpu_before
    every = [ms for values in by_kind.values() for ms in values]
    pids = server_pids(gunicorn)
    cpu_before = cpu_of(pids)
    reads = [
        api.call("GET", f"/api/v1/orders/{numbers[i % len(numbers)]}")[1] for i in range(READS)
    ]
    read_cpu = cpu_of(pids) - cpu_before
    return {
        "by_kind": by_kind,
        "all": every,
        "seconds": seconds,
        "reads": reads,
        # CPU (ms) per request of the processes serving it: gunicorn's and PostgreSQL's.
        "update_cpu_ms": update_cpu * 1000 / len(every),
        "read_cpu_ms": read_cpu * 1000 / len(reads),
    }


# --- (b) the update file ----------------------------------------------------------------

FILE_HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"


def file_rows(number: str) -> list[str]:
    """The API requests of one order (`requests_for`) as update-file rows, one per update."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for kind, _path, body in requests_for(number):
        for item in body.get("lines") or [{"line": "", "quantity": ""}]:
            writer.writerow(
                [
                    number,
                    kind,
                    item["line"],
                    item["quantity"],
                    body.get("reason", ""),
                    body.get("note", ""),
                    body.get("carrier", ""),
                    body.get("tracking_number", ""),
                ]
            )
    return out.getvalue().splitlines()


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def measure_file(*, supplier, numbers: list[str]) -> dict:
    """(b) The same updates as one update file; its rows, seconds and peak memory added."""
    from orders.updates import update_file_receive_and_apply

    content = update_file_content(numbers)
    Path("/proc/self/clear_refs").write_text("5")  # peak resident := now
    before_kib = _status_kib("VmRSS")
    started = time.perf_counter()
    update_file, _ = update_file_receive_and_apply(
        supplier=supplier, name="bench-updates.csv", content=content, source="sftp"
    )
    seconds = time.perf_counter() - started
    peak_mib = (_status_kib("VmHWM") - before_kib) / 1024
    assert update_file.error_count == 0, update_file.result[:2000]
    assert update_file.applied_count == len(numbers) * len(KINDS), update_file.applied_count
    return {
        "rows": update_file.row_count,
        "seconds": seconds,
        "peak_memory_mib": peak_mib,
        "bytes": len(content),
    }


def update_file_content(numbers: list[str]) -> bytes:
    return ("\n".join([FILE_HEADER, *(r for n in numbers for r in file_rows(n))]) + "\n").encode()


def measure_preview(*, supplier, numbers: list[str]) -> dict:
    """(b') The portal's preview of that file while pending (a dry run, rolled back): its
    first UPDATE_FILE_PREVIEW_ROWS rows, as a page view makes it, against the whole file,
    as every page view made it before (the baseline); seconds and peak memory of each."""
    from django.conf import settings

    from orders.updates.files import update_file_preview, update_file_receive

    # A blank line more: other bytes than (b)'s file, so this one stays pending.
    update_file = update_file_receive(
        supplier=supplier,
        name="bench-preview.csv",
        content=update_file_content(numbers) + b"\n",
        source="portal",
    )
    out = {"rows": update_file.row_count}
    for name, rows in (
        ("bounded", min(update_file.row_count, settings.UPDATE_FILE_PREVIEW_ROWS)),
        ("whole", update_file.row_count),
    ):
        Path("/proc/self/clear_refs").write_text("5")  # peak resident := now
        before_kib = _status_kib("VmRSS")
        started = time.perf_counter()
        outcomes = update_file_preview(update_file=update_file, rows=rows)
        out[name] = {
            "rows": len(outcomes),
            "seconds": time.perf_counter() - started,
            "peak_memory_mib": (_status_kib("VmHWM") - before_kib) / 1024,
        }
        del outcomes
    return out


# --- (c) raw SQL: the floor ------------------------------------------------------------


def measure_sql(numbers: list[str]) -> dict:
    """The same changes written directly: per update one transaction that locks the order,
    changes the line(s), writes the record and the event and bumps the order."""
    by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    started = time.perf_counter()
    with psycopg.connect(DSN) as conn:
        for number in numbers:
            for kind in KINDS:
                t = time.perf_counter()
                with conn.transaction():
                    _sql_update(conn, number, kind)
                by_kind[kind].append((time.perf_counter() - t) * 1000)
    return {"by_kind": by_kind, "seconds": time.perf_counter() - started}


def _sql_update(conn, number: str, kind: str) -> None:
    now = datetime.now(UTC)
    order_id, version = conn.execute(
        "SELECT id, version FROM orders_order WHERE number = %s FOR UPDATE", [number]
    ).fetchone()
    lines = conn.execute(
        "SELECT id, line_no, quantity - quantity_cancelled - quantity_shipped "
        "FROM orders_orderline WHERE order_id = %s ORDER BY line_no FOR UPDATE",
        [order_id],
    ).fetchall()
    data: dict = {"channel": {"via": "api", "by": "bench"}}
    if kind == "acknowledge":
        event = "order.acknowledged"
    elif kind == "cancel":
        event = "order.lines_cancelled"
        line_id = lines[0][0]
        conn.execute(
            "UPDATE orders_orderline SET quantity_cancelled = quantity_cancelled + 1 WHERE id = %s",
            [line_id],
        )
        (record,) = conn.execute(
            "INSERT INTO orders_cancellation (order_id, retailer_id, reason, note, actor, "
            "created_at) SELECT id, retailer_id, 'out_of_stock', 'one short', 'api:bench', %s "
            "FROM orders_order WHERE id = %s RETURNING id",
            [now, order_id],
        ).fetchone()
        conn.execute(
            "INSERT INTO orders_cancellationline (cancellation_id, line_id, quantity) "
            "VALUES (%s, %s, 1)",
            [record, line_id],
        )
    else:
        event = "order.shipment_created"
        (record,) = conn.execute(
            "INSERT INTO orders_shipment (order_id, carrier, tracking_number, shipped_at, actor, "
            "created_at) VALUES (%s, 'DPD', %s, %s, 'api:bench', %s) RETURNING id",
            [order_id, f"T{number}", now, now],
        ).fetchone()
        for line_id, _, open_units in lines:
            open_units = open_units - (1 if line_id == lines[0][0] else 0)
            if open_units > 0:
                conn.execute(
                    "UPDATE orders_orderline SET quantity_shipped = quantity_shipped + %s "
                    "WHERE id = %s",
                    [open_units, line_id],
                )
                conn.execute(
                    "INSERT INTO orders_shipmentline (shipment_id, line_id, quantity) "
                    "VALUES (%s, %s, %s)",
                    [record, line_id, open_units],
                )
    conn.execute(
        "UPDATE orders_order SET version = %s, updated_at = %s, "
        "acknowledged_at = COALESCE(acknowledged_at, %s) WHERE id = %s",
        [version + 1, now, now, order_id],
    )
    conn.execute(
        "INSERT INTO orders_orderevent (order_id, type, actor, note, data, created_at) "
        "VALUES (%s, %s, 'api:bench', '', %s, %s)",
        [order_id, event, json.dumps(data), now],
    )


def main() -> None:
    per_way = max(1, UPDATES // 3)
    print(f"bench/updates.py: {per_way * 3:,} updates per way ({per_way:,} orders x 3 kinds)")
    fresh_database()
    supplier = make_supplier(slug="upd", name="Update Bench", emails="po@upd.example")
    make_products(supplier=supplier, skus={"UPD-1": "5.00", "UPD-2": "7.50"})
    retailer, _ = make_retailer(slug="updret", email="buyers@updret.example")
    started = time.perf_counter()
    api_numbers = place(per_way, retailer=retailer)
    file_numbers = place(per_way, retailer=retailer)
    sql_numbers = place(per_way, retailer=retailer)
    print(f"data: {3 * per_way:,} orders placed in {time.perf_counter() - started:.1f}s")
    _, token = api_token_create(supplier=supplier, name="bench", can_update=True)

    proc, port = start_gunicorn()
    try:
        api = measure_api(port, token, api_numbers, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    preview = measure_preview(supplier=supplier, numbers=file_numbers)
    file_result = measure_file(supplier=supplier, numbers=file_numbers)
    raw = measure_sql(sql_numbers)
    commits = commit_latencies(DSN)

    for way, numbers in (("API", api_numbers), ("file", file_numbers)):
        shipped = Order.objects.filter(number__in=numbers, status="shipped").count()
        assert shipped == len(numbers), f"only {shipped} of {len(numbers)} shipped by {way}"

    read_p50 = statistics.median(api["reads"])
    update_p50 = statistics.median(api["all"])
    print(f"\n(a) API through gunicorn: {len(api['all']):,} updates in {api['seconds']:.1f}s "
          f"= {len(api['all']) / api['seconds']:.0f}/s")  # fmt: skip
    for kind in KINDS:
        values = api["by_kind"][kind]
        p50, p99 = statistics.median(values), pct(values, 0.99)
        print(f"    {kind:<12} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    print(f"    all          p50 {update_p50:6.2f} ms  p99 {pct(api['all'], 0.99):6.2f} ms")
    print(f"    read one-order page p50 {read_p50:.2f} ms  p99 {pct(api['reads'], 0.99):.2f} ms")
    cpu_ratio = api["update_cpu_ms"] / api["read_cpu_ms"]
    print(f"    CPU per request (gunicorn workers + their PostgreSQL processes): update "
          f"{api['update_cpu_ms']:.2f} ms, read {api['read_cpu_ms']:.2f} ms "
          f"= {cpu_ratio:.2f}x")  # fmt: skip
    file_rate = file_result["rows"] / file_result["seconds"]
    print(f"(b) update file: {file_result['rows']:,} rows ({file_result['bytes'] / 1024:.0f} KiB) "
          f"in {file_result['seconds']:.2f}s = {file_rate:.0f} rows/s; peak resident memory "
          f"added {file_result['peak_memory_mib']:.1f} MiB")  # fmt: skip
    bounded, whole = preview["bounded"], preview["whole"]
    print(f"(b') its preview while pending (a page view): the first {bounded['rows']:,} rows in "
          f"{bounded['seconds']:.2f}s, peak memory added {bounded['peak_memory_mib']:.1f} MiB; "
          f"the whole file ({whole['rows']:,} rows, every view before) {whole['seconds']:.2f}s, "
          f"{whole['peak_memory_mib']:.1f} MiB = {whole['seconds'] / bounded['seconds']:.1f}x "
          f"the time")  # fmt: skip
    every_sql = [ms for values in raw["by_kind"].values() for ms in values]
    sql_rate = len(every_sql) / raw["seconds"]
    print(f"(c) raw SQL: {len(every_sql):,} updates in {raw['seconds']:.2f}s = {sql_rate:.0f}/s; "
          f"p50 {statistics.median(every_sql):.2f} ms")  # fmt: skip
    print(f"(d) COMMIT p50 (synchronous_commit={commits['synchronous_commit']}): after a read "
          f"{commits['read']:.2f} ms, after a row lock {commits['lock']:.2f} ms, after a row's "
          f"UPDATE {commits['write']:.2f} ms (each update pays one; no read does)")  # fmt: skip
    ratio = update_p50 / read_p50
    load = os.getloadavg()
    print(f"\nload average during the run's end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"file / raw SQL rows/s: {file_rate / sql_rate:.2f}")
    print(f"goal: file {file_rate:.0f} rows/s (>= 500): {'MET' if file_rate >= 500 else 'NOT MET'}")
    verdict = "MET" if ratio <= 3 else "NOT MET"
    print(f"goal: API update p50 / read page p50 = {ratio:.2f} (<= 3): {verdict}")
    print(f"(load-proof: API update CPU / read page CPU = {cpu_ratio:.2f})")


if __name__ == "__main__":
    main()
