"""Schemathesis over the update endpoints (issue 13), on real orders: whatever the body and
headers, never a 5xx, and every answer as the OpenAPI document describes it."""

import hypothesis
import pytest
from hypothesis import HealthCheck

from orders.models import Order
from orders.tests.test_supplier_api_schema import (  # noqa: F401 - fixtures
    CHECKS,
    _keep_the_test_transaction,
    _load_schema,
    _no_throttle_leftovers,
)
from suppliers.services import api_token_create
from testsupport.factories import make_products, place_order

UPDATES = r"/(acknowledgement|cancellation|shipments)$"
positive = _load_schema().include(path_regex=UPDATES)
negative = _load_schema("negative").include(path_regex=UPDATES)


@pytest.fixture
def real_orders(retailer, acme):
    """Orders with several lines, and an update token; the fuzz aims at them."""
    make_products(supplier=acme, skus={"ACME-009": "1.00"})
    for _ in range(6):
        place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-009", "quantity": 2}],
        )
    _, plain = api_token_create(supplier=acme, name="fuzz", can_update=True)
    numbers = list(Order.objects.order_by("id").values_list("number", flat=True))
    return f"Bearer {plain}", numbers


def _aim(case, numbers):
    """Most cases at one of the real orders (else they would all be 404s)."""
    seed = len(repr(case.body)) + len(repr(case.headers))
    if seed % 5:
        case.path_parameters = {"number": numbers[seed % len(numbers)]}


@positive.parametrize()
@hypothesis.settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_fuzz_updates_no_5xx_no_schema_violation(case, real_orders):
    auth, numbers = real_orders
    _aim(case, numbers)
    response = case.call(headers={**(case.headers or {}), "Authorization": auth})
    case.validate_response(response, checks=CHECKS)


@negative.parametrize()
@hypothesis.settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_fuzz_invalid_updates_are_refused_cleanly(case, real_orders):
    auth, numbers = real_orders
    _aim(case, numbers)
    before = list(Order.objects.order_by("id").values_list("version", flat=True))
    response = case.call(
        headers={**(case.headers or {}), "Authorization": auth, "Host": "testserver"}
    )
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert list(Order.objects.order_by("id").values_list("version", flat=True)) == before
