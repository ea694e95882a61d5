"""The real browser for portal tests: Debian's Chromium driven by Playwright, in a thread.

`run_in_browser(steps)` launches Chromium and calls `steps(browser)`; Playwright's sync API
wants no running event loop, so it runs in a thread of its own. The helpers below are what
the layout tests ask of every page: its sideways scroll, and a screenshot under
`SCREENSHOTS_DIR` when `make screenshots` sets it.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from testsupport.executables import CHROMIUM_ARGS, chromium_executable

PASSWORD = "Corr3ct-Horse-Battery"

# The two sizes every portal page is looked at: a laptop and a phone (iPhone 12-15).
LAPTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"laptop": LAPTOP, "phone": PHONE}


def run_in_browser(steps, *, timeout: float = 600) -> None:
    """Run `steps(browser)` in its own thread and re-raise what it raised."""
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


def login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def watch_csp(page, violations: list[str]) -> None:
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )


def sideways_overflow(page) -> dict | None:
    """None when the page is no wider than its viewport; else the widths and the widest
    elements that stick out (to say what to fix)."""
    return page.evaluate(
        """() => {
          const vw = document.documentElement.clientWidth;
          const sw = document.documentElement.scrollWidth;
          if (sw <= vw) return null;
          const out = [];
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > vw + 1 && r.width > 0) {
              const cls = typeof el.className === 'string' && el.className
                ? '.' + el.className.split(' ').join('.') : '';
              const id = el.id ? '#' + el.id : '';
              out.push(el.tagName.toLowerCase() + id + cls + ' right=' + Math.round(r.right));
            }
            if (out.length >= 8) break;
          }
          return {viewport: vw, scroll: sw, sticking_out: out};
        }"""
    )


def screenshots_dir() -> Path | None:
    """Where `make screenshots` wants them (SCREENSHOTS_DIR); None in a plain test run."""
    target = os.environ.get("SCREENSHOTS_DIR", "")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page, *, name: str, size: str) -> None:
    """A full-page screenshot as SCREENSHOTS_DIR/<name>-<size>.png, when asked for."""
    target = screenshots_dir()
    if target is None:
        return
    safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(target / f"{safe}-{size}.png"), full_page=True)


def off_loop(func, *args, **kwargs):
    """Call `func` in a thread of its own and return what it returned: inside the browser
    steps Playwright runs an event loop, where Django refuses database calls."""
    from django.db import connection

    result: list = []
    errors: list[BaseException] = []

    def target():
        try:
            result.append(func(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), f"{func} did not finish"
    if errors:
        raise errors[0]
    return result[0]
