"""Cancellations by (retailer, created_at), for the monthly summaries, in place of
cancellation_time (created_at alone), which only they used: with it, a batch of retailers
read every cancellation of the month, or every earlier order of its retailers."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0017_cancellation_retailer"),
    ]

    operations = [
        migrations.AlterField(
            model_name="cancellation",
            name="retailer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orders.retailer",
            ),
        ),
        migrations.RemoveIndex(model_name="cancellation", name="cancellation_time"),
        migrations.AddIndex(
            model_name="cancellation",
            index=models.Index(fields=["retailer", "created_at"], name="cancellation_retailer_time"),
        ),
    ]
