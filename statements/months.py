"""Months in TIME_ZONE: their bounds, the last closed one, and the --month a user names."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from orders.inputs import DATE_MAX, DATE_MIN

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)  # whole value (fullmatch), ASCII digits


def month_first_day(value: date) -> date:
    return date(value.year, value.month, 1)


def month_next(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def month_previous(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a month: local midnight on its 1st to local midnight on the next 1st."""
    tz = timezone.get_default_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = month_next(month)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=tz)
    return start, end


def month_last_closed(*, now: datetime | None = None) -> date:
    """The month before the current one, in TIME_ZONE: what the 1st-of-month run summarises."""
    local = timezone.localtime(now or timezone.now())
    return month_previous(month_first_day(local.date()))


def summary_month_parse(*, value: str, now: datetime | None = None) -> date:
    """'YYYY-MM' of a month that has closed (in TIME_ZONE); ValidationError naming --month."""
    match = _MONTH_RE.fullmatch(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValidationError({"month": [f"{value!r} is not a month; use YYYY-MM, e.g. 2026-10."]})
    # The years orders may be placed in (orders.inputs): outside them a month holds no orders,
    # and 9999-12 has no next month to end at (date(10000, 1, 1) does not exist).
    if not DATE_MIN.year <= int(match.group(1)) <= DATE_MAX.year:
        raise ValidationError(
            {
                "month": [
                    f"'{value}' is out of range; give a month from "
                    f"{DATE_MIN:%Y-%m} to {DATE_MAX:%Y-%m}."
                ]
            }
        )
    month = date(int(match.group(1)), int(match.group(2)), 1)
    summary_month_check_closed(month=month, now=now)
    return month


def summary_month_check_closed(*, month: date, now: datetime | None = None) -> None:
    """A month is summarised once it has ended and settled: its figures can no longer change.

    A write stamped just before the month's end may commit up to the settle time later (the
    supplier API's SUPPLIER_API_SETTLE_SECONDS, which covers the write bound twice, commit
    latency and clock skew: orders/checks.py). A run in those seconds missed it for good: an
    order no summary billed, or a cancellation whose commission stayed charged (found in
    review).
    """
    _, end = month_bounds(month)
    now = now or timezone.now()
    if end > now:
        latest = month_last_closed(now=now)
        raise ValidationError(
            {
                "month": [
                    f"{month:%Y-%m} has not ended yet in {settings.TIME_ZONE}; "
                    f"the latest month that can be summarised is {latest:%Y-%m}."
                ]
            }
        )
    settled = end + timedelta(seconds=settings.SUPPLIER_API_SETTLE_SECONDS)
    if settled > now:
        wait = math.ceil((settled - now).total_seconds())
        raise ValidationError(
            {
                "month": [
                    f"{month:%Y-%m} ended less than {settings.SUPPLIER_API_SETTLE_SECONDS:g} s "
                    f"ago and writes stamped before its end may still be committing; run it "
                    f"again in {wait} s."
                ]
            }
        )
