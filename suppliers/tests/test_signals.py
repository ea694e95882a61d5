"""`supplier_created`: sent by supplier_create inside its transaction (suppliers/signals.py)."""

import pytest

from suppliers.models import Supplier
from suppliers.services import supplier_create
from suppliers.signals import supplier_created


def test_receivers_hear_of_a_new_supplier(db):
    heard = []

    def receiver(sender, supplier, **kwargs):
        heard.append((sender, supplier.slug, Supplier.objects.filter(pk=supplier.pk).exists()))

    supplier_created.connect(receiver, dispatch_uid="test.heard")
    try:
        supplier_create(slug="dune", name="Dune", order_emails="po@dune.example")
    finally:
        supplier_created.disconnect(dispatch_uid="test.heard")
    assert heard == [(Supplier, "dune", True)]


def test_a_receiver_that_fails_leaves_no_supplier(db):
    def receiver(sender, supplier, **kwargs):
        raise RuntimeError("the receiver could not add what a supplier needs")

    supplier_created.connect(receiver, dispatch_uid="test.fails")
    try:
        with pytest.raises(RuntimeError):
            supplier_create(slug="dune", name="Dune", order_emails="po@dune.example")
    finally:
        supplier_created.disconnect(dispatch_uid="test.fails")
    assert not Supplier.objects.exists()
