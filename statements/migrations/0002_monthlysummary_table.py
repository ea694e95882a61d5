"""The summaries' table takes this app's name: delivery_monthlysummary ->
statements_monthlysummary (a rename; rows, indexes and constraints stay)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="monthlysummary", table=None),
    ]
