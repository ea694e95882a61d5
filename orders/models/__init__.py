"""The orders app's models: orders and their lines (order.py), cancellations and shipments
(fulfilment.py),
the update API's idempotency keys (idempotency.py), update files (updates.py)."""

from .fulfilment import Cancellation, CancellationLine, Shipment, ShipmentLine
from .idempotency import IdempotencyKey
from .order import (
    ORDER_TRANSITIONS,
    CancellationReason,
    Counter,
    Order,
    OrderEvent,
    OrderEventType,
    OrderIntake,
    OrderLine,
    OrderStatus,
    Retailer,
    UpdateChannel,
    order_status_derive,
    order_transition_allowed,
)
from .updates import UpdateFile, UpdateFileRow, UpdateFileSource, UpdateFileStatus

__all__ = [
    "ORDER_TRANSITIONS",
    "Cancellation",
    "CancellationLine",
    "CancellationReason",
    "Counter",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderEventType",
    "OrderIntake",
    "OrderLine",
    "OrderStatus",
    "Retailer",
    "Shipment",
    "ShipmentLine",
    "UpdateChannel",
    "UpdateFile",
    "UpdateFileRow",
    "UpdateFileSource",
    "UpdateFileStatus",
    "order_status_derive",
    "order_transition_allowed",
]
