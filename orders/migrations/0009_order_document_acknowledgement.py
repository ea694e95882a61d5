"""Rebuild every order's stored document text with `acknowledged_at` and `acknowledge_by`
(issue 13), batch by batch as 0007 does (its backfill, with the new field loaded)."""

import importlib

from django.db import migrations

_line_level = importlib.import_module("orders.migrations.0007_order_document_line_level")


def backfill(apps, schema_editor):
    fields = _line_level._ORDER_FIELDS
    _line_level._ORDER_FIELDS = (*fields, "acknowledged_at")
    try:
        _line_level.backfill(apps, schema_editor)
    finally:
        _line_level._ORDER_FIELDS = fields


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("orders", "0008_acknowledgement_idempotency")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
