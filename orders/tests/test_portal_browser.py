"""The cancel flow in a real browser (Debian's Chromium driven by Playwright) against a live
server, with the retailer's email caught by a real SMTP server."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from orders.models import Order, OrderEvent
from orders.services import order_set_status
from testsupport.browser import login, run_in_browser
from testsupport.browser import watch_csp as _watch_csp
from testsupport.factories import make_supplier_user, place_order
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp_inbox(email_via_smtp, tasks_inline):
    """The root conftest's real SMTP server, with delivery tasks run in process."""
    return email_via_smtp


@pytest.fixture
def portal(acme, retailer, live_server, smtp_inbox):
    make_supplier_user(supplier=acme, username="ann")
    orders = [
        place_order(
            retailer=retailer,
            customer={"name": name, "email": f"{name.split()[0].lower()}@example.com"},
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
        )[0]
        for name in ("Zed Quinlan", "Ann Lee", "Ben Okafor")
    ]
    return {"url": live_server.url, "orders": orders, "retailer": retailer}


def _login(page, base_url):
    login(page, base_url, "ann")
    page.wait_for_url(base_url + "/orders/")


def test_cancel_flow_end_to_end(portal, smtp_inbox):
    base = portal["url"]
    target = portal["orders"][0]
    retailer = portal["retailer"]
    csp_violations: list[str] = []

    def steps(browser):
        page = browser.new_page()
        _watch_csp(page, csp_violations)
        _login(page, base)
        # Filter ORDER HISTORY down to the customer.
        page.get_by_label("Search").fill("Quinlan")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r".*[?&]q=Quinlan"))
        rows = page.locator("table.orders tbody tr")
        assert rows.count() == 1
        # Open the order, then edit it.
        page.get_by_role("link", name=target.number).click()
        page.wait_for_url(f"{base}/orders/{target.number}/")
        page.get_by_role("link", name="Edit").click()
        page.wait_for_url(f"{base}/orders/{target.number}/edit/")
        # The cancellation fields appear once "cancelled" is chosen; the note is always there.
        assert not page.get_by_label("Cancellation reason").is_visible()
        assert page.get_by_label("Note").is_visible()
        page.get_by_label("New status").select_option("cancelled")
        page.get_by_label("Cancellation reason").select_option("out_of_stock")
        page.get_by_label("Note").fill("Out of stock until March, sorry")
        page.get_by_role("button", name="Update").click()
        page.wait_for_url(f"{base}/orders/{target.number}/")
        assert page.locator("#order-status").inner_text() == "Cancelled"
        assert "email to the retailer" in page.locator(".messages").inner_text()
        timeline = page.locator("#timeline").inner_text()
        assert "ann" in timeline and "Out of stock until March, sorry" in timeline
        assert "Edit" not in page.locator(".page-head").inner_text()

    run_in_browser(steps)
    assert csp_violations == []

    order = Order.objects.get(pk=target.pk)
    assert order.status == "cancelled" and order.cancellation_note.startswith("Out of stock")
    event = order.events.get(type="order.cancelled")
    assert event.actor == "user:ann" and event.actor_user.username == "ann"

    message = wait_until(
        lambda: next(
            (
                m
                for m in smtp_inbox.messages
                if target.number in m.subject and retailer.email in m.rcpt_tos
            ),
            None,
        ),
        timeout=20,
        message="the retailer's cancellation email did not arrive",
    )
    assert "cancelled" in message.subject.lower()
    assert message.rcpt_tos == [retailer.email]
    body = message.body()
    assert "Out of stock until March, sorry" in body and "ACME-001" in body


def test_the_edit_pages_note_can_be_given_with_a_shipment(portal, smtp_inbox):
    """The note goes with any change (the timeline keeps it): choosing "shipped" must not
    hide it, as it did with the cancellation's fields while still sending what it held."""
    base = portal["url"]
    order = order_set_status(order=portal["orders"][2], status="processing", actor="ops")

    def steps(browser):
        page = browser.new_page()
        _login(page, base)
        page.goto(f"{base}/orders/{order.number}/edit/")
        page.get_by_label("New status").select_option("shipped")
        assert not page.get_by_label("Cancellation reason").is_visible()
        page.get_by_label("Carrier").fill("DPD")
        page.get_by_label("Note").fill("Left at the depot", timeout=5000)
        page.get_by_role("button", name="Update").click()
        page.wait_for_url(f"{base}/orders/{order.number}/")
        assert "Left at the depot" in page.locator("#timeline").inner_text()

    run_in_browser(steps)
    event = OrderEvent.objects.get(order=order, type="order.shipment_created")
    assert event.note == "Left at the depot"


