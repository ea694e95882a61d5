"""Bench data for bench/api.py: N orders (about 2 lines each) over S suppliers, loaded with COPY.

Suppliers, products and the retailer are made through the services; intakes, orders and
lines go straight in with COPY (a million rows through the intake service would take an
hour). A marker table remembers what was loaded so a second run skips the load.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings

LAYOUT = "v1"  # orders' stored document text: filled here, or by migration 0003
DAYS = 365
BIG_SLUG = "bench-big"


def _supplier_slug(index: int) -> str:
    return BIG_SLUG if index == 0 else f"bench-{index:03d}"


def loaded_marker(cursor) -> str | None:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_api_meta (key text PRIMARY KEY, value text)")
    cursor.execute("SELECT value FROM bench_api_meta WHERE key = 'layout'")
    row = cursor.fetchone()
    return row[0] if row else None


def marker_for(*, orders: int, suppliers: int, big: int) -> str:
    return f"{LAYOUT}:{orders}:{suppliers}:{big}"


def _ts(value: datetime) -> str:
    return value.isoformat()


def _copy_text(value: str) -> str:
    """A value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def load(*, dsn: str, orders: int, suppliers: int, big: int, now: datetime) -> dict:
    """Replace the bench data; return {"seconds": ..., "end": ...}."""
    import psycopg
    from django.db import connection

    from orders.documents import order_document_tail_text
    from orders.services import retailer_create
    from suppliers.models import Product, Supplier
    from suppliers.services import ProductRow, products_import, supplier_create

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE orders_orderline, orders_orderevent, orders_order, orders_orderintake, "
            "suppliers_apitoken, suppliers_product, suppliers_suppliermembership, "
            "suppliers_supplier, orders_retailer RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM bench_api_meta")
    retailer, _ = retailer_create(slug="bench-shop", name="Bench Shop", email="b@shop.example")
    products: dict[int, list[Product]] = {}
    supplier_ids: list[int] = []
    for index in range(suppliers):
        slug = _supplier_slug(index)
        supplier = supplier_create(slug=slug, name=slug.title(), order_emails=f"o@{slug}.example")
        products_import(
            supplier=supplier,
            rows=[
                ProductRow(
                    sku=f"{slug.upper()}-{k}",
                    name=f"{slug} item {k} with a reasonably long product name",
                    price=Decimal(f"{3 + k * 4}.{25 * k:02d}"),
                    currency="GBP",
                )
                for k in range(3)
            ],
        )
        supplier_ids.append(supplier.pk)
        products[supplier.pk] = list(Supplier.objects.get(pk=supplier.pk).products.order_by("sku"))

    rng = random.Random(20261127)
    end = now - timedelta(days=1)
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    # Creation times sorted so that ids grow with created_at, as they do in production.
    times = sorted(rng.random() * span for _ in range(orders))
    others = supplier_ids[1:]
    # The biggest supplier gets `big` orders spread evenly; the rest share the others.
    big_every = orders / big
    next_big = 0.0
    statuses = ["processing", "shipped", "cancelled"]

    intake_rows, order_rows, line_rows = [], [], []
    line_id = 0
    for i, offset in enumerate(times):
        order_id = i + 1
        if i >= next_big and supplier_ids:
            supplier_id = supplier_ids[0]
            next_big += big_every
        else:
            supplier_id = others[i % len(others)] if others else supplier_ids[0]
        created = start + timedelta(seconds=offset)
        updated = created
        status = "placed"
        cancelled = shipped = r"\N"
        reason = note = carrier = tracking = ""
        if rng.random() < 0.2:
            status = statuses[rng.randrange(3)]
            updated = created + timedelta(seconds=rng.random() * 10 * 86400)
            if status == "cancelled":
                cancelled, reason, note = _ts(updated), "out_of_stock", "Sold out, sorry."
            elif status == "shipped":
                shipped, carrier, tracking = _ts(updated), "Royal Mail", f"RM{order_id:010d}GB"
        n_lines = 2 if rng.random() < 0.8 else rng.choice((1, 3))
        total = Decimal("0")
        count = 0
        lines = []
        for line_no in range(1, n_lines + 1):
            product = products[supplier_id][(line_no - 1) % 3]
            quantity = 1 + (order_id + line_no) % 3
            line_total = product.price * quantity
            total += line_total
            count += quantity
            line_id += 1
            line_rows.append(
                f"{line_id}\t{line_no}\t{product.sku}\t{product.name}\t{quantity}\t"
                f"{product.price}\t{line_total}\t{order_id}\t{product.pk}\n"
            )
            lines.append(
                SimpleNamespace(
                    pk=line_id,
                    line_no=line_no,
                    sku=product.sku,
                    name=product.name,
                    quantity=quantity,
                    unit_price=product.price,
                    line_total=line_total,
                    quantity_cancelled=0,
                    quantity_shipped=0,
                )
            )
        # The stored document text, as the order services write it (orders/documents.py).
        tail = order_document_tail_text(
            SimpleNamespace(
                status=status,
                placed_at=created,
                created_at=created,
                updated_at=updated,
                customer_name="Ann Lee",
                customer_email="ann@example.com",
                customer_phone="+44 20 7946 0000",
                ship_name="Ann Lee",
                ship_line1=f"{order_id % 200 + 1} High Street",
                ship_line2="Flat 2",
                ship_city="Leeds",
                ship_region="West Yorkshire",
                ship_postcode="LS1 1AA",
                ship_country="GB",
                currency="GBP",
                total=total,
                cancellation_reason=reason,
                cancellation_note=note,
                cancelled_at=updated if status == "cancelled" else None,
                shipment_carrier=carrier,
                shipment_tracking_number=tracking,
                shipped_at=updated if status == "shipped" else None,
            ),
            lines=lines,
        )
        created_s = _ts(created)
        intake_rows.append(f"{order_id}\t{retailer.pk}\tB-{order_id}\t{created_s}\n")
        commission = (total * Decimal("0.1")).quantize(Decimal("0.01"))
        order_rows.append(
            "\t".join(
                [
                    str(order_id),
                    f"PO-{10000 + order_id}",
                    f"B-{order_id}",
                    status,
                    "Ann Lee",
                    "ann@example.com",
                    "+44 20 7946 0000",
                    "Ann Lee",
                    f"{order_id % 200 + 1} High Street",
                    "Flat 2",
                    "Leeds",
                    "West Yorkshire",
                    "LS1 1AA",
                    "GB",
                    "GBP",
                    str(total),
                    str(count),
                    "0.1000",
                    str(commission),
                    created_s,
                    created_s,
                    _ts(updated),
                    "1",
                    reason,
                    note,
                    cancelled,
                    carrier,
                    tracking,
                    shipped,
                    str(supplier_id),
                    str(order_id),
                    str(retailer.pk),
                    _copy_text(tail),
                    "1",
                    "",
                    _ts(created + timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS)),
                ]
            )
            + "\n"
        )

    order_columns = (
        "id, number, retailer_reference, status, customer_name, customer_email, customer_phone, "
        "ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postcode, ship_country, "
        "currency, total, item_count, commission_rate, commission_amount, placed_at, created_at, "
        "updated_at, version, cancellation_reason, cancellation_note, cancelled_at, "
        "shipment_carrier, shipment_tracking_number, shipped_at, supplier_id, intake_id, "
        "retailer_id, document_tail, document_version, acknowledged_via, acknowledge_by"
    )
    line_columns = "id, line_no, sku, name, quantity, unit_price, line_total, order_id, product_id"

    def copy(cur, table: str, columns: str, rows: list[str]) -> None:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
            for chunk in range(0, len(rows), 20000):
                cp.write("".join(rows[chunk : chunk + 20000]))

    with psycopg.connect(dsn, autocommit=False) as conn, conn.cursor() as cur:
        copy(cur, "orders_orderintake", "id, retailer_id, reference, created_at", intake_rows)
        copy(cur, "orders_order", order_columns, order_rows)
        copy(cur, "orders_orderline", line_columns, line_rows)
        for table in ("orders_orderintake", "orders_order", "orders_orderline"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        cur.execute("SELECT setval('orders_order_number_seq', %s)", [10000 + orders + 1])
        cur.execute(
            "INSERT INTO bench_api_meta VALUES ('layout', %s), ('end', %s)",
            [marker_for(orders=orders, suppliers=suppliers, big=big), end.isoformat()],
        )
        conn.commit()
    _line_level(connection)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE orders_order")
        conn.execute("VACUUM ANALYZE orders_orderline")
    return {"seconds": time.perf_counter() - started, "end": end}


def _line_level(connection) -> None:
    """The cancelled and shipped orders COPY wrote the seed's way, as line-level records and
    stored texts: the same steps as migrations 0006 and 0007 (issue 12). TRUNCATE ... CASCADE
    above empties the record tables."""
    from importlib import import_module

    from django.apps import apps
    from django.db import transaction

    editor = SimpleNamespace(connection=connection)
    with transaction.atomic():
        import_module("orders.migrations.0006_line_level_records").forward(apps, editor)
    import_module("orders.migrations.0007_order_document_line_level").backfill(apps, editor)


def loaded_end(cursor) -> datetime:
    cursor.execute("SELECT value FROM bench_api_meta WHERE key = 'end'")
    return datetime.fromisoformat(cursor.fetchone()[0]).astimezone(dt_timezone.utc)
