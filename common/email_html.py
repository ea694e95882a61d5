"""HTML email: written with one stylesheet, sent with it inlined.

Templates keep their CSS in a `<style>` block; css-inline moves every rule into the
`style` attribute of the elements it matches (what Gmail, Outlook and most clients read)
and keeps the `@media` rules in a `<style>` for the clients that honour them (phones).
Nothing is fetched: a `<link>` to a remote stylesheet is not loaded.
"""

from __future__ import annotations

from functools import lru_cache

import css_inline
from django.conf import settings


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)


def email_html_inline(html: str) -> str:
    """The email's HTML with its stylesheet inlined into its elements."""
    return _inliner().inline(html)


def email_context() -> dict:
    """What every email template may use: the platform's name and its public address."""
    return {
        "platform_name": settings.PLATFORM_NAME,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
