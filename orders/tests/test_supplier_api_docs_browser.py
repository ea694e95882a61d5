"""The API docs page, as a person opens it in Chromium: it renders, loading nothing from afar."""

import pytest

from testsupport.executables import CHROMIUM_ARGS, chromium_executable


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("page_path", ["/api/docs/", "/api/redoc/"])
def test_docs_render_in_a_browser_from_this_server_only(live_server, page_path, tmp_path):
    chromium = chromium_executable()
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    blocked: list[str] = []
    answered: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on("response", lambda response: answered.append(response.url))
            # Redoc puts its "powered by" logo from its CDN in the page; the page's
            # Content-Security-Policy stops it in the browser, before any network traffic.
            page.on(
                "requestfailed",
                lambda request: blocked.append(request.url) if request.failure == "csp" else None,
            )
            page.goto(live_server.url + page_path)
            # Both UIs show the operations once they have fetched and parsed /api/schema/.
            page.get_by_text("Your orders in a creation window").first.wait_for(
                state="attached", timeout=30000
            )
            assert page.get_by_text("One of your orders by number").count() >= 1
            assert page.get_by_text("Send an order").count() >= 1
            page.screenshot(path=str(tmp_path / "docs.png"))
        finally:
            browser.close()
    assert any(url.endswith("/api/schema/") or "/api/schema/?" in url for url in requested)
    local = (live_server.url, "data:", "blob:")
    assert [u for u in answered if not u.startswith(local)] == []
    assert [u for u in requested if not u.startswith(local) and u not in blocked] == []
