"""Whole-order cancellations and shipments of before issue 12, as line-level records.

An order cancelled before gets one Cancellation of every unit (its reason, note, time and the
actor of its order.cancelled event), a shipped order one Shipment of every unit; the lines'
quantities follow, a processing or shipped order keeps the supplier's word
(`processing_set`), and a cancelled order's commission becomes what it earns: nothing. So
old orders read the same through the new model. Set-based SQL, fine on a million orders.
"""

from django.db import migrations

_LATEST_EVENT = (
    "(SELECT e.{column} FROM orders_orderevent e WHERE e.order_id = o.id AND e.type = '{type}' "
    "ORDER BY e.created_at DESC, e.id DESC LIMIT 1)"
)


def _has_cancellation_retailer(connection) -> bool:
    """Run as the migration, the table has no retailer column yet (0017 adds and fills it);
    run on today's schema (tests and benchmarks reuse `forward`), it must be written."""
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "orders_cancellation")
    return any(column.name == "retailer_id" for column in columns)


def forward(apps, schema_editor):
    retailer = _has_cancellation_retailer(schema_editor.connection)
    statements = [
        ("UPDATE orders_order SET processing_set = %s WHERE status IN ('processing', 'shipped')",
         [True]),
        (
            "INSERT INTO orders_cancellation (order_id, reason, note, actor, actor_user_id, "
            f"created_at{', retailer_id' if retailer else ''}) SELECT o.id, o.cancellation_reason, "
            "CASE WHEN o.cancellation_note = '' THEN '(no note)' ELSE o.cancellation_note END, "
            f"COALESCE({_LATEST_EVENT.format(column='actor', type='order.cancelled')}, 'system'), "
            f"{_LATEST_EVENT.format(column='actor_user_id', type='order.cancelled')}, "
            f"COALESCE(o.cancelled_at, o.updated_at){', o.retailer_id' if retailer else ''} "
            "FROM orders_order o WHERE o.status = 'cancelled'",
            [],
        ),
        (
            "INSERT INTO orders_cancellationline (cancellation_id, line_id, quantity) "
            "SELECT c.id, l.id, l.quantity FROM orders_cancellation c "
            "JOIN orders_orderline l ON l.order_id = c.order_id",
            [],
        ),
        (
            "UPDATE orders_orderline SET quantity_cancelled = quantity WHERE order_id IN "
            "(SELECT id FROM orders_order WHERE status = 'cancelled')",
            [],
        ),
        ("UPDATE orders_order SET commission_amount = 0 WHERE status = 'cancelled'", []),
        (
            "INSERT INTO orders_shipment (order_id, carrier, tracking_number, shipped_at, actor, "
            "actor_user_id, created_at) SELECT o.id, o.shipment_carrier, "
            "o.shipment_tracking_number, COALESCE(o.shipped_at, o.updated_at), "
            f"COALESCE({_LATEST_EVENT.format(column='actor', type='order.updated')}, 'system'), "
            f"{_LATEST_EVENT.format(column='actor_user_id', type='order.updated')}, "
            "COALESCE(o.shipped_at, o.updated_at) "
            "FROM orders_order o WHERE o.status = 'shipped'",
            [],
        ),
        (
            "INSERT INTO orders_shipmentline (shipment_id, line_id, quantity) "
            "SELECT s.id, l.id, l.quantity FROM orders_shipment s "
            "JOIN orders_orderline l ON l.order_id = s.order_id",
            [],
        ),
        (
            "UPDATE orders_orderline SET quantity_shipped = quantity WHERE order_id IN "
            "(SELECT id FROM orders_order WHERE status = 'shipped')",
            [],
        ),
        (
            "UPDATE orders_order SET shipped_at = updated_at "
            "WHERE status = 'shipped' AND shipped_at IS NULL",
            [],
        ),
    ]
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The app's connections cap statements (settings.py); a million rows take longer.
            cursor.execute("SET LOCAL statement_timeout = 0")
        for sql, params in statements:
            cursor.execute(sql, params)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_line_level"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop, elidable=True),
    ]
