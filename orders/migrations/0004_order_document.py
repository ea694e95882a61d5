"""Each order's stored document text (Order.document_tail), backfilled for existing orders.

Not atomic: the backfill commits batch by batch, so it never holds row locks on the whole
table while status changes go on. Until a row is filled (document_version still 0) the
supplier API builds its document afresh, so serving is right throughout. A row changed
while its batch was being built keeps the newer text (the UPDATE matches on `version`).
"""

from django.db import migrations, models


def backfill(apps, schema_editor):
    """Filled by 0007 since issue 12.

    The texts have the line-level shape, which needs the columns of 0005, so a database
    migrating from before this migration builds every text once, in 0007; until then the
    supplier API builds each document afresh (document_version is still 0).
    """


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
