"""Each cancellation names its order's retailer (copied from the order, which keeps it), so
a monthly summary reads its batch's cancellations of the month by (retailer, created_at).

Added empty and filled from the orders here; 0018 makes it required and indexes it (its own
transaction: PostgreSQL will not alter a table with the fill's foreign-key checks pending)."""

import django.db.models.deletion
from django.db import migrations, models

FILL = (
    "UPDATE orders_cancellation SET retailer_id = (SELECT o.retailer_id FROM orders_order o "
    "WHERE o.id = orders_cancellation.order_id)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0016_idempotency_forget_refusals"),
    ]

    operations = [
        migrations.AddField(
            model_name="cancellation",
            name="retailer",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orders.retailer",
            ),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop, elidable=False),
    ]
