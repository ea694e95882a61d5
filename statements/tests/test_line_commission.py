"""Commission exact to the cent with line-level cancellations (issue 12): a partial
cancellation in the order's month lowers that month; one after the close is an adjustment of
exactly the difference, with the lines named, in the month it was made."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from orders.models import Order
from orders.services import LineQuantity, order_lines_cancel
from statements.emails import summary_email_parts
from statements.selectors import retailer_month_figures

from .test_figures import JULY, ny, place

AUGUST = date(2026, 8, 1)


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def test_three_lines_one_unit_in_its_month_one_line_after_the_close(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 10, 12), tick=True):
        (order,) = place(
            retailer,
            ny(2026, 7, 10, 9),
            [
                {"sku": "ACME-001", "quantity": 3},  # 9.50 -> 28.50
                {"sku": "ACME-002", "quantity": 1},  # 7.25
                {"sku": "ACME-003", "quantity": 2},  # 24.00 -> 48.00
            ],
            "R-3L",
        )  # 83.75 at 10%
    with time_machine.travel(ny(2026, 7, 15, 12), tick=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="One short",
            lines=[LineQuantity(line=1, quantity=1)],
        )
    # 1 August, 02:00 New York: after July closed.
    with time_machine.travel(ny(2026, 8, 1, 2), tick=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="discontinued",
            note="Line 3 discontinued",
            lines=[LineQuantity(line=3, quantity=2)],
        )

    july = retailer_month_figures(retailer=retailer, month=JULY)
    (row,) = july["orders"]
    # Kept at July's close: 83.75 - 9.50 = 74.25; 10% = 7.425 -> 7.43 (half-up, per order).
    assert (row["status"], row["total"], row["cancelled_total"], row["commission"]) == (
        "placed",
        "83.75",
        "9.50",
        "7.43",
    )
    (partly,) = july["partly_cancelled"]
    assert partly["lines"] == [
        {
            "line": 1,
            "sku": "ACME-001",
            "name": partly["lines"][0]["name"],
            "quantity": 1,
            "of": 3,
            "unit_price": "9.50",
        }
    ]
    assert partly["reason"] == "out_of_stock" and partly["note"] == "One short"
    assert july["cancelled"] == [] and july["adjustments"] == []
    (total,) = july["totals"]
    assert {k: total[k] for k in ("placed_total", "cancelled_total", "sales_total")} == {
        "placed_total": "83.75",
        "cancelled_total": "9.50",
        "sales_total": "74.25",
    }
    assert (total["commission"], total["adjustments"], total["commission_due"]) == (
        "7.43",
        "0.00",
        "7.43",
    )

    august = retailer_month_figures(retailer=retailer, month=AUGUST)
    assert august["orders"] == [] and august["partly_cancelled"] == []
    (adjustment,) = august["adjustments"]
    # Kept now: 74.25 - 48.00 = 26.25; 10% = 2.625 -> 2.63; the difference is 2.63 - 7.43.
    assert adjustment["commission"] == "-4.80"
    assert adjustment["cancelled_total"] == "48.00" and adjustment["whole"] is False
    assert [(x["line"], x["sku"], x["quantity"], x["of"]) for x in adjustment["lines"]] == [
        (3, "ACME-003", 2, 2)
    ]
    assert adjustment["placed_month"] == "2026-07" and adjustment["note"] == "Line 3 discontinued"
    (total,) = august["totals"]
    assert (total["commission"], total["adjustments"], total["commission_due"]) == (
        "0.00",
        "-4.80",
        "-4.80",
    )

    # Over both summaries the order earns exactly the commission on what was not cancelled.
    order = Order.objects.get(pk=order.pk)
    assert order.commission_amount == Decimal("2.63")
    assert Decimal(july["totals"][0]["commission_due"]) + Decimal(
        august["totals"][0]["commission_due"]
    ) == Decimal("2.63")

    # The emails name the lines.
    _, july_text, july_html = summary_email_parts(figures=july, retailer_name="Shopco")
    assert "PARTLY CANCELLED ORDERS" in july_text
    assert "line 1  ACME-001" in july_text and "1 of 3 cancelled" in july_text
    assert "line 1 ACME-001: 1 of 3" in july_html
    _, august_text, august_html = summary_email_parts(figures=august, retailer_name="Shopco")
    assert "line 3  ACME-003" in august_text and "2 of 2 cancelled" in august_text
    assert "Commission reversed: -4.80 GBP" in august_text
    assert "line 3 ACME-003: 2 of 2" in august_html and "-4.80" in august_html
