"""Rebuild every order's stored document text in the line-level shape (issue 12).

Like 0004: not atomic, batch by batch, so it never locks the whole table while orders
change; a row changed while its batch was being built keeps the newer text (the UPDATE
matches on `version`). Until its batch is done a row serves its previous text.
"""

from django.db import migrations, transaction

BATCH = 2000

_ORDER_FIELDS = (
    "id",
    "version",
    "status",
    "placed_at",
    "created_at",
    "updated_at",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
    "currency",
    "total",
    "cancellation_reason",
    "cancellation_note",
    "cancelled_at",
    "shipment_carrier",
    "shipment_tracking_number",
    "shipped_at",
)
_LINE_FIELDS = (
    "id",
    "order_id",
    "line_no",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "line_total",
    "quantity_cancelled",
    "quantity_shipped",
)


def _records(model, alias, first, last) -> dict[int, list]:
    by_order: dict[int, list] = {}
    records = (
        model.objects.using(alias)
        .filter(order_id__gte=first, order_id__lte=last)
        .order_by("created_at", "id")
        .prefetch_related("lines")
    )
    for record in records:
        by_order.setdefault(record.order_id, []).append(record)
    return by_order


def backfill(apps, schema_editor):
    from orders.documents import order_document_tail_text

    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    Cancellation = apps.get_model("orders", "Cancellation")
    Shipment = apps.get_model("orders", "Shipment")
    connection = schema_editor.connection
    alias = connection.alias
    table = connection.ops.quote_name(Order._meta.db_table)
    sql = (
        f"UPDATE {table} SET document_tail = %s, document_version = %s "
        "WHERE id = %s AND version = %s"
    )
    last_id = 0
    while True:
        orders = list(
            Order.objects.using(alias)
            .filter(id__gt=last_id)
            .order_by("id")
            .only(*_ORDER_FIELDS)[:BATCH]
        )
        if not orders:
            return
        first, last_id = orders[0].id, orders[-1].id
        lines: dict[int, list] = {order.id: [] for order in orders}
        for line in (
            OrderLine.objects.using(alias)
            .filter(order_id__gte=first, order_id__lte=last_id)
            .order_by("order_id", "line_no")
            .only(*_LINE_FIELDS)
        ):
            if line.order_id in lines:
                lines[line.order_id].append(line)
        cancellations = _records(Cancellation, alias, first, last_id)
        shipments = _records(Shipment, alias, first, last_id)
        rows = [
            (
                order_document_tail_text(
                    order,
                    lines=lines[order.id],
                    cancellations=cancellations.get(order.id, ()),
                    shipments=shipments.get(order.id, ()),
                ),
                order.version,
                order.id,
                order.version,
            )
            for order in orders
        ]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.executemany(sql, rows)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0006_line_level_records"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
