"""The monthly summary's email on a phone (issue 16): its wide tables scroll inside
themselves, the page never sideways, in the real Chromium at 390 px; it names the platform
and links to SITE_URL only."""

from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _body,
    _settled,
    month_data_fixture,
    run,
    smtp_fixture,
)
from testsupport.browser import run_in_browser
from testsupport.htmlcheck import links_of


def test_the_summary_email_fits_a_phone_and_links_to_site_url(month_data, smtp, settings):
    settings.SITE_URL = "https://orders.example.test"
    settings.PLATFORM_NAME = "Dropship Hub"
    run("--month", "2026-07")
    by_rcpt = {m.rcpt_tos[0]: m for m in _settled(smtp, 3)}
    html = _body(by_rcpt["buyers@shopco.example"], "html")
    text = _body(by_rcpt["buyers@shopco.example"], "plain")
    assert "Dropship Hub" in html and "Dropship Hub" in text
    hrefs = links_of(html)
    assert hrefs and all(h.startswith("https://orders.example.test/") for h in hrefs)
    seen = {}

    def steps(browser):
        for width in (390, 1366):
            page = browser.new_page(viewport={"width": width, "height": 844})
            page.set_content(html, wait_until="load")
            seen[width] = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert "Commission due" in page.inner_text("body")
            page.close()

    run_in_browser(steps)
    for width, (scroll, client) in seen.items():
        assert scroll <= client == width, f"the summary at {width}px scrolls sideways ({scroll})"
