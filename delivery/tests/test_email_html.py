"""The emails as people get them (issue 16): the order email to the supplier and the
cancellation emails (whole and partial, to the retailer and the supplier), caught by a real
SMTP server, are valid HTML by the Nu Html Checker, fit a 390 px phone in the real Chromium
without scrolling sideways, name the platform, say reasons in words, and link to SITE_URL
only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.services import LineQuantity, order_lines_cancel, order_set_status
from suppliers.services import ProductRow, products_import
from testsupport.browser import run_in_browser
from testsupport.factories import place_order
from testsupport.htmlcheck import links_of, vnu_errors

pytestmark = pytest.mark.django_db

SITE = "https://orders.example.test/portal"
LONG_NAME = "Hand-poured soy wax candle in a reusable amber glass jar, extra large (fig & cedar)"
LONG_SKU = "COLE-CANDLE-AMBER-JAR-XL-FIG-CEDAR-2026"


@pytest.fixture
def emails(
    cole, retailer, email_via_smtp, tasks_inline, settings, django_capture_on_commit_callbacks
):
    """One order (a long item name and SKU, as phones must wrap), then a partial and a whole
    cancellation: every email those send, by (recipient kind, subject)."""
    settings.SITE_URL = SITE + "/"
    settings.PLATFORM_NAME = "Dropship Hub"
    products_import(
        supplier=cole,
        rows=[ProductRow(sku=LONG_SKU, name=LONG_NAME, price=Decimal("18.50"), currency="GBP")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(
            retailer=retailer,
            reference="SHOP-100023",
            lines=[{"sku": "COLE-1", "quantity": 3}, {"sku": LONG_SKU, "quantity": 2}],
            customer={
                "name": "Ann Lee",
                "email": "ann.lee.with.a.very.long.address@subdomain.example.com",
                "phone": "+44 20 7946 0000",
            },
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="Only one jar left",
            lines=[LineQuantity(line=2, quantity=1)],
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(
            order=order,
            status="cancelled",
            actor="ops",
            reason="bad_address",
            note="The postcode does not exist",
        )
    mails = email_via_smtp.wait_for(5)
    found = {}
    for mail in mails:
        who = "retailer" if mail.rcpt_tos == ["buyers@shopco.example"] else "supplier"
        if "New order" in mail.subject:
            kind = "order"
        elif "cancelled by" in mail.subject or mail.subject.endswith("cancelled"):
            kind = "whole" if "item" not in mail.subject else "partial"
        else:
            kind = "partial"
        found[f"{who}-{kind}"] = mail
    assert sorted(found) == [
        "retailer-partial",
        "retailer-whole",
        "supplier-order",
        "supplier-partial",
        "supplier-whole",
    ], [m.subject for m in mails]
    return {"order": order, "mails": found}


def test_order_and_cancellation_emails_are_valid_html(emails):
    documents = {name: mail.body("html") for name, mail in emails["mails"].items()}
    problems = vnu_errors(documents)
    assert problems == [], "\n".join(problems)


# The page's scroll width, the viewport's, the card's width, where the rightmost piece of text
# in the card ends (a text overflowing its cell does not widen the cell's box), and where the
# card's text column ends.
RIGHTMOST = """() => {
  const content = document.querySelector('.content');
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let right = 0;
  while (walker.nextNode()) {
    if (!walker.currentNode.textContent.trim()) continue;
    range.selectNodeContents(walker.currentNode);
    for (const rect of range.getClientRects()) right = Math.max(right, rect.right);
  }
  return [document.documentElement.scrollWidth, document.documentElement.clientWidth,
          document.querySelector('.card').getBoundingClientRect().width, right,
          content.getBoundingClientRect().right
            - parseFloat(getComputedStyle(content).paddingRight)];
}"""


def test_emails_fit_a_phone_without_sideways_scroll(emails):
    documents = {name: mail.body("html") for name, mail in emails["mails"].items()}
    widths = {}

    def steps(browser):
        for size in ({"width": 390, "height": 844}, {"width": 1366, "height": 800}):
            page = browser.new_page(viewport=size)
            for name, html in documents.items():
                page.set_content(html, wait_until="load")
                widths[(name, size["width"])] = page.evaluate(RIGHTMOST)
                assert LONG_NAME.split(" (")[0] in page.inner_text("body") or name.startswith(
                    "retailer-whole"
                )
            page.close()

    run_in_browser(steps)
    for (name, width), (scroll, client, card, right, limit) in widths.items():
        assert scroll <= client == width, f"{name} at {width}px scrolls sideways ({scroll}px)"
        # Nothing sticks out of the card's text column either (the page's width would not
        # show it).
        assert right <= limit + 0.5, f"{name} at {width}px: an element ends at {right} > {limit}"
        assert card <= 602, f"{name}: the card is {card}px wide"  # 600 and its borders
        if width == 390:
            assert card >= 380, f"{name}: the card uses {card}px of a 390px phone"


def test_links_use_site_url_and_the_words_are_for_people(emails):
    order = emails["order"]
    for name, mail in emails["mails"].items():
        html, text = mail.body("html"), mail.body("plain")
        hrefs = links_of(html)
        assert hrefs, name
        assert all(href.startswith(SITE + "/") for href in hrefs), (name, hrefs)
        assert "127.0.0.1" not in html + text and "localhost:8000" not in html + text
        assert "Dropship Hub" in html and "Dropship Hub" in text, name
        for code in ("out_of_stock", "bad_address", "order.cancelled", "lines_cancelled"):
            assert code not in html and code not in text, (name, code)
    supplier_order = emails["mails"]["supplier-order"]
    assert f'href="{SITE}/orders/{order.number}/"' in supplier_order.body("html")
    assert f"{SITE}/orders/{order.number}/" in supplier_order.body("plain")
    partial = emails["mails"]["retailer-partial"].body("html")
    assert "Out of stock" in partial and "Only one jar left" in partial and "1 of 2" in partial
    assert "Still coming" in partial
    whole = emails["mails"]["retailer-whole"].body("html")
    assert "Bad address" in whole and "The postcode does not exist" in whole
    assert "SHOP-100023" in whole and "Cole Candles" in whole


def test_the_stylesheet_is_inlined_and_the_phone_rules_kept(emails):
    html = emails["mails"]["supplier-order"].body("html")
    # Every element styled in its own attribute (what Gmail and Outlook read) ...
    assert '<td class="content" style="' in html
    assert '<a class="button" href="' in html and "background:#1d4ed8" in html
    # ... and the @media rules kept for the clients that honour them.
    assert "@media only screen and (max-width:480px)" in html.replace(": ", ":")


def test_the_shipment_email_is_valid_html_too(
    cole, retailer, email_via_smtp, tasks_inline, settings, django_capture_on_commit_callbacks
):
    from orders.services import order_shipment_create

    settings.SITE_URL = SITE
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 2}])
    with django_capture_on_commit_callbacks(execute=True):
        order_shipment_create(
            order=order,
            actor="ops",
            carrier="DPD",
            tracking_number="JD0001234567",
            lines=[LineQuantity(line=1, quantity=1)],
        )
    (shipment,) = [m for m in email_via_smtp.wait_for(2) if "shipped" in m.subject]
    html = shipment.body("html")
    assert "JD0001234567" in html and "DPD" in html and "Still to ship" in html
    assert all(href.startswith(SITE + "/") for href in links_of(html))
    problems = vnu_errors({"retailer-shipment": html})
    assert problems == [], "\n".join(problems)
