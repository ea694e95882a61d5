"""The commission rule: earned on the units not cancelled, at the rate frozen at intake
(`Order.commission_rate`), rounded half-up to the cent once per order.

Intake, the cancel service (which keeps `Order.commission_amount` equal to this for the
order's current lines) and the monthly summaries (statements/) all compute it here.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def value_kept(lines: Iterable) -> Decimal:
    """The worth of the units not cancelled: unit price x (quantity - cancelled), summed."""
    return sum(
        (line.unit_price * (line.quantity - line.quantity_cancelled) for line in lines),
        Decimal("0"),
    )


def commission_on(value: Decimal, rate: Decimal) -> Decimal:
    return (value * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def order_commission(*, rate: Decimal, lines: Iterable) -> Decimal:
    """The commission an order earns now, on what is not cancelled."""
    return commission_on(value_kept(lines), rate)
