"""The retailer read API pages a retailer's orders by `updated_at` (orders/selectors/
retailer_api.py): without an index on (retailer, updated_at) each page read every order the
retailer ever sent through (retailer, created_at) and filtered them (found in review)."""

from django.db import migrations, models


def no_statement_timeout(apps, schema_editor):
    # Building the index on a large table outlasts the web's statement timeout; this
    # migration runs in one transaction, so the setting ends with it (as 0012 does).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_order_acknowledge_by"),
    ]

    operations = [
        migrations.RunPython(no_statement_timeout, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["retailer", "updated_at"], name="order_retailer_updated"),
        ),
        migrations.RunPython(migrations.RunPython.noop, no_statement_timeout, elidable=True),
    ]
