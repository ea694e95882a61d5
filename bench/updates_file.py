"""Benchmark, update-file leg of bench/updates.py: 10,000 updates applied as one update file,
against the same changes by raw SQL in the same run.

    DEBUG=true .venv/bin/python bench/updates_file.py

On PostgreSQL (BENCH_UPDATES_DATABASE_URL, default the op_updates database; migrated on
start), makes 2 x BENCH_UPDATES_ORDERS orders (default 1,000) of eight lines of two units
through intake, for a new supplier each run. Each order gets ten rows (testsupport/updates.py):
an acknowledgement, a partial cancellation of three lines, a five-line shipment and a
second parcel, so 1,000 orders are 10,000 rows in 4,000 changes.

(b) The first half's file through `update_file_receive_and_apply` (the portal's and SFTP's
path: SHA-256 record, parse, each change through the order services in its own bounded
transaction, result CSV), timed, with the peak resident memory it added (Linux VmHWM).
(c) The second half's same changes by raw SQL: per change one transaction that locks the order
and its lines, updates the lines in one statement, inserts the cancellation or shipment and
its lines, updates the order (status, version, acknowledgement) and inserts the event: the
least a database must do for these changes (no stored document, no validation).

Prints rows/s of each and the ratio; goal: the file at 500 rows/s or more. The function
`bench_update_file(orders=...)` returns these figures; `measure_file(supplier=, numbers=,
requests_for=)` is bench/updates.py's slot (b): its API requests, as one file.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
GOAL_ROWS_PER_SECOND = 500


def _setup() -> None:
    """Run as a script: its own database. Imported (bench/updates.py), the caller's setup."""
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_UPDATES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_updates"
    )
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    from bench.databases import database_ensure

    database_ensure(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _raw_sql_apply(numbers: list[str]) -> None:
    """The same changes as the file's, by hand-written SQL, one transaction per change."""
    from django.db import connection, transaction

    from testsupport.updates import workload_rows

    groups: dict[tuple, list[tuple[int, str]]] = {}
    for text in workload_rows(numbers):
        number, action, line, quantity, reason, note, carrier, tracking = text.split(",")
        key = (number, action, reason, note) if action == "cancel" else (number, action, carrier)
        groups.setdefault(key + ((tracking,) if action == "ship" else ()), []).append(
            (int(line) if line else 0, quantity)
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, id FROM orders_order WHERE number = ANY(%s)", [numbers])
        ids = dict(cursor.fetchall())
    for key, items in groups.items():
        number, action = key[0], key[1]
        order_id = ids[number]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT status FROM orders_order WHERE id = %s FOR UPDATE", [order_id])
            cursor.execute(
                "SELECT id, line_no, quantity, quantity_cancelled, quantity_shipped"
                " FROM orders_orderline WHERE order_id = %s ORDER BY line_no FOR UPDATE",
                [order_id],
            )
            lines = {row[1]: list(row) for row in cursor.fetchall()}
            status = "processing"
            if action != "acknowledge":
                pairs = []
                for line_no, quantity in items:
                    line = lines[line_no]
                    pairs.append(
                        (line[0], int(quantity) if quantity else line[2] - line[3] - line[4])
                    )
                column = "quantity_cancelled" if action == "cancel" else "quantity_shipped"
                values = ",".join(["(%s, %s)"] * len(pairs))
                cursor.execute(
                    f"UPDATE orders_orderline l SET {column} = l.{column} + v.q"
                    f" FROM (VALUES {values}) AS v(id, q) WHERE l.id = v.id",
                    [x for pair in pairs for x in pair],
                )
                if action == "cancel":
                    cursor.execute(
                        "INSERT INTO orders_cancellation (order_id, reason, note, actor,"
                        " created_at) VALUES (%s, %s, %s, 'bench', now()) RETURNING id",
                        [order_id, key[2], key[3]],
                    )
                    table, fk = "orders_cancellationline", "cancellation_id"
                else:
                    cursor.execute(
                        "INSERT INTO orders_shipment (order_id, carrier, tracking_number,"
                        " shipped_at, actor, created_at) VALUES (%s, %s, %s, now(), 'bench',"
                        " now()) RETURNING id",
                        [order_id, key[2], key[3]],
                    )
                    table, fk = "orders_shipmentline", "shipment_id"
                record = cursor.fetchone()[0]
                values = ",".join(["(%s, %s, %s)"] * len(pairs))
                cursor.execute(
                    f"INSERT INTO {table} ({fk}, line_id, quantity) VALUES {values}",
                    [x for line_id, q in pairs for x in (record, line_id, q)],
                )
            cursor.execute(
                "UPDATE orders_order SET status = %s, version = version + 1, updated_at = now(),"
                " acknowledged_at = coalesce(acknowledged_at, now()),"
                " acknowledged_via = CASE WHEN acknowledged_via = '' THEN 'file'"
                " ELSE acknowledged_via END WHERE id = %s",
                [status, order_id],
            )
            cursor.execute(
                "INSERT INTO orders_orderevent (order_id, type, actor, note, data, created_at)"
                " VALUES (%s, %s, 'bench', '', '{}', now())",
                [order_id, "order.updated"],
            )


def _timed_apply(*, supplier, content: bytes) -> dict:
    from orders.updates import update_file_receive_and_apply

    Path("/proc/self/clear_refs").write_text("5")  # peak resident := now
    before_kib = _status_kib("VmRSS")
    started = time.perf_counter()
    update_file, _result = update_file_receive_and_apply(
        supplier=supplier, name=f"bench-{time.time_ns()}.csv", content=content, source="sftp"
    )
    seconds = time.perf_counter() - started
    return {
        "update_file": update_file,
        "seconds": seconds,
        "peak_memory_growth_mib": (_status_kib("VmHWM") - before_kib) / 1024,
    }


def _rows_from_requests(number: str, requests: list[tuple[str, str, dict]]) -> list[str]:
    """bench/updates.py's API requests for one order as update-file rows."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for kind, _path, body in requests:
        base = {"reason": "", "note": "", "carrier": "", "tracking_number": ""}
        base.update({k: body.get(k, "") for k in base})
        lines = body.get("lines") or [{"line": "", "quantity": ""}]
        for item in lines:
            writer.writerow(
                [
                    number,
                    kind,
                    item["line"],
                    item["quantity"],
                    base["reason"],
                    base["note"],
                    base["carrier"],
                    base["tracking_number"],
                ]
            )
    return out.getvalue().splitlines()


def measure_file(*, supplier, numbers: list[str], requests_for) -> dict:
    """(b) of bench/updates.py: the updates `requests_for(number)` describes, for every
    order, applied as one update file; {"rows", "seconds", "peak_memory_growth_mib"}."""
    from testsupport.updates import HEADER

    rows = [row for number in numbers for row in _rows_from_requests(number, requests_for(number))]
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    run = _timed_apply(supplier=supplier, content=content)
    update_file = run["update_file"]
    assert update_file.error_count == 0, update_file.result[:2000]
    return {
        "rows": update_file.row_count,
        "seconds": run["seconds"],
        "peak_memory_growth_mib": run["peak_memory_growth_mib"],
    }


def bench_update_file(*, orders: int = 1000) -> dict:
    """Figures of one run: rows, seconds and rows/s of the file and of raw SQL, memory."""
    import secrets

    from testsupport.factories import make_retailer, make_supplier
    from testsupport.updates import ROWS_PER_ORDER, workload_file, workload_orders

    tag = secrets.token_hex(3)
    supplier = make_supplier(slug=f"bench-updates-{tag}")
    retailer, _ = make_retailer(slug=f"bench-updates-{tag}")
    started = time.perf_counter()
    made = workload_orders(supplier=supplier, retailer=retailer, count=2 * orders)
    setup_seconds = time.perf_counter() - started
    file_numbers = [order.number for order in made[:orders]]
    sql_numbers = [order.number for order in made[orders:]]
    content = workload_file(file_numbers)
    rows = orders * ROWS_PER_ORDER

    run = _timed_apply(supplier=supplier, content=content)
    file_seconds, peak_growth_mib = run["seconds"], run["peak_memory_growth_mib"]
    assert run["update_file"].applied_count == rows, (run["update_file"].applied_count, rows)

    started = time.perf_counter()
    _raw_sql_apply(sql_numbers)
    sql_seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "changes": orders * 4,
        "setup_seconds": setup_seconds,
        "file_seconds": file_seconds,
        "file_rows_per_second": rows / file_seconds,
        "sql_seconds": sql_seconds,
        "sql_rows_per_second": rows / sql_seconds,
        "ratio_file_to_sql": file_seconds / sql_seconds,
        "peak_memory_growth_mib": peak_growth_mib,
        "file_bytes": len(content),
    }


def main() -> None:
    _setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/updates_file.py measures PostgreSQL; set BENCH_UPDATES_DATABASE_URL")
    figures = bench_update_file(orders=int(os.environ.get("BENCH_UPDATES_ORDERS", "1000")))
    print(
        f"made {2 * figures['rows'] // 10} orders in {figures['setup_seconds']:.1f}s (intake)\n"
        f"update file: {figures['rows']} rows ({figures['changes']} changes, "
        f"{figures['file_bytes'] / 1024:.0f} KiB) in {figures['file_seconds']:.2f}s = "
        f"{figures['file_rows_per_second']:.0f} rows/s "
        f"(goal >= {GOAL_ROWS_PER_SECOND}: "
        f"{'met' if figures['file_rows_per_second'] >= GOAL_ROWS_PER_SECOND else 'NOT met'})\n"
        f"raw SQL, same changes: {figures['sql_seconds']:.2f}s = "
        f"{figures['sql_rows_per_second']:.0f} rows/s\n"
        f"file / raw SQL time: {figures['ratio_file_to_sql']:.1f}x\n"
        f"peak resident memory added while applying the file: "
        f"{figures['peak_memory_growth_mib']:.1f} MiB"
    )


if __name__ == "__main__":
    main()
