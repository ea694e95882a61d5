"""Statements' settings checks (statements/checks.py): fire on a bad value, silent on the
default."""

import pytest

from statements.checks import batch_orders_check


def test_silent_on_the_default():
    assert batch_orders_check() == []


@pytest.mark.parametrize("budget", [0, -5])
def test_a_batch_budget_below_one_is_refused(settings, budget):
    settings.SUMMARY_BATCH_ORDERS = budget
    [error] = batch_orders_check()
    assert error.id == "statements.E001"
    assert error.msg == "SUMMARY_BATCH_ORDERS must be positive."
