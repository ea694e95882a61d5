"""The orders app's models: orders and their lines (order.py), cancellations and shipments
(fulfilment.py)."""

from .fulfilment import Cancellation, CancellationLine, Shipment, ShipmentLine
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
    order_status_derive,
    order_transition_allowed,
)

__all__ = [
    "ORDER_TRANSITIONS",
    "Cancellation",
    "CancellationLine",
    "CancellationReason",
    "Counter",
    "Order",
    "OrderEvent",
    "OrderEventType",
    "OrderIntake",
    "OrderLine",
    "OrderStatus",
    "Retailer",
    "Shipment",
    "ShipmentLine",
    "order_status_derive",
    "order_transition_allowed",
]
