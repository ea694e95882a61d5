"""A NUL anywhere in an admin request is a 400 before any view, never a 500."""

import pytest
from django.contrib.auth import get_user_model

from delivery.models import Destination

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/orders/order/?q=a%00b",
        "/admin/delivery/delivery/?q=%00",
        "/admin/suppliers/supplier/?q=x%00",
        "/admin/auth/user/?q=%00",
        "/admin/orders/order/?status__exact=placed%00",
    ],
)
def test_a_nul_in_an_admin_query_is_a_400_naming_the_field(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_in_an_admin_form_field_is_a_400_and_changes_nothing(staff_client, acme):
    destination = Destination.objects.get(supplier=acme, channel="email")
    before = destination.email_addresses
    response = staff_client.post(
        f"/admin/delivery/destination/{destination.pk}/change/",
        {"supplier": acme.pk, "channel": "email", "email_addresses": "a\x00@example.com"},
    )
    assert response.status_code == 400
    assert "'email_addresses'" in response.content.decode()
    destination.refresh_from_db()
    assert destination.email_addresses == before


def test_ordinary_admin_requests_pass(staff_client):
    assert staff_client.get("/admin/orders/order/?q=R-1001").status_code == 200
    assert staff_client.get("/admin/delivery/delivery/?q=PO-1").status_code == 200
