"""The "acknowledge" action of an update file, through the one acknowledgement service.

Issue 13 point 4 (`order_acknowledge`, built on another branch) records when and how an
order was acknowledged. Until that service is merged there is nothing to record an
acknowledgement in, so a row is answered `unchanged` and says why; the switch-over is this
one module (the import below finds the service once it exists).
"""

from __future__ import annotations

from ..models import Order


def order_acknowledge_from_file(*, order: Order, actor: str, actor_user) -> tuple[bool, str]:
    """(changed, message) for acknowledging `order` from an update file."""
    from .. import services

    service = getattr(services, "order_acknowledge", None)
    if order.is_final:
        return False, f"Order {order.number} is {order.status}; nothing to acknowledge."
    if service is None:
        return False, "Nothing recorded: acknowledgements are not kept yet."
    before = getattr(order, "acknowledged_at", None)
    updated = service(order=order, actor=actor, actor_user=actor_user, channel="file")
    after = getattr(updated if isinstance(updated, Order) else order, "acknowledged_at", None)
    if before is not None and before == after:
        return False, "Already acknowledged."
    return True, "Acknowledged."
