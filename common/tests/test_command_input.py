"""Bad input to an ops command: a non-zero exit with one line naming the option, and nothing
stored; never a traceback (a NUL the database refuses, a date that does not exist, a number
too large for a price, a file that is not text)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection

from common.cli import text_option
from delivery.models import Delivery, Destination
from orders.models import Retailer
from statements.models import MonthlySummary
from suppliers.models import ApiToken, Product
from testsupport.commands import command_refused as refused
from testsupport.commands import command_run as run
from testsupport.processes import database_url_for

User = get_user_model()


def destinations():
    return sorted(
        Destination.objects.values_list(
            "channel", "enabled", "webhook_url", "sftp_host", "sftp_private_key"
        )
    )


# --- the shared check ------------------------------------------------------------------------


def test_text_option_passes_text_and_none_and_names_the_option():
    assert text_option("ERP", option="name", max_length=3) == "ERP"
    assert text_option(None, option="name") is None
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"^name: Null characters"):
        text_option("a\x00", option="name")
    with pytest.raises(CommandError, match=r"^name: at most 3 characters, this one has 4\."):
        text_option("ERPs", option="name", max_length=3)


# --- send_monthly_summaries ------------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "3000-01", "0001-01"])
def test_a_month_out_of_range_is_refused(db, month):
    message = refused("send_monthly_summaries", "--month", month)
    assert message.startswith("--month:") and "out of range" in message
    assert not MonthlySummary.objects.exists()


# --- redeliver -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--since", "2026-02-30", "not a real date"),
        ("--since", "2026-02-30T00:00", "not a real date"),
        ("--until", "2026-02-30T10:00:00Z", "not a real date"),
        ("--until", "2026-13-01", "not a real date"),
        ("--until", "0001-01-01T00:00:00+05:00", "out of range"),
        ("--since", "9999-12-31T23:59:59-05:00", "out of range"),
        ("--since", "2026-01-01\x00", "Null characters"),
    ],
)
def test_redeliver_refuses_a_time_that_does_not_exist(db, option, value, reason):
    message = refused("redeliver", option, value)
    assert message.startswith(f"{option[2:]}:") and reason in message, message
    assert not Delivery.objects.exists()


def test_redeliver_refuses_a_supplier_with_a_nul(db):
    assert refused("redeliver", "--supplier", "ac\x00me").startswith("supplier: Null")


# --- import_products -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("sku,name,price\nX,Y,1e400\n", "line 2: price '1e400' is too large"),
        ("sku,name,price\nX,Y,1e26\n", "line 2: price '1e26' is too large"),
        ("sku,name,price\nX\x00,Y,1\n", "line 2: sku: Null characters"),
        ("sku,name,price\nX,Y\x00,1\n", "line 2: name: Null characters"),
        ("sku,name,price\nX,Y,1\nZ," + "n" * 200_000 + ",1\n", "line 3: not CSV"),
    ],
)
def test_import_products_refuses_the_line_and_stores_nothing(acme, tmp_path, content, reason):
    before = list(Product.objects.order_by("pk").values_list("sku", "name", "price"))
    path = tmp_path / "products.csv"
    path.write_text(content)
    message = refused("import_products", "acme", str(path))
    assert message.startswith(reason), message
    assert list(Product.objects.order_by("pk").values_list("sku", "name", "price")) == before


# --- create_retailer, create_supplier_user, create_api_token ---------------------------------


def test_create_retailer_with_a_nul_in_its_name_is_refused(db):
    message = refused("create_retailer", "x3", "--name", "X\x00", "--email", "a@b.example")
    assert message == "name: Null characters are not allowed."
    assert not Retailer.objects.filter(slug="x3").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["acme", "u\x00", "--email", "a@b.example"], "username"),
        (["acme", "bob", "--email", "a\x00@b.example"], "email"),
        (["acme", "bob", "--email", "a@b.example", "--password", "Long-Pass\x002026"], "password"),
        (["ac\x00me", "bob", "--email", "a@b.example"], "slug"),
    ],
)
def test_create_supplier_user_with_a_nul_is_refused(acme, args, field):
    users = User.objects.count()
    message = refused("create_supplier_user", *args)
    assert message == f"{field}: Null characters are not allowed."
    assert User.objects.count() == users


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("n\x00", "name: Null characters are not allowed."),
        ("n" * 101, "name: at most 100 characters, this one has 101."),
    ],
)
def test_create_api_token_refuses_a_name_it_cannot_keep_whole(acme, name, reason):
    assert refused("create_api_token", "acme", "--name", name) == reason
    assert not ApiToken.objects.exists()


def test_create_api_token_keeps_a_name_of_100_characters(acme):
    run("create_api_token", "acme", "--name", "n" * 100)
    assert ApiToken.objects.get().name == "n" * 100


# --- set_channel -----------------------------------------------------------------------------

SFTP = ["set_channel", "acme", "sftp", "--host", "sftp.example.com", "--username", "u"]
SFTP += ["--path", "/in", "--host-key", "ssh-ed25519 AAAA"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["set_channel", "acme", "webhook", "--url", "https://example.com/\x00"], "url"),
        (
            ["set_channel", "acme", "webhook", "--url", "https://example.com/", "--events", "\x00"],
            "events",
        ),
        ([*SFTP[:4], "h\x00", *SFTP[5:], "--password", "p"], "host"),
        ([*SFTP, "--password", "p", "--format", "csv\x00"], "format"),
        ([*SFTP, "--password", "p\x00"], "password"),
    ],
)
def test_set_channel_with_a_nul_is_refused_naming_the_option(acme, args, field):
    before = destinations()
    assert refused(*args) == f"{field}: Null characters are not allowed."
    assert destinations() == before


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x81garbage", os.urandom(64) + b"\xff\xfe"])
def test_set_channel_with_a_binary_key_file_is_refused(acme, tmp_path, content):
    before = destinations()
    key_file = tmp_path / "key.bin"
    key_file.write_bytes(content)
    message = refused(*SFTP, "--key-file", str(key_file))
    assert message.startswith("key-file:") and "not a text" in message
    assert destinations() == before


# --- as ops see it: manage.py's exit code and stderr -----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_manage_py_exits_non_zero_with_one_line(acme, retailer, tmp_path):
    products = tmp_path / "products.csv"
    products.write_text("sku,name,price\nX,Y,1e400\n")
    env = {**os.environ, "DATABASE_URL": database_url_for(connection.settings_dict)}
    cases = [
        (["send_monthly_summaries", "--month", "9999-12"], "--month: '9999-12' is out of range"),
        (["redeliver", "--since", "2026-02-30"], "since: '2026-02-30' is not a real date"),
        (["import_products", "acme", str(products)], "line 2: price '1e400' is too large"),
        (["create_api_token", "acme", "--name", "n" * 101], "name: at most 100 characters"),
        (["set_channel", "acme", "webhook", "--off"], "channel: acme has no webhook set up"),
        (["set_channel", "acme", "email", "--off", "--port", "22"], "port: --port is not used"),
        (["set_retailer_channel", "shopco", "webhook", "--off"], "channel: shopco has no webhook"),
    ]
    before = destinations()
    for args, reason in cases:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=Path(django_settings.BASE_DIR),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith(f"CommandError: {reason}"), (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not Product.objects.filter(sku="X").exists() and not ApiToken.objects.exists()
    assert destinations() == before


# --- every command, by its base class ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["create_supplier", "zed", "--name", "Z\x00", "--order-email", "z@z.example"], "name"),
        (["sftp_keys", "acme", "--remove", "SHA256:\x00"], "remove"),
        (["set_retailer_channel", "shopco", "webhook", "--url", "https://x.example/\x00"], "url"),
        (["redeliver", "--channel", "email\x00"], "channel"),
        (["list_api_tokens", "ac\udcffme"], "slug"),  # an undecodable byte in argv
    ],
)
def test_any_command_refuses_a_nul_or_a_lone_surrogate_naming_the_option(
    acme, retailer, args, field
):
    """Checked by the commands' base class (common/cli.py), before the command runs."""
    before = (destinations(), list(Delivery.objects.values()), Retailer.objects.count())
    message = refused(*args)
    assert message.startswith(f"{field}: ") and "characters are not allowed" in message
    assert (destinations(), list(Delivery.objects.values()), Retailer.objects.count()) == before
    from suppliers.models import Supplier

    assert not Supplier.objects.filter(slug="zed").exists()


def test_every_project_command_checks_its_text_arguments():
    from django.core.management import get_commands, load_command_class

    from common.cli import ProjectCommand

    ours = {
        name: app
        for name, app in get_commands().items()
        if app in {"common", "delivery", "orders", "orders_portal", "statements", "suppliers"}
    }
    assert len(ours) >= 19
    for name, app in ours.items():
        assert isinstance(load_command_class(app, name), ProjectCommand), name
