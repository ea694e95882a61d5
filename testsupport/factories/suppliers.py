"""Test data made through the same services the app uses."""

from decimal import Decimal
from itertools import count

from suppliers.models import Product, Supplier
from suppliers.services import ProductRow, products_import, supplier_create, supplier_user_create

_seq = count(1)


def make_supplier(
    *, slug: str | None = None, name: str | None = None, emails: str | None = None
) -> Supplier:
    slug = slug or f"sup{next(_seq)}"
    return supplier_create(
        slug=slug, name=name or slug.title(), order_emails=emails or f"orders@{slug}.example"
    )


def make_products(
    *, supplier: Supplier, skus: dict[str, str], currency: str = "GBP"
) -> list[Product]:
    """skus: {"ACME-001": "9.50", ...}"""
    products_import(
        supplier=supplier,
        rows=[
            ProductRow(sku=sku, name=f"Product {sku}", price=Decimal(price), currency=currency)
            for sku, price in skus.items()
        ],
    )
    return list(Product.objects.filter(sku__in=skus).order_by("sku"))


def make_supplier_user(
    *, supplier: Supplier, username: str | None = None, password: str = "Corr3ct-Horse-Battery"
):
    username = username or f"user{next(_seq)}"
    return supplier_user_create(
        supplier=supplier, username=username, email=f"{username}@example.com", password=password
    )
