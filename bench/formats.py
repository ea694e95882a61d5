"""Benchmark: render 10,000 order files with a custom delimited format and with the built-in CSV.

    DEBUG=true .venv/bin/python bench/formats.py
    BENCH_FORMAT_FILES=2000 BENCH_FORMAT_ORDERS=100 DEBUG=true .venv/bin/python bench/formats.py

Places BENCH_FORMAT_ORDERS orders (default 500, two lines each) through the intake service in
a throwaway SQLite database (or BENCH_DATABASE_URL), loads them as the SFTP channel does, then
renders BENCH_FORMAT_FILES files (default 10,000: each order several times, every render from
scratch) with each format in the same run, alternating rounds so neither gets a warmer machine.
The custom format is made as ops make it (the admin's checks, `file_format_save`): the
contract's 21 columns shuffled and renamed, a constant, a date pattern, upper case, a pad,
semicolons, UTF-8 with BOM, CRLF, every cell quoted, decimal comma, formula neutralising on.
Goal: custom files/s at least 0.8 of the built-in CSV's. Peak memory: tracemalloc's peak for
one pass of each (a separate pass, as tracing slows both).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = int(os.environ.get("BENCH_FORMAT_FILES", "10000"))
ORDERS = int(os.environ.get("BENCH_FORMAT_ORDERS", "500"))
_db_dir = tempfile.mkdtemp(prefix="op-bench-formats-db-")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{_db_dir}/bench.sqlite3"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")

import django  # noqa: E402

from bench.databases import database_ensure  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])
django.setup()

from django.core.management import call_command  # noqa: E402

from delivery.formats import FORMATS, format_for  # noqa: E402
from delivery.formats.models import FileFormat  # noqa: E402
from delivery.formats.services import file_format_save  # noqa: E402
from orders.documents import orders_with_document_relations  # noqa: E402
from orders.models import Order  # noqa: E402
from testsupport.factories import (  # noqa: E402
    make_products,
    make_retailer,
    make_supplier,
    place_order,
)

COLUMNS = """\
Qty = line.quantity
Artikel = line.sku | upper
Bezeichnung = line.name
Pos = line.line | zpad:3
Bestellung = number
Datum = placed_at | date:%d.%m.%Y
Haendler = retailer.slug
Referenz = retailer.reference
Kunde = customer.name | upper
E-Mail = customer.email
Telefon = customer.phone
Name = shipping_address.name
Strasse = shipping_address.line1
Zusatz = shipping_address.line2
Ort = shipping_address.city
Region = shipping_address.region
PLZ = shipping_address.postcode | pad:10
Land = shipping_address.country
Preis = line.unit_price
Summe = line.line_total
Waehrung = currency
Quelle = const:DROPSHIP"""


def setup() -> list[Order]:
    call_command("migrate", verbosity=0)
    tag = os.urandom(3).hex()
    supplier = make_supplier(slug=f"bench-{tag}")
    make_products(supplier=supplier, skus={f"B{tag}-1": "9.50", f"B{tag}-2": "3.25"})
    retailer, _ = make_retailer(slug=f"benchshop-{tag}")
    for _ in range(ORDERS):
        place_order(
            retailer=retailer,
            lines=[{"sku": f"B{tag}-1", "quantity": 2}, {"sku": f"B{tag}-2", "quantity": 1}],
        )
    file_format_save(
        file_format=FileFormat(
            name=f"bench-{tag}",
            kind="delimited",
            columns=COLUMNS,
            delimiter=";",
            quoting="all",
            encoding="utf-8-sig",
            line_end="crlf",
            decimal_separator=",",
            extension="csv",
            file_name_pattern="{supplier}_{number}_{placed_at:%Y%m%d}.{ext}",
        )
    )
    return list(orders_with_document_relations(Order.objects.filter(supplier=supplier)))


def run(fmt, orders, files: int) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    n = len(orders)
    for i in range(files):
        order = orders[i % n]
        size += len(fmt.render(order)) + len(fmt.file_name(order))
    return time.perf_counter() - started, size


def main() -> None:
    orders = setup()
    builtin = FORMATS["csv"]
    custom = format_for(FileFormat.objects.latest("id").name)
    rounds = 5
    per_round = max(1, FILES // rounds)
    took = {"built-in csv": 0.0, "custom": 0.0}
    sizes = {"built-in csv": 0, "custom": 0}
    run(builtin, orders, 200)  # warm both
    run(custom, orders, 200)
    for _ in range(rounds):
        for label, fmt in (("built-in csv", builtin), ("custom", custom)):
            seconds, size = run(fmt, orders, per_round)
            took[label] += seconds
            sizes[label] += size
    total = per_round * rounds
    peaks = {}
    for label, fmt in (("built-in csv", builtin), ("custom", custom)):
        tracemalloc.start()
        run(fmt, orders, min(total, 2000))
        peaks[label] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    rates = {label: total / seconds for label, seconds in took.items()}
    print(f"{total} files each, {len(orders)} orders of 2 lines, {rounds} alternating rounds")
    for label in took:
        print(
            f"  {label:13s} {took[label]:6.2f}s  {rates[label]:8.0f} files/s  "
            f"{sizes[label] / total:6.0f} bytes/file  peak {peaks[label] / 1024:7.1f} KiB"
        )
    ratio = rates["custom"] / rates["built-in csv"]
    print(f"custom / built-in: {ratio:.2f} (goal >= 0.8): {'met' if ratio >= 0.8 else 'NOT met'}")


if __name__ == "__main__":
    main()
