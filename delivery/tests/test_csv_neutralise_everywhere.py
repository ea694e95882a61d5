"""Both CSV files we produce, the SFTP order file and the portal's ORDER HISTORY export, make
the same cells inert: one neutraliser (common/csv.py), checked on the files themselves."""

import csv
import io

import pytest

from common.tests.test_csv import CASES
from delivery.formats import FORMATS
from orders.documents import orders_with_document_relations
from orders.models import Order
from testsupport.factories import make_supplier_user, place_order

pytestmark = pytest.mark.django_db


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_sftp_file_and_portal_export_neutralise_every_cell_alike(client, acme, retailer):
    orders = {}
    for index, (value, _) in enumerate(CASES):
        (order,) = place_order(
            retailer=retailer, reference=f"R-{index}", lines=[{"sku": "ACME-001", "quantity": 1}]
        )
        # Intake trims leading tabs and CRs, so a row holding one can only come from elsewhere
        # (admin, an older release): written here straight to the row, as such a row would be.
        Order.objects.filter(pk=order.pk).update(customer_name=value, ship_city=value)
        orders[order.number] = value
    expected = dict(CASES)

    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    response = client.get("/orders/export.csv")
    export = {
        row["order_number"]: row for row in _rows(b"".join(response.streaming_content).decode())
    }
    sftp = {}
    for order in orders_with_document_relations(Order.objects.filter(number__in=orders)):
        (row,) = _rows(FORMATS["csv"].render(order).decode("utf-8"))
        sftp[row["order_number"]] = row

    for number, value in orders.items():
        for column in ("customer_name", "ship_city"):
            assert export[number][column] == expected[value], (column, value)
            assert sftp[number][column] == expected[value], (column, value)
