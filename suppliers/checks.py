"""Checks of the settings suppliers reads (tagged "settings": common/checks.py enforces them)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core import checks

from common.checks import TAG

_RATE = re.compile(r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)")


@checks.register(TAG)
def password_reset_rates_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The password-reset limits (suppliers/password_reset.py), per address and per email."""
    return [
        checks.Error(f"{name} must be a rate such as '5/hour' or '3/day'.", id="suppliers.E001")
        for name in ("PASSWORD_RESET_ADDRESS_RATE", "PASSWORD_RESET_EMAIL_RATE")
        if not _RATE.fullmatch(str(getattr(settings, name)))
    ]
