"""Orders' settings checks (orders/checks.py): each fires on a bad value, silent on the default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from orders.checks import api_rates_check, supplier_api_settle_check

BASE_DIR = Path(__file__).resolve().parents[2]


def test_silent_on_the_defaults():
    assert supplier_api_settle_check() == []
    assert api_rates_check() == []


def test_a_settle_time_too_short_for_the_write_bound_is_refused(settings):
    settings.SUPPLIER_API_SETTLE_SECONDS, settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 6, 3
    [error] = supplier_api_settle_check()
    assert error.id == "orders.E002"
    assert "SUPPLIER_API_SETTLE_SECONDS must be more than twice" in error.msg
    settings.SUPPLIER_API_SETTLE_SECONDS = 6.5
    assert supplier_api_settle_check() == []


@pytest.mark.parametrize("bound", [0, -1])
def test_a_write_bound_that_is_not_positive_is_refused(settings, bound):
    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = bound
    [error] = supplier_api_settle_check()
    assert (error.id, error.msg) == (
        "orders.E001",
        "ORDERS_TRANSACTION_TIMEOUT_SECONDS must be positive.",
    )


@pytest.mark.parametrize("rate", ["", "600", "600/", "600/week", "many/min", "6/m/x", "-1/min"])
def test_an_api_rate_drf_cannot_read_is_refused_naming_its_setting(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"supplier_token": rate, "retailer_key": "6000/min"},
    }
    [error] = api_rates_check()
    assert error.id == "orders.E003"
    assert error.msg.startswith("SUPPLIER_API_RATE must be a rate such as '600/min'")


@pytest.mark.parametrize("rate", ["600/min", "5/second", "1/h", "10/day", "600/minutes", None])
def test_api_rates_drf_reads_pass(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"supplier_token": "600/min", "retailer_key": rate},
    }
    assert api_rates_check() == []


def test_manage_py_check_refuses_a_bad_settle_time(settings):
    settings.SUPPLIER_API_SETTLE_SECONDS = 5
    with pytest.raises(SystemCheckError, match="SUPPLIER_API_SETTLE_SECONDS must be more than"):
        call_command("check")


def test_settings_from_the_environment_are_refused_by_check_and_by_the_web_process(tmp_path):
    """The values come from the environment, as in production: `manage.py check` exits non-zero
    with the message, and so does loading the WSGI application (gunicorn runs no checks)."""

    def run(args, settle: str, bound: str):
        env = {
            **os.environ,
            "DEBUG": "true",
            "VAR_DIR": str(tmp_path),
            "SUPPLIER_API_SETTLE_SECONDS": settle,
            "ORDERS_TRANSACTION_TIMEOUT_SECONDS": bound,
        }
        return subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for args in (["manage.py", "check"], ["-c", "import orders_portal.wsgi"]):
        refused = run(args, "5", "3")
        assert refused.returncode != 0
        assert "SUPPLIER_API_SETTLE_SECONDS must be more than twice" in refused.stderr
        assert "orders.E002" in refused.stderr
        accepted = run(args, "7", "3")
        assert accepted.returncode == 0, accepted.stderr
