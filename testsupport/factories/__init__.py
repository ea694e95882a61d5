"""Test data made through the same services the app uses, one module per app it builds for."""

from testsupport.factories.orders import intake_payload, make_retailer, place_order
from testsupport.factories.suppliers import make_products, make_supplier, make_supplier_user

__all__ = [
    "intake_payload",
    "make_products",
    "make_retailer",
    "make_supplier",
    "make_supplier_user",
    "place_order",
]
