"""Step 3 of 3 (see 0004): MonthlySummary leaves delivery's state; statements' 0001 takes it
over with its table and rows (nothing happens in the database here)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0005_delivery_remove_summary"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="MonthlySummary")],
            database_operations=[],
        ),
    ]
