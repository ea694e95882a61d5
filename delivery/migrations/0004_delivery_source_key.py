"""Deliveries name their source by a key ("summary:<id>") instead of a foreign key into
summaries, so that the statements app can own the summaries (issue 20). Step 1 of 3: the
column, filled from each summary delivery's `summary_id`.

Separate from step 2 (0005: the constraint swap and dropping `summary`): on PostgreSQL a data
change and a later ALTER TABLE of the same table in one transaction can meet pending
foreign-key trigger events.
"""

from django.db import migrations, models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat


def source_keys_from_summaries(apps, schema_editor):
    Delivery = apps.get_model("delivery", "Delivery")
    Delivery.objects.filter(summary__isnull=False).update(
        source_key=Concat(Value("summary:"), Cast("summary_id", output_field=CharField()))
    )


def summaries_from_source_keys(apps, schema_editor):
    Delivery = apps.get_model("delivery", "Delivery")
    rows = Delivery.objects.filter(source_key__startswith="summary:")
    for pk, key in rows.values_list("pk", "source_key").iterator():
        Delivery.objects.filter(pk=pk).update(summary_id=int(key.removeprefix("summary:")))
    if schema_editor.connection.vendor == "postgresql":
        # Check the foreign keys now, so that dropping source_key next is allowed.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0003_delivery_redelivered_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="source_key",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(source_keys_from_summaries, summaries_from_source_keys),
    ]
