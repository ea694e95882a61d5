"""An adjustment is "now wholly cancelled" by units, not by money (found in review: an order
with a free line still open was called wholly cancelled once its priced line was)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from orders.services import LineQuantity, order_lines_cancel
from statements.selectors import retailer_month_figures
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db


def _at(when, func, **kwargs):
    with time_machine.travel(when, tick=False):
        return func(**kwargs)


@pytest.mark.parametrize(("rest_too", "whole"), [(False, False), (True, True)])
def test_an_adjustment_is_whole_only_when_every_unit_is_cancelled(
    settings, acme, retailer, rest_too, whole
):
    settings.TIME_ZONE = "Europe/London"
    make_products(supplier=acme, skus={"ACME-FREE": "0.00"})
    march = datetime(2026, 3, 10, 12, tzinfo=UTC)
    (order,) = _at(
        march,
        place_order,
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-FREE", "quantity": 1}],
        placed_at=march.isoformat(),
    )
    lines = None if rest_too else [LineQuantity(1, 2)]  # None: every open unit
    _at(
        datetime(2026, 4, 3, tzinfo=UTC),
        order_lines_cancel,
        order=order,
        actor="ops",
        reason="out_of_stock",
        note="n",
        lines=lines,
    )
    (adjustment,) = retailer_month_figures(retailer=retailer, month=date(2026, 4, 1))["adjustments"]
    assert adjustment["whole"] is whole
