"""Review B of the retailer side: `import_orders` CSV files read as the retailer wrote them."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.intake.csv import CSV_COLUMNS
from orders.models import Order, OrderIntake


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in CSV_COLUMNS])
    return buffer.getvalue()


# --- import_orders: a blank cell of an order column means "as on the reference's other rows"


def test_import_orders_takes_the_order_columns_from_any_row_of_the_reference(
    acme, retailer, tmp_path
):
    """The README says a blank cell means "as above"; the document was built from the first
    row alone, so the email, phone and postcode given on the second row were dropped without
    a word (the supplier could not reach the customer) and a name given there only was
    refused as missing."""
    first = {
        "reference": "C-1",
        "ship_name": "Ann Lee",
        "ship_line1": "1 High St",
        "ship_city": "Leeds",
        "ship_country": "GB",
        "sku": "ACME-001",
        "quantity": "1",
    }
    second = {
        "reference": "C-1",
        "placed_at": "2026-11-27T10:00:00Z",
        "customer_name": "Ann Lee",
        "customer_email": "ann@example.com",
        "customer_phone": "+44 20 7946 0000",
        "ship_postcode": "LS1 1AA",
        "sku": "ACME-002",
        "quantity": "2",
    }
    path = tmp_path / "orders.csv"
    path.write_text(_csv([first, second]), encoding="utf-8")
    call_command("import_orders", "shopco", str(path))
    order = Order.objects.get(retailer_reference="C-1")
    assert (order.customer_name, order.customer_email, order.customer_phone) == (
        "Ann Lee",
        "ann@example.com",
        "+44 20 7946 0000",
    )
    assert (order.ship_name, order.ship_city, order.ship_postcode) == (
        "Ann Lee",
        "Leeds",
        "LS1 1AA",
    )
    assert order.placed_at.isoformat() == "2026-11-27T10:00:00+00:00"
    assert [(line.sku, line.quantity) for line in order.lines.order_by("line_no")] == [
        ("ACME-001", 1),
        ("ACME-002", 2),
    ]


def test_import_orders_names_the_csv_line_and_column_of_what_intake_refuses(
    acme, retailer, tmp_path
):
    """An unknown SKU on the file's fourth line was "order 2: lines.1.sku: Unknown SKU", and a
    bad email "customer.email": the document's paths, which a CSV has none of; ops had to
    count references and their rows to find the cell."""
    order = {
        "customer_name": "Ann Lee",
        "ship_name": "Ann Lee",
        "ship_line1": "1 High St",
        "ship_city": "Leeds",
        "ship_country": "GB",
    }
    rows = [
        {**order, "reference": "C-1", "sku": "ACME-001", "quantity": "1"},
        {**order, "reference": "C-2", "sku": "ACME-001", "quantity": "1"},
        {**order, "reference": "C-2", "sku": "NOPE-9", "quantity": "1"},
    ]
    path = tmp_path / "orders.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_orders", "shopco", str(path))
    assert str(caught.value) == "order 2: line 4: sku: Unknown SKU 'NOPE-9'."
    assert not Order.objects.exists() and not OrderIntake.objects.exists()

    # An order column is named by the line its value came from.
    rows[2] = {"reference": "C-2", "customer_email": "not-an-email", "sku": "ACME-002"}
    rows[2]["quantity"] = "1"
    path.write_text(_csv(rows), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_orders", "shopco", str(path))
    assert str(caught.value).startswith("order 2: line 4: customer_email: "), caught.value
    assert not Order.objects.exists() and not OrderIntake.objects.exists()
