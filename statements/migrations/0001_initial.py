"""MonthlySummary moves here from delivery with its table and rows (issue 20).

State only for the model: the table `delivery_monthlysummary` exists (delivery 0001) and
keeps its rows; 0002 renames it. The model's content type moves to this app too, so the
permissions given on it (view, change = resend) stay with the users who have them.
"""

import django.db.models.deletion
from django.db import migrations, models


def content_type_to_statements(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="statements", model="monthlysummary").exists():
        ContentType.objects.filter(app_label="delivery", model="monthlysummary").update(
            app_label="statements"
        )


def content_type_to_delivery(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="delivery", model="monthlysummary").exists():
        ContentType.objects.filter(app_label="statements", model="monthlysummary").update(
            app_label="delivery"
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("delivery", "0006_monthlysummary_to_statements"),
        ("orders", "0004_order_document"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MonthlySummary",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "month",
                            models.DateField(help_text="The first day of the month summarised."),
                        ),
                        ("figures", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "retailer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="summaries",
                                to="orders.retailer",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-month", "retailer_id"],
                        "verbose_name_plural": "monthly summaries",
                        "db_table": "delivery_monthlysummary",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("retailer", "month"), name="summary_one_per_month"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_statements, content_type_to_delivery),
    ]
