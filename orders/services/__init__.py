"""Every write to orders, by concern; each atomic, each with its event.

intake.py (a retailer's order), retailers.py, cancellations.py and shipments.py (line
level, issue 12), status.py (the portal's status edit on top of them), acknowledgement.py
and sources.py (issue 13: the supplier has the order; where an update came from);
changes.py holds what those share, events.py the announcement and the error classes.
"""

from .acknowledgement import order_acknowledge
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
from .retailers import retailer_create
from .shipments import order_shipment_create
from .sources import UpdateSource, source_api, source_file, source_portal
from .status import order_set_status

__all__ = [
    "CENT",
    "MAX_ORDER_TOTAL",
    "IntakeResult",
    "LineQuantity",
    "OrderChangedError",
    "OrderStateError",
    "UpdateSource",
    "intake_prepare",
    "order_acknowledge",
    "order_lines_cancel",
    "order_place_from_retailer",
    "order_set_status",
    "order_shipment_create",
    "retailer_create",
    "source_api",
    "source_file",
    "source_portal",
]
