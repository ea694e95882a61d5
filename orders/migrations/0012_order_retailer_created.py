"""Monthly summaries bill a retailer's orders by the month they reached us (created_at), not by
the retailer's placed_at (statements/selectors.py): index (retailer, created_at) instead of
(retailer, placed_at), which nothing else read."""

from django.db import migrations, models


def no_statement_timeout(apps, schema_editor):
    # Building the index on a large table outlasts the web's statement timeout; this
    # migration runs in one transaction, so the setting ends with it (as 0002 does).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0011_update_file_rows"),
    ]

    operations = [
        migrations.RunPython(no_statement_timeout, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["retailer", "created_at"], name="order_retailer_created"),
        ),
        migrations.RemoveIndex(
            model_name="order",
            name="order_retailer_placed",
        ),
        # Backwards the operations run last to first: this one first, before the old index
        # is built again.
        migrations.RunPython(migrations.RunPython.noop, no_statement_timeout, elidable=True),
    ]
