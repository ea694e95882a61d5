"""What every input layer of `orders` accepts as a time and as text, in one place.

The API parameters (api/params.py), the cursors (api/pagination.py and the portal's), the
intake document (intake.py) and the portal's filters (forms.py) all parse through these, so
one rule decides: a value outside it is the caller's error, named, and never reaches the
database (where an out-of-range time overflows on conversion and PostgreSQL refuses a NUL).

Times: ISO 8601 with a UTC offset, from TIME_MIN to TIME_MAX in UTC. The bounds leave a wide
margin inside what Python and both databases hold, so a time converted to any offset, or a
day added to a date, never overflows (year 1 or 9999 with an offset did).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from django.utils.dateparse import parse_datetime

from common.text import text_problem  # noqa: F401 - the orders apps' rule, shared

EXAMPLE = "2026-11-27T10:00:00Z"
TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
DATE_MIN, DATE_MAX = TIME_MIN.date(), TIME_MAX.date()
RANGE_TEXT = "from 1900-01-01T00:00:00Z to 2999-12-31T23:59:59Z"


class InputError(ValueError):
    """A value the caller must correct; the message says how."""


def time_in_range(value: datetime, *, raw: str | None = None) -> datetime:
    """The aware `value` in UTC, or InputError when it lies outside TIME_MIN..TIME_MAX."""
    shown = raw if raw is not None else value.isoformat()
    try:
        utc = value.astimezone(UTC)
    except (ValueError, OverflowError):
        utc = None
    if utc is None or not TIME_MIN <= utc <= TIME_MAX:
        raise InputError(f"'{shown}' is out of range: give a time {RANGE_TEXT}.")
    return utc


def time_parse(raw: str) -> datetime:
    """An ISO 8601 date-time with a UTC offset, as an aware UTC datetime; else InputError."""
    if not isinstance(raw, str):
        raise InputError(f"Give an ISO 8601 date-time with a UTC offset, e.g. {EXAMPLE}.")
    value = raw.strip()
    if not value:
        raise InputError(f"Give an ISO 8601 date-time with a UTC offset, e.g. {EXAMPLE}.")
    problem = text_problem(value)
    if problem:
        raise InputError(f"{problem} Give an ISO 8601 date-time, e.g. {EXAMPLE}.")
    try:
        parsed = parse_datetime(value)
    except (ValueError, OverflowError):
        raise InputError(f"'{raw}' is not a valid date-time, e.g. {EXAMPLE}.") from None
    if parsed is None:
        if re.search(r"\d \d{2}:?\d{2}$", value):
            raise InputError(
                f"'{raw}' is not a valid date-time: a '+' in a URL means a space; "
                "write the offset as %2B01:00, or use Z."
            )
        raise InputError(f"'{raw}' is not an ISO 8601 date-time, e.g. {EXAMPLE}.")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InputError(f"'{raw}' has no UTC offset; add one, e.g. {EXAMPLE} or +01:00.")
    return time_in_range(parsed, raw=raw)


def date_in_range(value: date) -> date:
    """A calendar date (portal filters) within DATE_MIN..DATE_MAX; else InputError."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise InputError(f"Give a date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}.")
    return value
