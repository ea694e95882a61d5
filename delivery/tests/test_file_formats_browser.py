"""Format previews in a real browser (Debian's Chromium via Playwright, live server): ops make
a format in admin and preview it for the sample and a real order; the supplier previews it in
the portal, for its own orders only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from orders.tests.test_portal_browser import _login
from testsupport.browser import PASSWORD, run_in_browser
from testsupport.browser import watch_csp as _watch_csp
from testsupport.factories import make_supplier_user, place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(acme, bolt, retailer, live_server):
    get_user_model().objects.create_superuser("ops", "ops@example.com", PASSWORD)
    make_supplier_user(supplier=acme, username="ann")
    [mine] = place_order(
        retailer=retailer,
        shipping_address={
            "name": "Ann Lee",
            "line1": "1 High St",
            "line2": "",
            "city": "Boston",
            "region": "MA",
            "postcode": "02134",
            "country": "US",
        },
    )
    [theirs] = place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])
    return {"url": live_server.url, "mine": mine, "theirs": theirs}


def test_admin_and_portal_previews(site):
    base, mine, theirs = site["url"], site["mine"], site["theirs"]
    csp_violations: list[str] = []

    def admin_steps(page):
        page.goto(base + "/admin/login/?next=/admin/delivery/fileformat/")
        page.locator("#id_username").fill("ops")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("input[type=submit]").click()
        page.wait_for_url(base + "/admin/delivery/fileformat/")
        assert "csv" in page.locator("#builtin-formats").inner_text()
        page.goto(base + "/admin/delivery/fileformat/add/")
        page.locator("#id_name").fill("acme-pipe")
        page.locator("#id_kind").select_option("delimited")
        page.locator("#id_columns").fill(
            "Order No = number\nZip = shipping_address.postcode\nline.sku"
        )
        page.locator("#id_delimiter").fill("|")
        page.locator("#id_quoting").select_option("all")
        page.locator("#id_file_name_pattern").fill("PO_{number}.{ext}")
        page.locator("input[name=_continue]").click()
        page.wait_for_url("**/change/")
        assert page.locator(".preview-file-name").inner_text() == "PO_SAMPLE-0001.csv"
        assert '"Order No"|"Zip"|"line.sku"' in page.locator("pre.preview").inner_text()
        page.get_by_role("link", name="Preview with a real order").click()
        page.locator("#order").fill(mine.number)
        page.get_by_role("button", name="Preview").click()
        page.wait_for_url(f"**order={mine.number}")
        assert page.locator(".preview-file-name").inner_text() == f"PO_{mine.number}.csv"
        assert f'"{mine.number}"|"02134"|"ACME-001"' in page.locator("pre.preview").inner_text()

    def portal_steps(page):
        _watch_csp(page, csp_violations)
        _login(page, base)
        page.goto(base + "/settings/")
        page.get_by_role("link", name="File formats and previews").click()
        page.wait_for_url(base + "/settings/formats/")
        assert "on" in page.locator("#neutralise-choice").inner_text()
        page.get_by_label("Format", exact=True).select_option("acme-pipe")
        page.get_by_label("Order number").fill(mine.number)
        page.get_by_role("button", name="Preview").click()
        page.wait_for_url(f"**order={mine.number}")
        assert page.locator(".preview-file-name").inner_text() == f"PO_{mine.number}.csv"
        assert f'"{mine.number}"|"02134"|"ACME-001"' in page.locator("pre.preview").inner_text()
        # The built-in CSV, for the sample order.
        page.get_by_label("Format", exact=True).select_option("csv")
        page.get_by_label("Order number").fill("")
        page.get_by_role("button", name="Preview").click()
        page.wait_for_url("**format=csv**")
        assert page.locator(".preview-file-name").inner_text() == "SAMPLE-0001.csv"
        assert page.locator("pre.preview").inner_text().startswith("order_number,placed_at,")
        # Another supplier's order is not found, and nothing of it is shown.
        page.get_by_label("Order number").fill(theirs.number)
        page.get_by_role("button", name="Preview").click()
        page.wait_for_url(f"**order={theirs.number}")
        assert f"You have no order {theirs.number}" in page.locator(".errorbox").inner_text()
        assert page.locator("pre.preview").count() == 0

    def steps(browser):
        admin_steps(browser.new_context().new_page())
        portal_steps(browser.new_context().new_page())

    run_in_browser(steps)
    assert csp_violations == []
