"""Test data made through the same services the app uses."""

from decimal import Decimal
from itertools import count

from orders.models import Order, Retailer
from orders.services import order_place_from_retailer, retailer_create

_seq = count(1)


def make_retailer(
    *, slug: str | None = None, rate: str = "0.10", email: str | None = None
) -> tuple[Retailer, str]:
    slug = slug or f"ret{next(_seq)}"
    return retailer_create(
        slug=slug,
        name=slug.title(),
        email=email or f"buyers@{slug}.example",
        commission_rate=Decimal(rate),
    )


def intake_payload(*, reference: str | None = None, lines=None, **overrides) -> dict:
    payload = {
        "reference": reference or f"R-{next(_seq)}",
        "customer": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+44 20 7946 0000"},
        "shipping_address": {
            "name": "Ann Lee",
            "line1": "1 High St",
            "line2": "",
            "city": "Leeds",
            "region": "",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
        "lines": lines if lines is not None else [{"sku": "ACME-001", "quantity": 2}],
    }
    payload.update(overrides)
    return payload


def place_order(*, retailer: Retailer, lines=None, **overrides) -> list[Order]:
    return order_place_from_retailer(
        retailer=retailer, payload=intake_payload(lines=lines, **overrides)
    ).orders
