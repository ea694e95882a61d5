"""Line-level state for the bench data (issue 12): some orders partly cancelled, some part
shipped, applied once on top of a loaded database (a marker row remembers it).

bench/api.py applies it to its data after loading: 1 order in 20 of those still open with two
lines or more has one unit of line 1 cancelled, 1 in 10 has line 1 shipped (status
processing). Their version is bumped, their commission follows the rule, and their stored
document texts are rebuilt with the same function the order services use.
"""

from __future__ import annotations

import time

MARK = "line-mix-v1"

# (statement, description); run in one transaction on PostgreSQL.
_SQL = [
    "CREATE TEMP TABLE mix_cancel ON COMMIT DROP AS SELECT o.id FROM orders_order o "
    "WHERE o.status IN ('placed', 'processing') AND o.id % 20 = 7 AND EXISTS "
    "(SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id AND l.line_no = 2)",
    "CREATE TEMP TABLE mix_ship ON COMMIT DROP AS SELECT o.id FROM orders_order o "
    "WHERE o.status IN ('placed', 'processing') AND o.id % 10 = 3 AND EXISTS "
    "(SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id AND l.line_no = 2)",
    "INSERT INTO orders_cancellation (order_id, retailer_id, reason, note, actor, created_at) "
    "SELECT o.id, o.retailer_id, 'out_of_stock', 'bench: one unit short', 'bench', o.updated_at "
    "FROM orders_order o JOIN mix_cancel m ON m.id = o.id",
    "INSERT INTO orders_cancellationline (cancellation_id, line_id, quantity) "
    "SELECT c.id, l.id, 1 FROM orders_cancellation c JOIN mix_cancel m ON m.id = c.order_id "
    "JOIN orders_orderline l ON l.order_id = c.order_id AND l.line_no = 1",
    "UPDATE orders_orderline l SET quantity_cancelled = 1 FROM mix_cancel m "
    "WHERE l.order_id = m.id AND l.line_no = 1",
    "UPDATE orders_order o SET version = o.version + 1, commission_amount = "
    "ROUND((o.total - l.unit_price) * o.commission_rate, 2) "
    "FROM mix_cancel m, orders_orderline l "
    "WHERE o.id = m.id AND l.order_id = o.id AND l.line_no = 1",
    "INSERT INTO orders_shipment (order_id, carrier, tracking_number, shipped_at, actor, "
    "created_at) SELECT o.id, 'DPD', 'BENCH' || o.id, o.updated_at, 'bench', o.updated_at "
    "FROM orders_order o JOIN mix_ship m ON m.id = o.id",
    "INSERT INTO orders_shipmentline (shipment_id, line_id, quantity) "
    "SELECT s.id, l.id, l.quantity FROM orders_shipment s JOIN mix_ship m ON m.id = s.order_id "
    "JOIN orders_orderline l ON l.order_id = s.order_id AND l.line_no = 1",
    "UPDATE orders_orderline l SET quantity_shipped = l.quantity FROM mix_ship m "
    "WHERE l.order_id = m.id AND l.line_no = 1",
    "UPDATE orders_order o SET version = o.version + 1, status = 'processing', "
    "shipment_carrier = 'DPD', shipment_tracking_number = 'BENCH' || o.id, "
    "shipped_at = o.updated_at FROM mix_ship m WHERE o.id = m.id",
]


def line_mix_apply(*, dsn: str, batch: int = 2000) -> dict | None:
    """Apply the mix once; return {"cancelled": n, "shipped": n, "seconds": s}, or None when
    the database has it already."""
    import psycopg
    from django.db import connection

    from orders.documents import order_document_tail_text
    from orders.models import Order

    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_api_meta (key text PRIMARY KEY, value text)")
        cur.execute("SELECT value FROM bench_api_meta WHERE key = 'line_mix'")
        if cur.fetchone():
            conn.rollback()
            return None
        cur.execute("SET LOCAL statement_timeout = 0")
        for sql in _SQL:
            cur.execute(sql)
        cur.execute("SELECT id FROM mix_cancel UNION SELECT id FROM mix_ship ORDER BY 1")
        ids = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT count(*) FROM mix_cancel")
        cancelled = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM mix_ship")
        shipped = cur.fetchone()[0]
        cur.execute("INSERT INTO bench_api_meta VALUES ('line_mix', %s)", [MARK])
        conn.commit()
    # The stored texts of the changed orders, as the services write them.
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        orders = Order.objects.filter(id__in=chunk).prefetch_related(
            "lines", "cancellations__lines", "shipments__lines"
        )
        rows = [
            (
                order_document_tail_text(
                    order,
                    lines=order.lines.all(),
                    cancellations=order.cancellations.all(),
                    shipments=order.shipments.all(),
                ),
                order.version,
                order.id,
            )
            for order in orders
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE orders_order SET document_tail = %s, document_version = %s WHERE id = %s",
                rows,
            )
    return {"cancelled": cancelled, "shipped": shipped, "seconds": time.perf_counter() - started}
