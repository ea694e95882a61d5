"""Migration 0017: each cancellation names its order's retailer, as order_lines_cancel now
writes it, so a monthly summary finds a batch's cancellations by (retailer, month)."""

import importlib

from django.db import connection

from orders.models import Cancellation, Order
from orders.services import LineQuantity, order_lines_cancel
from testsupport.factories import make_retailer, place_order

FILL = importlib.import_module("orders.migrations.0017_cancellation_retailer").FILL


def _cancel_one(order: Order) -> None:
    order_lines_cancel(
        order=order,
        actor="ops",
        reason="out_of_stock",
        note="One short",
        lines=[LineQuantity(line=1, quantity=1)],
    )


def test_each_cancellation_names_its_orders_retailer_written_or_filled(acme, retailer):
    other, _ = make_retailer(slug="othershop", rate="0.12", email="buyers@other.example")
    orders = [
        place_order(retailer=shop, lines=[{"sku": "ACME-001", "quantity": 2}])[0]
        for shop in (retailer, other, retailer)
    ]
    for order in orders:
        _cancel_one(order)
    written = dict(Cancellation.objects.values_list("order_id", "retailer_id"))
    assert written == {order.pk: order.retailer_id for order in orders}

    Cancellation.objects.update(retailer=other)  # as if never written: the fill decides
    with connection.cursor() as cursor:
        cursor.execute(FILL)

    filled = dict(Cancellation.objects.values_list("order_id", "retailer_id"))
    assert filled == written
