"""Every write to orders, by concern; each atomic, each with its event.

intake.py (a retailer's order), retailers.py, cancellations.py and shipments.py (line
level, issue 12), status.py (the portal's status edit on top of them); changes.py holds what
those three share, events.py the announcement and the error classes.
"""

from .cancellations import order_lines_cancel
from .changes import LineQuantity
from .events import OrderChangedError, OrderStateError
from .intake import (
    CENT,
    MAX_ORDER_TOTAL,
    IntakeResult,
    intake_prepare,
    order_place_from_retailer,
)
from .retailers import retailer_create, retailer_rotate_key
from .shipments import order_shipment_create
from .status import order_set_status

__all__ = [
    "CENT",
    "MAX_ORDER_TOTAL",
    "IntakeResult",
    "LineQuantity",
    "OrderChangedError",
    "OrderStateError",
    "intake_prepare",
    "order_lines_cancel",
    "order_place_from_retailer",
    "order_set_status",
    "order_shipment_create",
    "retailer_create",
    "retailer_rotate_key",
]
