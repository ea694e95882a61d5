"""Every portal page in the real browser (Chromium via Playwright) at a laptop's 1366x800 and
a phone's 390x844: none scrolls sideways, the phone shows orders on its first screen, and each
card of ORDER HISTORY's strip counts exactly the rows its link lists.

`make screenshots` runs this module with SCREENSHOTS_DIR=var/screenshots: each page is then
saved at both sizes, and the edit page's picture the help page shows is made again
(static/portal/help/edit-order.png, HELP_SCREENSHOT=1).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from delivery.services import destination_set_webhook
from orders.services import (
    LineQuantity,
    order_lines_cancel,
    order_set_status,
    order_shipment_create,
)
from suppliers.services import api_token_create
from testsupport.browser import (
    PASSWORD,
    SIZES,
    login,
    run_in_browser,
    screenshot,
    sideways_overflow,
    watch_csp,
)
from testsupport.factories import make_supplier_user, place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HELP_SHOT = Path(django_settings.BASE_DIR) / "static" / "portal" / "help" / "edit-order.png"
LONG_HOOK_PATH = "/hooks/orders-for-acme-home-goods/with-a-long-path?token=" + "a1b2c3d4" * 8


@pytest.fixture
def world(acme, retailer, live_server, settings, http_receiver, email_via_smtp, tasks_inline):
    """A supplier with every kind of order and delivery a page can show: placed today, days
    ago and overdue, part cancelled, part shipped, cancelled, shipped; a webhook that fails
    (retrying, and one failed for good); an API token; a staff user without a supplier."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.DELIVERY_RETRY_SCHEDULE = [3600, 3600]
    http_receiver.default.status = 500
    make_supplier_user(supplier=acme, username="ann")
    get_user_model().objects.create_user(
        username="olga-ops", password=PASSWORD, is_staff=True, email="olga@hub.example"
    )
    now = timezone.now()
    orders = []
    names = [
        "Zed Quinlan",
        "Ann Lee",
        "Ben Okafor",
        "Cara Jones",
        "Dev Patel",
        "Maximiliana Featherstonehaugh-Wolfeschlegel",
    ]
    for index, name in enumerate(names):
        if index == 1:
            # The webhook is on from the second order: the first has only its email.
            destination_set_webhook(supplier=acme, url=http_receiver.url + LONG_HOOK_PATH)
        orders += place_order(
            retailer=retailer,
            reference=f"SHOP-{1000 + index}",
            customer={
                "name": name,
                "email": f"{name.split()[0].lower()}.with.a.long.address@customer-mail.example",
            },
            lines=[{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-003", "quantity": 1}],
            # Three placed today, three days ago (overdue: not acknowledged in 24 hours).
            placed_at=(now - timedelta(days=3 if index % 2 else 0)).isoformat(),
        )
    settings.DELIVERY_RETRY_SCHEDULE = []  # the next order's webhook fails for good
    orders += place_order(
        retailer=retailer,
        reference="SHOP-FAILED",
        lines=[{"sku": "ACME-002", "quantity": 2}],
    )
    settings.DELIVERY_RETRY_SCHEDULE = [3600, 3600]
    cancelled, part_cancelled, part_shipped, shipped = orders[2], orders[3], orders[4], orders[5]
    order_set_status(
        order=cancelled,
        status="cancelled",
        actor="ops",
        reason="out_of_stock",
        note="Out of stock until March",
    )
    order_lines_cancel(
        order=part_cancelled,
        actor="ops",
        reason="discontinued",
        note="ACME-003 is no longer made",
        lines=[LineQuantity(line=2, quantity=1)],
    )
    order_shipment_create(
        order=part_shipped,
        actor="ops",
        carrier="DPD",
        tracking_number="DPD-0001",
        lines=[LineQuantity(line=1, quantity=2)],
    )
    order_set_status(order=shipped, status="processing", actor="ops")
    order_set_status(
        order=shipped, status="shipped", actor="ops", carrier="UPS", tracking_number="1Z999"
    )
    api_token_create(supplier=acme, name="Warehouse system (nightly sync)", can_update=True)
    return {"url": live_server.url, "orders": orders, "open": orders[0]}


def _pages(world) -> list[tuple[str, str]]:
    open_number = world["open"].number
    cancelled_number = world["orders"][2].number
    return [
        ("order-history", "/orders/"),
        ("order-history-filtered", "/orders/?status=placed&q=with.a.long"),
        ("order-history-empty", "/orders/?status=shipped&q=Quinlan"),
        ("order", f"/orders/{open_number}/"),
        ("order-cancelled", f"/orders/{cancelled_number}/"),
        ("edit", f"/orders/{open_number}/edit/"),
        ("cancel-items", f"/orders/{open_number}/cancel-items/"),
        ("ship", f"/orders/{open_number}/ship/"),
        ("updates", "/orders/updates/"),
        ("deliveries", "/deliveries/"),
        ("deliveries-attention", "/deliveries/?status=attention"),
        ("settings", "/settings/"),
        ("formats", "/settings/formats/"),
        ("api-tokens", "/settings/api-tokens/"),
        ("password", "/accounts/password_change/"),
        ("help", "/help/"),
    ]


def _assert_fits(page, where: str) -> None:
    overflow = sideways_overflow(page)
    assert overflow is None, f"{where} scrolls sideways: {overflow}"


def _look(page, *, name: str, size: str, problems: list[str]) -> None:
    overflow = sideways_overflow(page)
    if overflow is not None:
        problems.append(f"{name} at {size}: {overflow}")
    screenshot(page, name=name, size=size)


def _upload_update_file(page, base: str, number: str, size: str, problems: list[str]) -> None:
    """The updates page's upload, its preview (the update file page) and its errors."""
    page.goto(base + "/orders/updates/")
    page.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": f"updates-from-the-warehouse-{size}.csv",
                "mimeType": "text/csv",
                "buffer": (
                    "order_number,action,line,quantity,reason,note,carrier,tracking_number\n"
                    f"{number},acknowledge,,,,,,\n"
                    f"{number},cancel,9,1,out_of_stock,There is no line nine on this order,,\n"
                ).encode(),
            }
        ]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("#preview-summary")
    _look(page, name="update-file-preview", size=size, problems=problems)


