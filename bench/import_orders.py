"""Benchmark of `import_orders`: its speed against placing the same orders straight through the
service, and its peak memory as the file grows (it must not grow with the file).

    DEBUG=true .venv/bin/python bench/import_orders.py
    BENCH_IMPORT_ORDERS=1000 DEBUG=true .venv/bin/python bench/import_orders.py   # quicker

Into BENCH_IMPORT_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/op_import_bench,
emptied first) it imports, each in a process of its own so that peak memory is its alone:
- a JSON list of BENCH_IMPORT_ORDERS / 6 orders, and one of BENCH_IMPORT_ORDERS (default
  3,000) orders, of three lines each: seconds, orders/s, and the peak resident memory the
  import added (Linux VmHWM after clear_refs, less the resident memory before it);
- a CSV of BENCH_IMPORT_ORDERS orders, one row per line, the rows of an order together;
- the baseline, in the same run: the large file's documents, already in memory, placed one
  by one through `order_place_from_retailer` (what the command's writing pass does, without
  the file and without its checking pass): orders/s; and the memory that holding the large
  file's documents whole takes (`json.load`), as the command did before it streamed.

Goal: the large import's peak memory below a quarter of what holding its file's documents
whole takes (it holds a document and the references seen, not the file); the small import's
figure shows what any import holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DSN = os.environ.get(
    "BENCH_IMPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/op_import_bench"
)
ORDERS = int(os.environ.get("BENCH_IMPORT_ORDERS", "3000"))

os.environ["DATABASE_URL"] = DSN
os.environ.setdefault("DEBUG", "true")
os.environ["DJANGO_SETTINGS_MODULE"] = "orders_portal.settings"
os.environ["DELIVERY_DISPATCH"] = "listener"  # as in production: no dispatch in the write
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/9")

SKUS = {"IMP-1": "9.50", "IMP-2": "4.25", "IMP-3": "12.00"}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _setup_django() -> None:
    import django

    django.setup()


def _document(reference: str) -> dict:
    from testsupport.factories import intake_payload

    return intake_payload(
        reference=reference,
        lines=[{"sku": sku, "quantity": 2} for sku in SKUS],
    )


def _write_json(path: Path, prefix: str, count: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[\n")
        for i in range(count):
            handle.write(("," if i else "") + json.dumps(_document(f"{prefix}-{i}")) + "\n")
        handle.write("]\n")


def _write_csv(path: Path, prefix: str, count: int) -> None:
    import csv

    from orders.intake.csv import CSV_COLUMNS

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for i in range(count):
            document = _document(f"{prefix}-{i}")
            customer, address = document["customer"], document["shipping_address"]
            for line in document["lines"]:
                writer.writerow(
                    {
                        "reference": document["reference"],
                        "customer_name": customer.get("name", ""),
                        "customer_email": customer.get("email", ""),
                        "customer_phone": customer.get("phone", ""),
                        **{f"ship_{key}": value for key, value in address.items()},
                        "sku": line["sku"],
                        "quantity": line["quantity"],
                    }
                )


def child(mode: str, path: str) -> None:
    """In a process of its own: one measured step; prints its figures as JSON."""
    _setup_django()
    from io import StringIO

    from django.conf import settings

    # DEBUG keeps every query's SQL on the connection (9,000 of them): memory that grows with
    # the orders written, whatever the command holds, and that production (DEBUG off) has not.
    settings.DEBUG = False

    from django.core.management import call_command

    from orders.models import Retailer
    from orders.services import order_place_from_retailer

    retailer = Retailer.objects.get(slug="bench-shop")
    Path("/proc/self/clear_refs").write_text("5")  # peak resident := now
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    if mode == "command":
        out = StringIO()
        call_command("import_orders", "bench-shop", path, stdout=out, stderr=StringIO())
        count = int(out.getvalue().split(": ", 1)[1].split(" ", 1)[0])
    elif mode == "service":
        with open(path, encoding="utf-8") as handle:
            documents = json.load(handle)
        started = time.perf_counter()  # placing only: the documents are in memory already
        for document in documents:
            order_place_from_retailer(retailer=retailer, payload=document, actor="ops:import")
        count = len(documents)
    else:  # "whole": what holding the file's documents at once takes
        with open(path, encoding="utf-8") as handle:
            documents = json.load(handle)
        count = len(documents)
    seconds = time.perf_counter() - started
    peak_mib = (_status_kib("VmHWM") - before) / 1024
    print(json.dumps({"count": count, "seconds": seconds, "peak_mib": peak_mib}))


def _run_child(mode: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{mode} {path.name} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench.databases import database_ensure

    database_ensure(DSN)
    _setup_django()
    import psycopg
    from django.core.management import call_command

    from testsupport.factories import make_products, make_retailer, make_supplier

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    call_command("migrate", verbosity=0)
    supplier = make_supplier(slug="bench-acme")
    make_products(supplier=supplier, skus=SKUS)
    make_retailer(slug="bench-shop")

    small = max(100, ORDERS // 6)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        files = {
            "small": folder / "small.json",
            "large": folder / "large.json",
            "csv": folder / "large.csv",
            "baseline": folder / "baseline.json",
        }
        _write_json(files["small"], "S", small)
        _write_json(files["large"], "L", ORDERS)
        _write_csv(files["csv"], "C", ORDERS)
        _write_json(files["baseline"], "B", ORDERS)
        print(
            f"import_orders bench: {small} and {ORDERS} orders of {len(SKUS)} lines (JSON "
            f"{files['small'].stat().st_size / 2**20:.1f} and "
            f"{files['large'].stat().st_size / 2**20:.1f} MiB), a CSV of {ORDERS} "
            f"({files['csv'].stat().st_size / 2**20:.1f} MiB); PostgreSQL",
            flush=True,
        )
        figures = {}
        # The small import first warms the database up; then the baseline and the large
        # import in turn (run last, the baseline gained from a warmer database).
        for name, mode in (
            ("small", "command"),
            ("baseline", "service"),
            ("large", "command"),
            ("csv", "command"),
        ):
            figures[name] = result = _run_child(mode, files[name])
            rate = result["count"] / result["seconds"]
            print(
                f"  {name:>8}: {result['count']} orders in {result['seconds']:.1f} s, "
                f"{rate:.0f} orders/s, peak memory added {result['peak_mib']:.1f} MiB",
                flush=True,
            )
        whole = _run_child("whole", files["large"])

    large_peak = figures["large"]["peak_mib"]
    share = large_peak / max(whole["peak_mib"], 0.1)
    speed = (figures["large"]["count"] / figures["large"]["seconds"]) / (
        figures["baseline"]["count"] / figures["baseline"]["seconds"]
    )
    print(f"holding the large file's documents whole (json.load): {whole['peak_mib']:.1f} MiB")
    print(
        f"peak memory of the large import / holding its documents whole: {share:.2f} "
        f"(goal < 0.25: {'met' if share < 0.25 else 'NOT met'}); small import "
        f"{figures['small']['peak_mib']:.1f} MiB, large {large_peak:.1f} MiB for "
        f"{ORDERS // small}x the orders"
    )
    print(
        f"speed, import_orders / the service alone on documents in memory: {speed:.2f} "
        "(the command also reads the file twice and checks every document first)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
