"""The one place that turns codes into people's words: `label("order_status", "placed")`,
and times into the portal's one format: `when_text(t)`.

Each app registers the kinds it owns from its AppConfig.ready() (orders: statuses, reasons,
event types; delivery: channels, purposes, delivery states, channel errors), so the words
stay next to the codes' `TextChoices` and every page, CSV export, timeline and error reads
them from here. A kind is a mapping (code -> words) or a function (code -> words).

An unknown code reads as itself with its underscores turned into spaces, capitalised
("cannot_ship" -> "Cannot ship"): never a raw snake_case word, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from django.utils import timezone

_KINDS: dict[str, Mapping[str, str] | Callable[[str], str]] = {}


def labels_register(
    kind: str, words: Mapping[str, str] | Iterable[tuple[str, str]] | Callable[[str], str]
) -> None:
    """Register (or replace) the words of one kind of code: a mapping, `TextChoices.choices`
    (pairs) or a function."""
    _KINDS[kind] = words if callable(words) else {str(k): str(v) for k, v in dict(words).items()}


def _fallback(code: str) -> str:
    text = str(code).replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def label(kind: str, code) -> str:
    """The words for `code` of `kind`; "" for an empty code."""
    if code in (None, ""):
        return ""
    words = _KINDS.get(kind)
    if words is None:
        return _fallback(code)
    if callable(words):
        return words(str(code))
    return words.get(str(code)) or _fallback(code)


def label_kinds() -> list[str]:
    return sorted(_KINDS)


# One format for every time the portal shows: "1 Dec 2026, 09:30 GMT" in the portal's zone
# (TIME_ZONE), the zone's abbreviation named; `when_seconds` adds seconds (timelines).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when_text(value: datetime | None, *, seconds: bool = False) -> str:
    """A time as the portal shows it; "" for none. Also for rows built in Python (ORDER
    HISTORY's), so it is plain string formatting: 50 rows through `dateformat` cost more."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    clock = f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"
    zone = value.tzname() or ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}, {clock} {zone}".rstrip()


def when_day(value) -> str:
    """A date as the portal shows it (and its date inputs read): "1 Dec 2026"."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
