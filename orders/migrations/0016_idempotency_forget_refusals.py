"""Forget the Idempotency-Keys stored with a refusal (a 400 the service gave, a 404).

A key now keeps an answer only once the change was tried on the order: a success, or a 409
the order's state gave (orders/api/idempotency.py). Keys stored before with a 400 or 404
would replay that refusal for up to SUPPLIER_API_IDEMPOTENCY_HOURS after this deploy, so a
client that fixed its request and sent it with the same key still got the old error.
"""

from django.db import migrations


def forget_refusals(apps, schema_editor):
    IdempotencyKey = apps.get_model("orders", "IdempotencyKey")
    IdempotencyKey.objects.filter(status_code__gte=400).exclude(status_code=409).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0015_names_one_line")]

    operations = [migrations.RunPython(forget_refusals, migrations.RunPython.noop)]