def test_every_page_fits_both_screens(world):
    base = world["url"]
    pages = _pages(world)
    problems: list[str] = []
    csp: list[str] = []
    first_screen: dict[str, float] = {}

    def steps(browser):
        for size, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            watch_csp(page, csp)
            page.goto(base + "/accounts/login/?next=/orders/")
            _look(page, name="login", size=size, problems=problems)
            login(page, base, "ann")
            page.wait_for_url(base + "/orders/")
            for name, path in pages:
                response = page.goto(base + path)
                assert response.status < 500, f"{path}: HTTP {response.status}"
                _look(page, name=name, size=size, problems=problems)
            _upload_update_file(page, base, world["open"].number, size, problems)

            page.goto(base + "/orders/")
            if size == "phone":
                # The menu is folded away behind one button, and opens on a tap.
                menu_link = page.locator("header nav").get_by_role("link", name="Deliveries")
                assert not menu_link.is_visible()
                page.locator("#menu-button").click()
                assert menu_link.is_visible()
                _look(page, name="menu-open", size=size, problems=problems)
                page.locator("#menu-button").click()
                # The filters too; the first order is on the first screen.
                assert not page.get_by_label("Search").is_visible()
                box = page.locator("table.orders tbody tr").first.bounding_box()
                first_screen["bottom"] = box["y"] + box["height"]
                page.locator("#filters-button").click()
                assert page.get_by_label("Search").is_visible()
                _look(page, name="order-history-filters-open", size=size, problems=problems)
            else:
                assert page.get_by_label("Search").is_visible()
                assert not page.locator("#menu-button").is_visible()

            # The logout address typed: a question in the layout, logging nobody out yet.
            page.goto(base + "/accounts/logout/")
            assert page.locator("main h1").inner_text() == "Log out?"
            _look(page, name="logout", size=size, problems=problems)
            page.locator("main").get_by_role("link", name="Stay logged in").click()
            page.wait_for_url(base + "/orders/")

            # Logged out: the page says so.
            if size == "phone":
                page.locator("#menu-button").click()
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(base + "/accounts/logged-out/")
            assert "You are logged out" in page.locator("main").inner_text()
            _look(page, name="logged-out", size=size, problems=problems)

            # A staff user without a supplier: no supplier menu, a way to admin.
            login(page, base, "olga-ops")
            page.goto(base + "/orders/")
            if size == "phone":
                page.locator("#menu-button").click()
            nav = page.locator("header nav").inner_text()
            assert "Order history" not in nav and "Deliveries" not in nav
            assert "Admin" in nav and "Help" in nav
            _look(page, name="staff-without-supplier", size=size, problems=problems)
            context.close()

    run_in_browser(steps)
    assert problems == []
    assert csp == []
    assert first_screen["bottom"] <= SIZES["phone"]["height"], first_screen


