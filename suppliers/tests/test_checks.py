"""Suppliers' settings checks (suppliers/checks.py): fire on a bad rate, silent on the default."""

import pytest

from suppliers.checks import password_reset_rates_check


def test_silent_on_the_defaults():
    assert password_reset_rates_check() == []


@pytest.mark.parametrize("name", ["PASSWORD_RESET_ADDRESS_RATE", "PASSWORD_RESET_EMAIL_RATE"])
@pytest.mark.parametrize("rate", ["", "5", "5/week", "five/hour", "5/hours"])
def test_a_reset_rate_that_is_not_one_is_refused_naming_it(settings, name, rate):
    setattr(settings, name, rate)
    [error] = password_reset_rates_check()
    assert error.id == "suppliers.E001"
    assert error.msg == f"{name} must be a rate such as '5/hour' or '3/day'."


@pytest.mark.parametrize("rate", ["5/hour", "3/day", "10/min", "1/s", "2/second"])
def test_reset_rates_pass(settings, rate):
    settings.PASSWORD_RESET_EMAIL_RATE = rate
    assert password_reset_rates_check() == []
