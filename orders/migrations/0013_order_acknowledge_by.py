"""Each order keeps its acknowledgement deadline (`acknowledge_by`), set when it arrives,
instead of every reader working it out from the current ORDER_ACKNOWLEDGE_HOURS: after the
setting changed, the API's stored documents and the webhooks, portal and reminders disagreed.

An existing order gets the deadline its stored document already showed the supplier through
the API (PostgreSQL), so no stored text needs rebuilding; an order without one gets placed_at
plus the setting as it is when this runs, which is what every other reader used.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Q


def no_statement_timeout(apps, schema_editor):
    # The backfill and the index on a large table outlast the web's statement timeout; this
    # migration runs in one transaction, so the setting ends with it (as 0002 does).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


def deadlines_backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    connection = schema_editor.connection
    hours = settings.ORDER_ACKNOWLEDGE_HOURS
    if connection.vendor != "postgresql":
        Order.objects.using(connection.alias).update(
            acknowledge_by=F("placed_at") + timedelta(hours=hours)
        )
        return
    # The stored text is JSON written by orders/documents.py: a quote inside a value is
    # escaped, so the first unescaped `"acknowledge_by":"` is the key's.
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET acknowledge_by = COALESCE("
            "substring(document_tail from '\"acknowledge_by\":\"([^\"]+)\"')::timestamptz, "
            "placed_at + make_interval(secs => %s))",
            [hours * 3600],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_order_retailer_created"),
    ]

    operations = [
        migrations.RunPython(no_statement_timeout, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="order",
            name="acknowledge_by",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(deadlines_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="acknowledge_by",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=Q(acknowledged_at__isnull=True, status__in=["placed", "processing"]),
                fields=["supplier", "acknowledge_by"],
                name="order_unacknowledged_by",
            ),
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="order_unacknowledged",
        ),
        migrations.RunPython(migrations.RunPython.noop, no_statement_timeout, elidable=True),
    ]
