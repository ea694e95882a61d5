"""A supplier's order addresses are internet mail addresses: not an IP address written out
(`po@[127.0.0.1]`) nor `localhost`.

Django's validator takes both, and our mail relay would then deliver each order, its
customer's details and all, to a host of its own network (its loopback, a private address)
chosen by whoever may set the addresses: what the network guard refuses webhooks and SFTP,
done by the relay's hand. Refused naming the field; nothing changes.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from delivery.models import Destination
from testsupport.factories import make_supplier_user

pytestmark = pytest.mark.django_db

# What Django's validator takes of them (it refuses `ops@mail` and `[IPv6:...]` itself).
INTERNAL = ["po@[127.0.0.1]", "po@[10.0.0.5]", "root@localhost"]


@pytest.fixture
def cole_client(client, cole):
    client.force_login(make_supplier_user(supplier=cole, username="cora"))
    return client


def _addresses(cole) -> str:
    return Destination.objects.get(supplier=cole, channel="email").email_addresses


@pytest.mark.parametrize("address", INTERNAL)
def test_the_portal_refuses_an_internal_address(cole_client, cole, address):
    response = cole_client.post("/settings/email/", {"addresses": f"a@cole.example, {address}"})
    assert response.status_code == 400
    assert "not an internet mail address" in response.content.decode()
    assert _addresses(cole) == "po@cole.example"


@pytest.mark.parametrize("address", INTERNAL)
def test_set_channel_refuses_an_internal_address(cole, address):
    with pytest.raises(CommandError, match="^to: .*not an internet mail address"):
        call_command("set_channel", "cole", "email", "--to", address)
    assert _addresses(cole) == "po@cole.example"


def test_create_supplier_refuses_an_internal_address(db):
    from suppliers.models import Supplier

    with pytest.raises(CommandError, match="order_emails: .*not an internet mail address"):
        call_command("create_supplier", "dune", "--name", "Dune", "--order-email", "x@localhost")
    assert not Supplier.objects.filter(slug="dune").exists()


def test_an_internet_address_is_still_taken(cole_client, cole):
    response = cole_client.post("/settings/email/", {"addresses": "a@cole.example, b@x.cole.co"})
    assert response.status_code == 302
    assert _addresses(cole) == "a@cole.example,b@x.cole.co"
