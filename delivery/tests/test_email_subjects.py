"""Email subjects are plain text on one line; the HTML bodies still escape (real SMTP server)."""

import pytest

from orders.models import Retailer
from orders.services import order_set_status, retailer_create
from suppliers.models import Supplier
from suppliers.services import supplier_create
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db

# Markup, an ampersand, both quotes and a newline: what a name may hold (a newline only in a
# row from before names were held to one line, or written by SQL: set so below).
TRICKY = "<b>&\"'\nCo"
ON_ONE_LINE = "<b>&\"' Co"


def test_subjects_show_names_literally_on_one_line_and_html_bodies_escape_them(
    email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    supplier = supplier_create(slug="tricky", name="Tricky", order_emails="po@tricky.example")
    Supplier.objects.filter(pk=supplier.pk).update(name=f"Tricky {TRICKY}")
    make_products(supplier=supplier, skus={"TR-1": "3.00"})
    retailer, _ = retailer_create(slug="shop", name="Shop", email="buyers@shop.example")
    Retailer.objects.filter(pk=retailer.pk).update(name=f"Shop {TRICKY}")
    retailer.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(
            retailer=retailer, lines=[{"sku": "TR-1", "quantity": 1}], reference="R-<i>&"
        )
    (new_order,) = email_via_smtp.wait_for(1)
    assert new_order.subject == f"New order {order.number} from Shop {ON_ONE_LINE}"

    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="Sorry")
    received = email_via_smtp.wait_for(3)
    (to_retailer,) = email_via_smtp.to("buyers@shop.example")
    assert to_retailer.subject == (
        f"Order {order.number} (R-<i>&) cancelled by Tricky {ON_ONE_LINE}"
    )
    for mail in received:
        assert "&lt;" not in mail.subject and "&amp;" not in mail.subject
        assert "\n" not in mail.subject and "\r" not in mail.subject
        html = mail.body("html")
        assert "<b>&" not in html
        assert "&lt;b&gt;&amp;" in html
