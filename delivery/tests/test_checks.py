"""Delivery's settings checks (delivery/checks.py): fire on a bad value, silent on the default."""

import pytest

from delivery.checks import dispatch_mode_check


@pytest.mark.parametrize("mode", ["listener", "inline"])
def test_silent_on_either_mode(settings, mode):
    settings.DELIVERY_DISPATCH = mode
    assert dispatch_mode_check() == []


@pytest.mark.parametrize("mode", ["", "Inline", "celery"])
def test_another_dispatch_mode_is_refused(settings, mode):
    settings.DELIVERY_DISPATCH = mode
    [error] = dispatch_mode_check()
    assert error.id == "delivery.E001"
    assert error.msg == "DELIVERY_DISPATCH must be 'listener' or 'inline'."
