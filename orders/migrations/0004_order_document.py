"""Each order's stored document text (Order.document_tail), backfilled for existing orders.

Not atomic: the backfill commits batch by batch, so it never holds row locks on the whole
table while status changes go on. Until a row is filled (document_version still 0) the
supplier API builds its document afresh, so serving is right throughout. A row changed
while its batch was being built keeps the newer text (the UPDATE matches on `version`).
"""

from django.db import migrations, models, transaction

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


def backfill(apps, schema_editor):
    from orders.documents import order_document_tail_text

    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    connection = schema_editor.connection
    table = connection.ops.quote_name(Order._meta.db_table)
    sql = (
        f"UPDATE {table} SET document_tail = %s, document_version = %s "
        "WHERE id = %s AND version = %s"
    )
    last_id = 0
    while True:
        orders = list(
            Order.objects.using(connection.alias)
            .filter(id__gt=last_id, document_version=0)
            .order_by("id")
            .only(*_ORDER_FIELDS)[:BATCH]
        )
        if not orders:
            return
        last_id = orders[-1].id
        lines: dict[int, list] = {order.id: [] for order in orders}
        for line in (
            OrderLine.objects.using(connection.alias)
            .filter(order_id__gte=orders[0].id, order_id__lte=last_id)
            .order_by("order_id", "line_no")
            .only("order_id", "line_no", "sku", "name", "quantity", "unit_price", "line_total")
        ):
            if line.order_id in lines:
                lines[line.order_id].append(line)
        rows = [
            (
                order_document_tail_text(order, lines=lines[order.id]),
                order.version,
                order.id,
                order.version,
            )
            for order in orders
        ]
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.executemany(sql, rows)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0003_drop_redundant_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="document_tail",
            field=models.TextField(blank=True, default="", db_default="", editable=False),
        ),
        migrations.AddField(
            model_name="order",
            name="document_version",
            field=models.PositiveIntegerField(default=0, db_default=0, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
