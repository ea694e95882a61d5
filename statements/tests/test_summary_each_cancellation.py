"""An order cancelled in several goes shows each cancellation's reason and note on the
summary, with the lines it took: the summary showed only the last one's, against every line
cancelled, so the retailer read an out-of-stock line as cancelled at the customer's request."""

from datetime import date

import pytest
import time_machine

from orders.services import LineQuantity, order_lines_cancel
from statements.emails import summary_email_parts
from statements.selectors import retailer_month_figures

from .test_figures import JULY, ny, place

AUGUST = date(2026, 8, 1)


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def _cancel(order, *, line: int, quantity: int, reason: str, note: str) -> None:
    order_lines_cancel(
        order=order,
        actor="ops",
        reason=reason,
        note=note,
        lines=[LineQuantity(line=line, quantity=quantity)],
    )


@pytest.fixture
def order(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 10, 12), tick=True):
        (placed,) = place(
            retailer,
            ny(2026, 7, 10, 9),
            [
                {"sku": "ACME-001", "quantity": 3},
                {"sku": "ACME-002", "quantity": 1},
                {"sku": "ACME-003", "quantity": 2},
            ],
            "R-3C",
        )
    return placed


def test_a_partly_cancelled_order_shows_each_cancellations_reason_and_note(order, retailer):
    with time_machine.travel(ny(2026, 7, 15, 12), tick=True):
        _cancel(order, line=1, quantity=1, reason="out_of_stock", note="One short at the depot")
    with time_machine.travel(ny(2026, 7, 20, 12), tick=True):
        _cancel(order, line=2, quantity=1, reason="customer_request", note="Customer changed mind")

    figures = retailer_month_figures(retailer=retailer, month=JULY)
    (partly,) = figures["partly_cancelled"]
    assert [
        (c["reason"], c["note"], [(x["line"], x["quantity"]) for x in c["lines"]])
        for c in partly["cancellations"]
    ] == [
        ("out_of_stock", "One short at the depot", [(1, 1)]),
        ("customer_request", "Customer changed mind", [(2, 1)]),
    ]
    _, text, html = summary_email_parts(figures=figures, retailer_name="Shopco")
    for body in (text, html):
        assert "Out of stock" in body and "One short at the depot" in body
        assert "Customer request" in body and "Customer changed mind" in body
    # Each reason beside the line it took (text: the reason follows its lines).
    assert text.index("line 1 x 1") < text.index("Out of stock") < text.index("line 2 x 1")
    assert text.index("line 2 x 1") < text.index("Customer request")


def test_an_order_cancelled_whole_in_two_goes_shows_both_reasons(order, retailer):
    with time_machine.travel(ny(2026, 7, 15, 12), tick=True):
        _cancel(order, line=1, quantity=3, reason="out_of_stock", note="None left of line 1")
    with time_machine.travel(ny(2026, 7, 20, 12), tick=True):
        order_lines_cancel(order=order, actor="ops", reason="bad_address", note="No such street")

    figures = retailer_month_figures(retailer=retailer, month=JULY)
    (cancelled,) = figures["cancelled"]
    assert [c["reason"] for c in cancelled["cancellations"]] == ["out_of_stock", "bad_address"]
    _, text, html = summary_email_parts(figures=figures, retailer_name="Shopco")
    for body in (text, html):
        assert "None left of line 1" in body and "No such street" in body
        assert "Out of stock" in body and "Bad address" in body


def test_an_adjustment_of_two_cancellations_shows_both_reasons(order, retailer):
    with time_machine.travel(ny(2026, 8, 3, 12), tick=True):
        _cancel(order, line=1, quantity=1, reason="out_of_stock", note="One short in August")
    with time_machine.travel(ny(2026, 8, 4, 12), tick=True):
        _cancel(order, line=3, quantity=2, reason="discontinued", note="Line 3 discontinued")

    figures = retailer_month_figures(retailer=retailer, month=AUGUST)
    (adjustment,) = figures["adjustments"]
    assert [c["note"] for c in adjustment["cancellations"]] == [
        "One short in August",
        "Line 3 discontinued",
    ]
    _, text, html = summary_email_parts(figures=figures, retailer_name="Shopco")
    for body in (text, html):
        assert "One short in August" in body and "Line 3 discontinued" in body
        assert "Out of stock" in body and "Discontinued" in body


def test_one_cancellation_reads_as_before(order, retailer):
    with time_machine.travel(ny(2026, 7, 15, 12), tick=True):
        _cancel(order, line=1, quantity=1, reason="out_of_stock", note="One short")
    figures = retailer_month_figures(retailer=retailer, month=JULY)
    _, text, _ = summary_email_parts(figures=figures, retailer_name="Shopco")
    assert "    Reason: Out of stock\n    Note: One short\n" in text
