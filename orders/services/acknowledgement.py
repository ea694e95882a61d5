"""The supplier has the order (issue 13): acknowledging it, once, from any channel."""

from __future__ import annotations

from ..models import Order, OrderEventType
from ..transactions import transaction_now
from .changes import OrderHold, order_change_atomic, order_change_record, order_held
from .events import OrderChangedError, OrderStateError
from .sources import UpdateSource


@order_change_atomic
def order_acknowledge(
    *,
    order: Order,
    actor: str,
    actor_user=None,
    channel: UpdateSource,
    hold: OrderHold | None = None,
    expected_version: int | None = None,
) -> tuple[Order, bool]:
    """Record that the supplier has the order; return (order as it now is, changed).

    Repeating it is harmless: an order acknowledged before (or already shipped or
    cancelled by the supplier, which counts) is returned unchanged, with no event. A final
    order never acknowledged (cancelled by the retailer or ops) is OrderStateError: there is
    nothing left to take on. `hold`: the caller's (an update file's order; changes.py).

    `expected_version` (the portal's button): an order not yet acknowledged that changed
    since it was read (ops cancelled some of it, say) is OrderChangedError, so nobody takes
    on an order they have not seen. An order already acknowledged is checked first: a
    stale button on it still changes nothing, so it is no error (two people clicking, or
    one clicking twice).
    """
    with order_held(order=order, hold=hold, expected_version=None) as held:
        locked = held.order
        if locked.acknowledged_at is not None:
            return locked, False
        if expected_version is not None and locked.version != expected_version:
            raise OrderChangedError.for_order(locked)
        if locked.is_final:
            raise OrderStateError(
                {"order": [f"Order {locked.number} is {locked.status}: nothing to acknowledge."]}
            )
        order_change_record(
            hold=held,
            now=transaction_now(),
            fields=[],
            event_type=OrderEventType.ACKNOWLEDGED,
            actor=actor,
            actor_user=actor_user,
            note="",
            data={},
            source=channel,
        )
    return locked, True
