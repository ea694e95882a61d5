"""The monthly summary lists shipments per order (issue 19): shipped whole or in part, with
each parcel, as they stood at the close, beside the cancellations."""

import pytest
import time_machine

from orders.services import LineQuantity, order_lines_cancel, order_shipment_create
from statements.emails import summary_email_parts
from statements.selectors import retailer_month_figures

from .test_figures import JULY, ny, place


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def ship(order, *, lines=None, tracking="JD1"):
    return order_shipment_create(
        order=order, actor="ops", carrier="DHL", tracking_number=tracking, lines=lines
    )


def test_shipments_per_order_whole_and_part_as_at_the_close(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 10, 12), tick=True):
        (whole,) = place(retailer, ny(2026, 7, 10, 9), [{"sku": "ACME-001", "quantity": 2}], "W")
        (part,) = place(
            retailer,
            ny(2026, 7, 10, 10),
            [{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-002", "quantity": 1}],
            "P",
        )
        (rest_cancelled,) = place(
            retailer,
            ny(2026, 7, 10, 11),
            [{"sku": "ACME-001", "quantity": 1}, {"sku": "ACME-003", "quantity": 1}],
            "RC",
        )
        place(retailer, ny(2026, 7, 10, 11, 30), [{"sku": "ACME-002", "quantity": 1}], "NONE")
    with time_machine.travel(ny(2026, 7, 20, 12), tick=True):
        ship(whole, lines=[LineQuantity(line=1, quantity=1)], tracking="W-1")
        ship(whole, tracking="W-2")
        ship(part, lines=[LineQuantity(line=1, quantity=2)], tracking="P-1")
        ship(rest_cancelled, lines=[LineQuantity(line=1, quantity=1)], tracking="RC-1")
        order_lines_cancel(
            order=rest_cancelled,
            actor="ops",
            reason="out_of_stock",
            note="None left",
            lines=[LineQuantity(line=2, quantity=1)],
        )
    # After the close: a later parcel does not change July.
    with time_machine.travel(ny(2026, 8, 2, 12), tick=True):
        ship(part, tracking="P-2")

    july = retailer_month_figures(retailer=retailer, month=JULY)
    by_ref = {s["reference"]: s for s in july["shipments"]}
    assert set(by_ref) == {"W", "P", "RC"}  # NONE had no parcel
    assert (by_ref["W"]["whole"], by_ref["W"]["units_shipped"]) == (True, 2)
    assert [p["tracking_number"] for p in by_ref["W"]["parcels"]] == ["W-1", "W-2"]
    assert (by_ref["P"]["whole"], by_ref["P"]["units_shipped"], by_ref["P"]["units_to_ship"]) == (
        False,
        2,
        4,
    )
    assert [p["tracking_number"] for p in by_ref["P"]["parcels"]] == ["P-1"]
    # Shipped what was not cancelled: that is the whole order.
    assert (by_ref["RC"]["whole"], by_ref["RC"]["units_to_ship"]) == (True, 1)
    assert july["shipped_counts"] == {"whole": 2, "part": 1}
    assert [p["reference"] for p in july["partly_cancelled"]] == ["RC"]

    _, text, html = summary_email_parts(figures=july, retailer_name="Shopco")
    assert "SHIPMENTS: 2 orders shipped, 1 part shipped" in text
    assert "part shipped: 2 of 4 items" in text and "DHL  P-1  2 items" in text
    assert "P-2" not in text
    assert "Part shipped: 2 of 4" in html and "W-2" in html


def test_no_shipments_no_section(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 10, 12), tick=True):
        place(retailer, ny(2026, 7, 10, 9), [{"sku": "ACME-001", "quantity": 2}], "N")
    july = retailer_month_figures(retailer=retailer, month=JULY)
    assert july["shipments"] == [] and july["shipped_counts"] == {"whole": 0, "part": 0}
    _, text, _ = summary_email_parts(figures=july, retailer_name="Shopco")
    assert "SHIPMENTS" not in text
