"""Template words the portal shares: `{{ code|label:"kind" }}` and `{{ time|when }}`."""

from __future__ import annotations

import re

from django import template
from django.utils import timezone

from common.labels import label as label_of
from common.labels import when_day, when_text

register = template.Library()


@register.filter
def label(code, kind: str) -> str:
    return label_of(kind, code)


@register.filter
def when(value) -> str:
    return when_text(value)


@register.filter
def when_seconds(value) -> str:
    return when_text(value, seconds=True)


@register.filter
def day(value) -> str:
    return when_day(value)


@register.filter
def datetime_attr(value) -> str:
    """A `<time datetime>` value: ISO 8601 to the second, in the portal's zone. Django's
    `date:'c'` writes microseconds, and HTML allows 1 to 3 digits of a second there."""
    if not value:
        return ""
    return timezone.localtime(value).isoformat(timespec="seconds")


# HTML's "valid floating-point number", the only values an <input type=number> may carry.
_HTML_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


@register.filter
def number_value(value) -> str:
    """The value of an `<input type=number>`: what was typed (stripped, as the form read it)
    if it is a number, else empty (the field's error says what was wrong; a browser would
    empty it anyway)."""
    text = "" if value is None else str(value).strip()
    return text if _HTML_NUMBER.fullmatch(text) else ""


@register.simple_tag
def portal_zone() -> str:
    """The portal's zone by name, e.g. "Europe/London"."""
    return str(timezone.get_current_timezone())
