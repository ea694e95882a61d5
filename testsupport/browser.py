"""Debian's Chromium, headless, driven by Playwright's sync API in a thread of its own."""

from __future__ import annotations

import threading

from testsupport.executables import CHROMIUM_ARGS, chromium_executable


def run_in_browser(steps, *, timeout: float = 240) -> None:
    """Run `steps(browser)` in its own thread (Playwright's sync API wants no running event
    loop, and pytest-django's live server or an async fixture may have one); re-raise what
    it raised."""
    executable = chromium_executable()
    errors: list[BaseException] = []

    def target():
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    steps(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the browser steps did not finish"
    if errors:
        raise errors[0]
