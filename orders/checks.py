"""Checks of the settings orders reads (tagged "settings": common/checks.py enforces them)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from common.checks import TAG

# DRF's own reading of a throttle rate (SimpleRateThrottle.parse_rate): "600/min", "5/hour".
_DRF_PERIODS = ("s", "m", "h", "d")


@checks.register(TAG)
def supplier_api_settle_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The supplier API's no-gap promise (orders/transactions.py): an order is listed only once
    it is SUPPLIER_API_SETTLE_SECONDS old, which must cover a write's whole bound."""
    errors = []
    bound = settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS
    if bound <= 0:
        errors.append(
            checks.Error("ORDERS_TRANSACTION_TIMEOUT_SECONDS must be positive.", id="orders.E001")
        )
    if settings.SUPPLIER_API_SETTLE_SECONDS <= 2 * bound:
        errors.append(
            checks.Error(
                "SUPPLIER_API_SETTLE_SECONDS must be more than twice "
                "ORDERS_TRANSACTION_TIMEOUT_SECONDS, or a slow write could commit after the "
                "supplier API has listed its window.",
                id="orders.E002",
            )
        )
    return errors


@checks.register(TAG)
def api_rates_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The API throttles' rates (SUPPLIER_API_RATE, RETAILER_API_RATE): one that DRF cannot
    read would fail every API request instead of the start."""
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    names = {"supplier_token": "SUPPLIER_API_RATE", "retailer_key": "RETAILER_API_RATE"}
    return [
        checks.Error(
            f"{names.get(scope, scope)} must be a rate such as '600/min' (got {rate!r}).",
            id="orders.E003",
        )
        for scope, rate in rates.items()
        if rate is not None and not _drf_rate(rate)
    ]


def _drf_rate(rate) -> bool:
    parts = rate.split("/") if isinstance(rate, str) else []
    if len(parts) != 2 or not parts[1] or parts[1][0] not in _DRF_PERIODS:
        return False
    try:
        return int(parts[0]) >= 0
    except ValueError:
        return False
