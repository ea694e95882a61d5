"""What the orders app's portal pages show of deliveries, plugged in when Django starts.

`orders` never imports `delivery` (docs/architecture.md), so its ORDER HISTORY and order pages
get delivery data through readers it exposes (orders/views.py, `delivery_readers_register`);
delivery registers its selectors there from its AppConfig.ready() (delivery/apps.py), so every
process that sets Django up has them, whether or not it loads the URLs.
"""

from __future__ import annotations

from orders.views import delivery_readers_register

from .selectors import (
    deliveries_for_order,
    deliveries_with_facts,
    delivery_failing_count,
    delivery_states_for_orders,
)


def readers_register() -> None:
    delivery_readers_register(
        states_for_orders=lambda order_ids: delivery_states_for_orders(order_ids=order_ids),
        # each with `.facts`: the one reading of its state, tries and next try
        for_order=lambda order: deliveries_with_facts(deliveries_for_order(order=order)),
        # Failing (still retrying) or failed for good: one query.
        failing_count=lambda supplier: delivery_failing_count(supplier=supplier),
    )
