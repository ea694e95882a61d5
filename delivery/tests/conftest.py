"""Fixtures shared by the delivery tests."""

import pytest

from suppliers.services import supplier_create
from testsupport.factories import make_products


@pytest.fixture
def cole(db):
    """A supplier onboarded as ops would (email channel on), with one product, COLE-1."""
    supplier = supplier_create(slug="cole", name="Cole Candles", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    return supplier