def test_refusals_in_the_browser(portal, smtp_inbox):
    from playwright.sync_api import expect

    base = portal["url"]
    placed, to_ship, stale = portal["orders"]
    order_set_status(order=to_ship, status="processing", actor="ops")
    shipped = order_set_status(order=to_ship, status="shipped", actor="ops", carrier="DPD")
    mail.outbox.clear()
    smtp_inbox.messages.clear()

    def steps(browser):
        context = browser.new_context()
        page = context.new_page()
        _login(page, base)

        # No note: refused, the note field says why, nothing changed.
        page.goto(f"{base}/orders/{placed.number}/edit/")
        page.get_by_label("New status").select_option("cancelled")
        page.get_by_label("Cancellation reason").select_option("other")
        page.get_by_role("button", name="Update").click()
        # Waits for the answer page (the refusal) to show its error box.
        expect(page.locator("#form-errors")).to_contain_text("Nothing was changed")
        assert "A note is required to cancel an order." in page.content()
        assert page.get_by_label("Note").is_visible()

        # A shipped order: final, no form to submit.
        page.goto(f"{base}/orders/{shipped.number}/edit/")
        assert "which is final" in page.content()
        assert page.get_by_role("button", name="Update").count() == 0

        # A stale form: two pages open on the same order; the second Update is refused.
        first = page
        second = context.new_page()
        first.goto(f"{base}/orders/{stale.number}/edit/")
        second.goto(f"{base}/orders/{stale.number}/edit/")
        first.get_by_label("New status").select_option("processing")
        first.get_by_role("button", name="Update").click()
        first.wait_for_url(f"{base}/orders/{stale.number}/")
        second.get_by_label("New status").select_option("cancelled")
        second.get_by_label("Cancellation reason").select_option("other")
        second.get_by_label("Note").fill("second editor")
        second.get_by_role("button", name="Update").click()
        expect(second.locator("#form-errors")).to_contain_text("changed since you opened")
        said = second.locator("#form-errors").inner_text()
        assert "it is now processing" in said and "Nothing was saved" in said
        second.get_by_role("link", name="Look at the order again").click()
        expect(second.get_by_label("New status")).to_be_visible()
        assert "Processing" in second.locator("h1").inner_text()
        context.close()

    run_in_browser(steps)
    assert Order.objects.get(pk=placed.pk).status == "placed"
    assert Order.objects.get(pk=shipped.pk).status == "shipped"
    assert Order.objects.get(pk=stale.pk).status == "processing"
    assert not OrderEvent.objects.filter(note="second editor").exists()
    assert not OrderEvent.objects.filter(type="order.cancelled").exists()
    assert [m for m in smtp_inbox.messages if "cancel" in m.subject.lower()] == []


def test_cancel_one_line_in_the_browser(portal, smtp_inbox):
    from playwright.sync_api import expect

    base = portal["url"]
    target = portal["orders"][1]  # two lines: 2 x ACME-001, 1 x ACME-003
    retailer = portal["retailer"]
    csp_violations: list[str] = []

    def steps(browser):
        page = browser.new_page()
        _watch_csp(page, csp_violations)
        _login(page, base)
        page.goto(f"{base}/orders/{target.number}/")
        page.get_by_role("link", name="Cancel items").click()
        page.wait_for_url(f"{base}/orders/{target.number}/cancel-items/")
        # Every line starts at 0; cancel one unit of the first line only.
        assert page.get_by_label("Cancel: Line 2: ACME-003").input_value() == "0"
        page.get_by_label("Cancel: Line 1: ACME-001").fill("1")
        page.get_by_label("Cancellation reason").select_option("out_of_stock")
        page.get_by_label("Note").fill("Only one ACME-001 left")
        page.get_by_role("button", name="Cancel these items").click()
        page.wait_for_url(f"{base}/orders/{target.number}/")
        expect(page.locator(".messages")).to_contain_text("email to the retailer")
        # The order stays open, and its page shows the line's new state.
        assert page.locator("#order-status").inner_text() == "Placed"
        first = page.locator("#items tbody tr").first
        assert first.locator('[data-label="Cancelled"]').inner_text() == "1"
        assert first.locator('[data-label="Open"]').inner_text() == "1"
        assert "Only one ACME-001 left" in page.locator("#cancellations").inner_text()
        timeline = page.locator("#timeline").inner_text()
        assert "1 × ACME-001 cancelled" in timeline and "ann" in timeline
        # ORDER HISTORY marks it.
        page.goto(f"{base}/orders/?q={target.number}")
        expect(page.locator("table.orders tbody tr")).to_contain_text("partly cancelled")

    run_in_browser(steps)
    assert csp_violations == []

    order = Order.objects.get(pk=target.pk)
    assert order.status == "placed"
    assert [(ln.quantity_cancelled, ln.quantity_shipped) for ln in order.lines.all()] == [
        (1, 0),
        (0, 0),
    ]
    event = order.events.get(type="order.lines_cancelled")
    assert event.actor == "user:ann" and event.actor_user.username == "ann"
    message = wait_until(
        lambda: next(
            (
                m
                for m in smtp_inbox.messages
                if target.number in m.subject and retailer.email in m.rcpt_tos
            ),
            None,
        ),
        timeout=20,
        message="the retailer's email for the cancelled item did not arrive",
    )
    assert "cancelled" in message.subject.lower()
    assert "Only one ACME-001 left" in message.body() and "ACME-001" in message.body()
