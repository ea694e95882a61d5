"""The format preview in admin renders a real order (its customer's name, email, phone and
address): only staff who may view file formats may open it, and only those who may also view
orders may name a real one, as for every other admin page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from testsupport.factories import place_order


@pytest.fixture
def order(acme, retailer):
    [order] = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 1}],
        customer={"name": "Zoe Secret", "email": "zoe.secret@example.com", "phone": "+44 1"},
    )
    return order


def _staff(client, *codenames):
    user = get_user_model().objects.create_user(
        "clerk", "clerk@example.com", "Clerk-Pass-2026!", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def _preview_url(order) -> str:
    return reverse("admin:delivery_fileformat_preview", args=["csv"]) + f"?order={order.number}"


def test_staff_without_the_format_permission_cannot_preview_a_real_order(client, order):
    clerk = _staff(client, "view_delivery")  # staff, but nothing about formats
    response = clerk.get(_preview_url(order))
    assert response.status_code == 403
    assert "zoe.secret@example.com" not in response.content.decode()
    assert "Zoe Secret" not in response.content.decode()


def test_staff_who_may_view_formats_and_orders_preview_a_real_order(client, order):
    viewer = _staff(client, "view_fileformat", "view_order")
    response = viewer.get(_preview_url(order))
    assert response.status_code == 200
    assert "zoe.secret@example.com" in response.content.decode()


def test_staff_who_may_view_formats_but_not_orders_see_only_the_sample(client, order):
    viewer = _staff(client, "view_fileformat")
    response = viewer.get(_preview_url(order))
    assert response.status_code == 403
    assert "zoe.secret@example.com" not in response.content.decode()
    sample = viewer.get(reverse("admin:delivery_fileformat_preview", args=["csv"]))
    assert sample.status_code == 200
    assert "zoe.secret@example.com" not in sample.content.decode()
