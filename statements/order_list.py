"""A summary's full order list as CSV: the email's attachment for a big month, and the file
admin downloads for any summary.

Made from the stored figures only (so it is the same file whenever it is made, and the same
figures as the email), one row at a time: the admin download streams it, the email joins it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal

from django.conf import settings

from common.csv import csv_cell_neutralise

ORDER_LIST_COLUMNS = [
    "order_number",
    "retailer_reference",
    "supplier",
    "supplier_name",
    "placed_at",
    "status",  # at the close of the month
    "later_status",
    "later_at",
    "currency",
    "total",
    "cancelled_total",
    "sales_total",
    "commission_rate",
    "commission",
    "units_shipped",
    "parcels",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def summary_orders_attached(*, figures: dict) -> bool:
    """Whether the summary's email carries its order list as a CSV attachment instead of the
    table: a month of more orders than SUMMARY_EMAIL_ORDER_LIMIT."""
    return figures.get("counts", {}).get("orders", 0) > settings.SUMMARY_EMAIL_ORDER_LIMIT


def summary_order_list_filename(*, figures: dict) -> str:
    slug = figures.get("retailer", {}).get("slug") or "retailer"
    return f"orders-{slug}-{figures['month']}.csv"


def _parcels_by_order(figures: dict) -> dict[str, str]:
    """Each shipped order's parcels before the close, as one cell:
    `2026-07-04T10:00:00-04:00 DPD TRK1 (2); ...`."""
    return {
        shipment["number"]: "; ".join(
            f"{p['shipped_at']} {p['carrier']} {p['tracking_number']} ({p['units']})"
            for p in shipment["parcels"]
        )
        for shipment in figures.get("shipments", ())
    }


def summary_order_list_lines(*, figures: dict) -> Iterator[str]:
    """The CSV's lines, header first, one per order of the month in the summary's order."""
    writer = csv.writer(_Echo())
    yield writer.writerow(ORDER_LIST_COLUMNS)
    parcels = _parcels_by_order(figures)
    for order in figures.get("orders", ()):
        later = order.get("later") or {}
        cancelled = order.get("cancelled_total", "0.00")
        yield writer.writerow(
            [
                csv_cell_neutralise(value)
                for value in (
                    order["number"],
                    order["reference"],
                    order["supplier"],
                    order["supplier_name"],
                    order["placed_at"],
                    order["status"],
                    later.get("status", ""),
                    later.get("at", ""),
                    order["currency"],
                    order["total"],
                    cancelled,
                    Decimal(order["total"]) - Decimal(cancelled),  # both to the cent
                    order["commission_rate"],
                    order["commission"],
                    order.get("units_shipped", 0),
                    parcels.get(order["number"], ""),
                )
            ]
        )


def summary_order_list_csv(*, figures: dict) -> str:
    """The whole CSV as text (for the email's attachment)."""
    return "".join(summary_order_list_lines(figures=figures))