def _card_numbers(page) -> dict[str, tuple[int, str]]:
    cards = {}
    for card in page.locator("ul.stats li a").all():
        count = int(card.locator(".stat-n").inner_text().replace(",", ""))
        cards[card.locator(".stat-l").inner_text()] = (count, card.get_attribute("href"))
    return cards


def test_each_card_counts_the_rows_its_link_lists(world):
    base = world["url"]
    seen: dict[str, tuple[int, int, str]] = {}

    def steps(browser):
        page = browser.new_page(viewport=SIZES["laptop"])
        login(page, base, "ann")
        page.wait_for_url(base + "/orders/")
        for words, (count, href) in _card_numbers(page).items():
            page.goto(base + "/orders/" + href if href.startswith("?") else base + href)
            if "/deliveries/" in href:
                rows = page.locator("table.deliveries-table tbody tr").count()
                assert page.locator("#failures-h").is_visible()
            else:
                rows = page.locator("table.orders tbody tr").count()
                # The page says how many match, the same number.
                said = page.locator("#result-count").inner_text()
                assert re.match(rf"{count} orders?\b", said), said
            seen[words] = (count, rows, href)

    run_in_browser(steps)
    assert set(seen) == {
        "placed today",
        "awaiting processing",
        "overdue (not acknowledged)",
        "failing deliveries",
    }
    for words, (count, rows, href) in seen.items():
        assert count == rows, f"the card “{words}” says {count}; {href} lists {rows}"
    # Each card counts something here, so the equalities above say something.
    assert all(count > 0 for count, _, _ in seen.values()), seen


def test_help_page_picture_of_the_edit_page(world, tmp_path):
    """The picture /help/ shows: the edit page with a cancellation filled in. Made here on
    every run (so the page it shows still works); `make screenshots` (HELP_SCREENSHOT=1)
    writes it over the committed static/portal/help/edit-order.png."""
    base = world["url"]
    number = world["open"].number
    shot = HELP_SHOT if os.environ.get("HELP_SCREENSHOT") else tmp_path / "edit-order.png"

    def steps(browser):
        page = browser.new_page(viewport={"width": 760, "height": 700})
        login(page, base, "ann")
        page.goto(f"{base}/orders/{number}/edit/")
        page.get_by_label("New status").select_option("cancelled")
        page.get_by_label("Cancellation reason").select_option("out_of_stock")
        page.get_by_label("Note").fill("Out of stock until March, sorry")
        page.evaluate("document.activeElement.blur()")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.locator("main").screenshot(path=str(shot), scale="css")
        # The help page shows the committed picture. It loads lazily (loading="lazy"): how
        # far below the fold Chromium fetches it depends on its estimate of the network, so
        # it is scrolled to, as a reader would, and waited for.
        page.goto(f"{base}/help/")
        picture = page.locator("#edit-shot")
        picture.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => { const img = document.getElementById('edit-shot');"
            " return img.complete && img.naturalWidth > 0; }"
        )
        assert picture.evaluate("img => img.naturalWidth") > 0

    run_in_browser(steps)
    assert 0 < shot.stat().st_size < 150_000
    assert HELP_SHOT.is_file()
