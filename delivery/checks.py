"""Checks of the settings delivery reads (tagged "settings": common/checks.py enforces them)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from common.checks import TAG


@checks.register(TAG)
def dispatch_mode_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Who dispatches committed events (delivery/receivers.py): any other value would leave
    every event to the sweeper."""
    if settings.DELIVERY_DISPATCH not in ("listener", "inline"):
        return [
            checks.Error("DELIVERY_DISPATCH must be 'listener' or 'inline'.", id="delivery.E001")
        ]
    return []
