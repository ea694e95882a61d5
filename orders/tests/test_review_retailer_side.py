"""Review of the retailer side after intake (review 7): `import_orders` CSV cells that are
not what the retailer wrote, and the retailer's shipment email after a later cancellation."""

import csv
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from delivery.services.sending import delivery_send
from orders.intake.csv import CSV_COLUMNS
from orders.models import Order, OrderIntake
from orders.services import order_lines_cancel, order_shipment_create
from orders.services.changes import LineQuantity
from testsupport.factories import place_order
from testsupport.waiting import wait_until

RETAILER_EMAIL = "buyers@shopco.example"


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()
    yield
    cache.clear()


def _row(reference: str, sku: str, quantity: str) -> dict:
    return {
        "reference": reference,
        "customer_name": "Ann Lee",
        "customer_email": "ann@example.com",
        "ship_name": "Ann Lee",
        "ship_line1": "1 High St",
        "ship_city": "Leeds",
        "ship_postcode": "LS1 1AA",
        "ship_country": "GB",
        "sku": sku,
        "quantity": quantity,
    }


def _csv(rows: list[dict], *, columns=CSV_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue()


def _refused(tmp_path, text: str) -> str:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_orders", "shopco", str(path))
    return str(caught.value)


# --- import_orders: a CSV cell is taken as written, or the file is refused --------------------


@pytest.mark.parametrize("quantity", ["1_0", "\uff11\uff10", "\u0661\u0660"])
def test_import_orders_refuses_a_quantity_python_reads_but_no_person_wrote(
    acme, retailer, tmp_path, quantity
):
    """`int()` reads "1_0" (and full-width or Arabic-Indic digits) as 10: the file placed an
    order for ten units where the API refuses anything but a JSON whole number."""
    message = _refused(tmp_path, _csv([_row("C-1", "ACME-001", quantity)]))
    assert "line 2" in message and "quantity" in message
    assert not Order.objects.exists() and not OrderIntake.objects.exists()


def test_import_orders_refuses_a_header_naming_a_column_twice(acme, retailer, tmp_path):
    """Two `reference` columns: the reader kept the last, so the order went in under the
    second column's value (R-2), the retailer's own reference (C-1) nowhere."""
    columns = ["reference", *CSV_COLUMNS]
    row = _row("C-1", "ACME-001", "1")
    text = _csv([{**row}], columns=columns).replace("C-1,C-1", "C-1,R-2")
    message = _refused(tmp_path, text)
    assert "reference" in message and "twice" in message
    assert not Order.objects.exists() and not OrderIntake.objects.exists()


def test_import_orders_names_the_line_of_the_file_after_a_blank_line_or_a_two_line_address(
    acme, retailer, tmp_path
):
    """The csv module skips a blank line and reads a quoted cell over two lines as one row;
    the message counted rows, not lines, and sent ops to the wrong line (a good one)."""
    lines = _csv([_row("C-1", "ACME-001", "1")]).splitlines()
    good = _csv([{**_row("C-2", "ACME-001", "1"), "ship_line1": "Flat 2\n1 High St"}])
    bad = _csv([_row("C-3", "ACME-001", "two")]).splitlines()[1]
    # 1 header, 2 C-1, 3 blank, 4-5 C-2 (its address on two lines), 6 C-3: the bad one.
    text = "\n".join([*lines, "", *good.splitlines()[1:], bad]) + "\n"
    assert text.splitlines()[5].startswith("C-3,")
    message = _refused(tmp_path, text)
    assert message.startswith("line 6:"), message
    assert not Order.objects.exists() and not OrderIntake.objects.exists()


# --- The retailer's shipment email: what was still to ship when the parcel left -----------


def test_a_shipment_email_sent_after_a_later_cancellation_still_says_what_was_to_come(
    retailer, acme, email_via_smtp, django_capture_on_commit_callbacks
):
    """Line 1 (2 units) ships; the supplier then cancels line 2's 3 units before the
    shipment email goes out (the relay was down; or ops redelivers it later). The email is
    about that parcel: the rest was still to come then. It said "has shipped", the whole
    order, and listed nothing still to ship: the later cancellation was counted into it."""
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(
            retailer=retailer,
            reference="SHOP-77",
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_shipment_create(
            order=order,
            actor="ops",
            carrier="DHL",
            tracking_number="JD77",
            lines=[LineQuantity(line=1, quantity=2)],
        )
    shipment_row = Delivery.objects.get(
        event__order=order, purpose=DeliveryPurpose.RETAILER_SHIPMENT
    )
    assert shipment_row.status == DeliveryStatus.PENDING  # not sent yet
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="None left",
            lines=[LineQuantity(line=2, quantity=3)],
        )

    assert delivery_send(delivery_id=shipment_row.pk) == "delivered"
    wait_until(
        lambda: any("JD77" in m.subject for m in email_via_smtp.to(RETAILER_EMAIL)),
        timeout=10,
        message="the shipment email",
    )
    (mail,) = [m for m in email_via_smtp.to(RETAILER_EMAIL) if "JD77" in m.subject]
    text = mail.body("plain")
    assert "2 items shipped" in mail.subject, mail.subject
    assert "the rest is still to come" in text, text
    assert "Still to ship:" in text and "ACME-002" in text.split("Still to ship:")[1], text
    assert "Still to ship</h2>" in mail.body("html")
