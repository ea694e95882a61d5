"""Migration 0013: each order gets the stored deadline its readers agree on, the one its
stored document already showed the supplier through the API where it has one."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from orders.documents import iso
from orders.models import Order
from testsupport.factories import place_order

backfill = importlib.import_module("orders.migrations.0013_order_acknowledge_by").deadlines_backfill


def test_the_backfill_keeps_the_deadline_the_api_showed_else_placed_at_plus_the_setting(
    settings, acme, retailer
):
    shown, bare = (
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
        for _ in range(2)
    )
    # `shown`'s stored text was built while the setting was 24 h; it is 6 h now.
    told = shown.placed_at + timedelta(hours=24)
    assert f'"acknowledge_by":"{iso(told)}"' in shown.document_tail
    settings.ORDER_ACKNOWLEDGE_HOURS = 6
    Order.objects.filter(pk=bare.pk).update(document_tail="")
    Order.objects.update(acknowledge_by=shown.placed_at - timedelta(days=365))

    backfill(apps, SimpleNamespace(connection=connection))

    shown.refresh_from_db()
    bare.refresh_from_db()
    assert bare.acknowledge_by == bare.placed_at + timedelta(hours=6)
    if connection.vendor == "postgresql":
        assert shown.acknowledge_by == told
    else:  # SQLite (embedded, development): placed_at plus the setting, for every order
        assert shown.acknowledge_by == shown.placed_at + timedelta(hours=6)
