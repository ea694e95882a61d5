"""Names and addresses that are not plain ASCII, or hold line breaks, reach a real SMTP server
as one-line headers: the retailer's cancellation email cannot be given extra recipients."""

import pytest

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from orders.models import Retailer
from orders.services import order_set_status
from orders.services.retailers import retailer_create
from suppliers.models import Supplier
from suppliers.services import supplier_create
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db


def test_a_name_with_line_breaks_and_an_idn_address_make_one_honest_cancellation_email(
    email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    supplier = supplier_create(slug="cole", name="Cöle", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    retailer, _ = retailer_create(slug="buch", name="Bücher", email="buyers@bücher.example")
    # Names are refused with line breaks now (test_names_one_line.py); rows from before that
    # rule, or written by SQL, may still hold them.
    Supplier.objects.filter(pk=supplier.pk).update(name="Cöle\r\nBcc: spy@evil.example\r\n Candles")
    Retailer.objects.filter(pk=retailer.pk).update(name="Bücher\nTo: spy@evil.example")
    retailer.refresh_from_db()
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    row = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert row.status == DeliveryStatus.DELIVERED
    mails = email_via_smtp.wait_for(1)
    (mail,) = [m for m in mails if m.message_id == row.identity]
    assert mail.rcpt_tos == ["buyers@xn--bcher-kva.example"]
    assert all("spy@evil.example" not in rcpt for m in mails for rcpt in m.rcpt_tos)
    assert mail.message["Bcc"] is None and "spy" not in str(mail.message["To"])
    assert "\n" not in mail.subject and "cancelled" in mail.subject and "Cöle" in mail.subject
    assert "Cöle" in mail.body("plain") and "Cöle" in mail.body("html")
