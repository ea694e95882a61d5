"""Common's settings check and the enforcement every process start uses (common/checks.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.checks import proxy_count_check, settings_checks_enforce


def test_silent_on_the_default():
    assert proxy_count_check() == []
    settings_checks_enforce()  # nothing raised


def test_a_negative_proxy_count_is_refused(settings):
    settings.PROXY_COUNT = -1
    [error] = proxy_count_check()
    assert (error.id, error.msg) == ("common.E001", "PROXY_COUNT must be 0 or more.")


def test_enforcement_names_every_settings_error(settings):
    settings.PROXY_COUNT = -1
    settings.DELIVERY_DISPATCH = "celery"
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_checks_enforce()
    assert "PROXY_COUNT must be 0 or more. (common.E001)" in str(refused.value)
    assert "DELIVERY_DISPATCH must be 'listener' or 'inline'. (delivery.E001)" in str(refused.value)
