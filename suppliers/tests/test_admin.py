"""The supplier admin: a supplier's slug is set once (it names its hosted SFTP folder)."""

from __future__ import annotations

import pytest

from suppliers.models import Supplier

pytestmark = pytest.mark.django_db


def test_a_suppliers_slug_cannot_be_changed_in_the_admin(admin_client, acme):
    url = f"/admin/suppliers/supplier/{acme.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="slug"' not in page  # shown, not an input
    assert acme.slug in page
    form = {
        "slug": "renamed",
        "name": "Acme Renamed",
        "order_emails": acme.order_emails,
        "is_active": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    acme.refresh_from_db()
    assert (acme.slug, acme.name) == ("acme", "Acme Renamed")
    assert not Supplier.objects.filter(slug="renamed").exists()


def test_a_new_supplier_gets_its_slug_in_the_admin(admin_client):
    page = admin_client.get("/admin/suppliers/supplier/add/").content.decode()
    assert 'name="slug"' in page
