"""An update file in a real browser (Chromium via Playwright) against a live server: upload,
preview, apply, download the result."""

from __future__ import annotations

import csv
import io

import pytest

from orders.models import Order, UpdateFile

from .test_portal_browser import _login, _watch_csp, portal, run_in_browser, smtp_inbox  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_preview_apply_and_download_the_result(portal, tmp_path):  # noqa: F811
    base = portal["url"]
    first, second, _ = portal["orders"]
    path = tmp_path / "tuesday.csv"
    path.write_text(
        "order_number;action;line;quantity;reason;note;carrier;tracking_number\n"
        f"{first.number};ship;1;2;;;UPS;1Z42\n"
        f"{first.number};ship;2;;;;UPS;1Z42\n"
        f"{second.number};cancel;1;1;out_of_stock;One short;;\n"
        f"{second.number};cancel;7;1;out_of_stock;No such line;;\n",
        encoding="utf-8-sig",
    )
    downloaded = tmp_path / "result.csv"
    csp_violations: list[str] = []

    def steps(browser):
        page = browser.new_page(accept_downloads=True)
        _watch_csp(page, csp_violations)
        _login(page, base)
        page.get_by_role("link", name="Upload updates").click()
        page.wait_for_url(base + "/orders/updates/")
        page.get_by_label("CSV file").set_input_files(str(path))
        page.get_by_role("button", name="Upload and preview").click()
        page.wait_for_selector("#preview-summary")
        summary = page.locator("#preview-summary").inner_text()
        assert "nothing has changed yet" in summary and "3 would apply" in summary
        assert f"Order {second.number} has no line 7." in page.locator("table").inner_text()
        page.get_by_role("button", name="Apply").click()
        page.wait_for_selector("#result-summary")
        with page.expect_download() as info:
            page.get_by_role("link", name="Download the result CSV").click()
        info.value.save_as(downloaded)

    run_in_browser(steps)
    assert csp_violations == []
    # As the file came: a BOM and semicolons (Excel in a semicolon locale opens it so).
    assert downloaded.read_bytes().startswith(b"\xef\xbb\xbfrow;order_number;action;")
    rows = list(
        csv.DictReader(io.StringIO(downloaded.read_text(encoding="utf-8-sig")), delimiter=";")
    )
    assert [(r["row"], r["result"]) for r in rows] == [
        ("2", "applied"),
        ("3", "applied"),
        ("4", "applied"),
        ("5", "error"),
    ]
    assert Order.objects.get(pk=first.pk).status == "shipped"
    assert [li.quantity_cancelled for li in Order.objects.get(pk=second.pk).lines.all()] == [1, 0]
    assert UpdateFile.objects.get().applied_count == 3


def test_a_file_a_worker_is_applying_shows_its_progress_then_its_result(portal, tmp_path):  # noqa: F811
    """Opened while a worker applies it, the page says how far it has got (portal.js polls
    progress.json) and shows the result by itself when the worker is done."""
    import threading

    from django.db import connection

    from orders.updates import update_file_claim, update_file_run

    base = portal["url"]
    first, second, _ = portal["orders"]
    path = tmp_path / "wednesday.csv"
    path.write_text(
        f"order_number,action\n{first.number},acknowledge\n{second.number},acknowledge\n",
        encoding="utf-8",
    )
    csp_violations: list[str] = []

    def upload(browser):
        page = browser.new_page()
        _login(page, base)
        page.goto(base + "/orders/updates/")
        page.get_by_label("CSV file").set_input_files(str(path))
        page.get_by_role("button", name="Upload and preview").click()
        page.wait_for_selector("#preview-summary")

    run_in_browser(upload)
    update_file = UpdateFile.objects.get()
    update_file_claim(update_file=update_file)  # a worker took it

    def worker_finishes():
        # The browser's thread runs an event loop, where the ORM may not: a thread of its own.
        try:
            update_file_run(update_file_id=update_file.pk)
        finally:
            connection.close()

    def watch(browser):
        page = browser.new_page()
        _watch_csp(page, csp_violations)
        _login(page, base)
        page.goto(f"{base}/orders/updates/{update_file.pk}/")
        assert "Being applied: 0 of 2 rows" in page.locator("#apply-status").inner_text()
        worker = threading.Thread(target=worker_finishes)
        worker.start()
        worker.join()
        page.wait_for_selector("#result-summary", timeout=10_000)
        assert "2 applied" in page.locator("#result-summary").inner_text()

    run_in_browser(watch)
    assert csp_violations == []
    assert all(o.acknowledged_at for o in Order.objects.filter(pk__in=[first.pk, second.pk]))
