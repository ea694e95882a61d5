"""Step 2 of 3 (see 0004): one delivery per (source_key, target_key) instead of per
(summary, target_key); the foreign key into summaries goes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0004_delivery_source_key"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source_key", ""), _negated=True),
                fields=("source_key", "target_key"),
                name="delivery_once_per_source_target",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="delivery",
            name="delivery_once_per_summary_target",
        ),
        migrations.RemoveField(
            model_name="delivery",
            name="summary",
        ),
    ]
