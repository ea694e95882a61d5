"""A retailer's address, where its cancellations and monthly summaries go, is an internet one
(common/emails.py), from `create_retailer` and the admin alike; and two `create_retailer` runs
racing on one slug make one retailer, the other refused in a line naming the slug."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from orders.models import Retailer
from testsupport.commands import command_refused
from testsupport.factories import make_retailer

INTERNAL = ["buyers@[127.0.0.1]", "buyers@[10.0.0.5]", "root@localhost"]


@pytest.mark.django_db
@pytest.mark.parametrize("address", INTERNAL)
def test_create_retailer_refuses_an_internal_address_and_makes_nothing(address):
    message = command_refused("create_retailer", "shopco", "--name", "Shop", "--email", address)
    assert message.startswith("email: ") and "not an internet mail address" in message
    assert not Retailer.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_an_internal_address_and_keeps_the_old_one(client):
    retailer, _ = make_retailer(slug="shopco", email="buyers@shopco.example")
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(admin)
    url = f"/admin/orders/retailer/{retailer.pk}/change/"
    form = {
        "slug": "shopco",
        "name": retailer.name,
        "email": "root@localhost",
        "commission_rate": "0.10",
        "is_active": "on",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    assert "not an internet mail address" in response.content.decode()
    retailer.refresh_from_db()
    assert retailer.email == "buyers@shopco.example"


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_on_one_slug_make_one_retailer_and_refuse_the_other(
    on_postgres, monkeypatch
):
    """Both pass the look-up for the slug before either inserts: the second insert's unique
    violation was an IntegrityError traceback; it is the same refusal as the look-up's."""
    from django.core.exceptions import ValidationError

    from orders.services import retailers

    barrier = threading.Barrier(2, timeout=10)
    real_full_clean = Retailer.full_clean

    def full_clean_then_wait(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        barrier.wait()  # both have checked; now both insert

    monkeypatch.setattr(Retailer, "full_clean", full_clean_then_wait)
    outcomes = []

    def create():
        try:
            retailers.retailer_create(slug="shopco", name="Shop", email="b@shopco.example")
            outcomes.append("made")
        except ValidationError as exc:
            outcomes.append(exc.message_dict)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(map(str, outcomes)) == sorted(
        ["made", str({"slug": ["A retailer 'shopco' already exists."]})]
    )
    assert Retailer.objects.count() == 1
