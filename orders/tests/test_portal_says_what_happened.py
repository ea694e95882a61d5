"""The order page and ORDER HISTORY's search say what happened (found in review): the banner
names the address the retailer's email went to, and a part of an email finds its orders."""

import re

import pytest

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from orders.models import Retailer
from testsupport.factories import make_supplier_user, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_client(client, acme):
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


def _numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/orders/(PO-\d+)/">', html)


def test_the_sent_banner_names_the_address_the_email_went_to(
    acme_client, retailer, tasks_inline, email_via_smtp, django_capture_on_commit_callbacks
):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_client.post(
            f"/orders/{order.number}/edit/",
            {
                "status": "cancelled",
                "reason": "out_of_stock",
                "note": "Gone",
                "version": order.version,
            },
        )
    assert response.status_code == 302
    notice = Delivery.objects.get(event__order=order, purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert notice.status == DeliveryStatus.DELIVERED
    assert email_via_smtp.to("buyers@shopco.example")
    # Ops correct the retailer's address afterwards: the email sent did not go there.
    Retailer.objects.filter(pk=retailer.pk).update(email="new-buyers@shopco.example")

    body = acme_client.get(f"/orders/{order.number}/").content.decode()
    banner = re.search(r'id="retailer-email">(.*?)</p>', body, re.S).group(1)
    assert "<strong>Sent:</strong>" in banner
    assert "buyers@shopco.example" in banner and "new-buyers@" not in banner, banner


@pytest.mark.parametrize("part", ["@{domain}", "{local}@", "{local}@{half}"])
def test_a_part_of_an_email_holding_its_at_sign_finds_the_order(acme_client, retailer, part):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    (other,) = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 1}],
        customer={"name": "Zed Roe", "email": "zed@elsewhere.example", "phone": "+1 555 0100"},
    )
    local, domain = order.customer_email.split("@", 1)
    q = part.format(local=local, domain=domain, half=domain[:3])
    found = _numbers(acme_client.get("/orders/", {"q": q}).content.decode())
    assert order.number in found, f"searching {q!r} listed {found}"
    assert other.number not in found
    # A whole address is still an exact match.
    assert _numbers(acme_client.get("/orders/", {"q": order.customer_email}).content.decode()) == [
        order.number
    ]
