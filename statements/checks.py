"""Checks of the settings statements reads (tagged "settings": common/checks.py enforces them)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from common.checks import TAG


@checks.register(TAG)
def batch_orders_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The order budget of a summary run's batches (statements/batches.py)."""
    if settings.SUMMARY_BATCH_ORDERS < 1:
        return [checks.Error("SUMMARY_BATCH_ORDERS must be positive.", id="statements.E001")]
    return []
