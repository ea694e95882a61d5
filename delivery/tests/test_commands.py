"""Ops commands: create_supplier, set_channel, redeliver, delivery_status.

Bad input changes nothing."""

import io

import paramiko
import pytest
from django.core.management import CommandError, call_command

from delivery.models import Delivery, DeliveryStatus, Destination
from delivery.services import (
    deliveries_process_batch,
    destination_set_webhook,
    webhook_secret_rotate,
)
from delivery.signing import webhook_secret_key
from orders.models import OrderEvent
from suppliers.models import Supplier
from testsupport.commands import command_refused
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def snapshot():
    return sorted(
        Destination.objects.values_list(
            "channel", "enabled", "email_addresses", "webhook_url", "webhook_secret", "sftp_host"
        )
    )


def test_create_supplier_turns_email_on():
    out = run("create_supplier", "dune", "--name", "Dune Paper", "--order-email", "a@dune.example")
    assert "dune" in out
    supplier = Supplier.objects.get(slug="dune")
    (destination,) = Destination.objects.filter(supplier=supplier)
    assert destination.channel == "email" and destination.enabled
    assert destination.email_addresses == "a@dune.example"


def test_create_supplier_bad_email_creates_nothing():
    with pytest.raises(CommandError, match="order_emails"):
        run("create_supplier", "dune", "--name", "Dune", "--order-email", "not-an-address")
    assert not Supplier.objects.exists() and not Destination.objects.exists()


def test_set_channel_email(cole):
    out = run("set_channel", "cole", "email", "--to", "a@cole.example, b@cole.example")
    assert "a@cole.example, b@cole.example" in out
    assert Destination.objects.get(channel="email").email_addresses == (
        "a@cole.example,b@cole.example"
    )


def test_set_channel_webhook_prints_generated_secret_once(cole):
    out = run("set_channel", "cole", "webhook", "--url", "https://hooks.cole.example/in")
    destination = Destination.objects.get(channel="webhook")
    assert destination.webhook_secret.startswith("whsec_")
    assert destination.webhook_secret in out
    assert len(webhook_secret_key(destination.webhook_secret)) >= 24
    # Stored encrypted, never in clear.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_secret FROM delivery_destination WHERE id=%s", [destination.pk]
        )
        (raw,) = cursor.fetchone()
    assert destination.webhook_secret not in raw and raw.startswith("fernet:")
    # Changing the URL keeps the secret and prints none.
    out = run("set_channel", "cole", "webhook", "--url", "https://hooks.cole.example/v2")
    assert "whsec_" not in out
    assert Destination.objects.get(channel="webhook").webhook_secret == destination.webhook_secret


def test_rotate_changes_the_secret(cole):
    destination, secret = destination_set_webhook(supplier=cole, url="https://x.example/h")
    new = webhook_secret_rotate(destination=destination)
    destination.refresh_from_db()
    assert new != secret and destination.webhook_secret == new


def test_set_channel_webhook_given_secret(cole):
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    out = run("set_channel", "cole", "webhook", "--url", "https://x.example/h", "--secret", secret)
    assert secret not in out
    assert Destination.objects.get(channel="webhook").webhook_secret == secret


def run_with_stdin(*args, stdin: str) -> str:
    out = io.StringIO()
    call_command(*args, stdin=io.StringIO(stdin), stdout=out)
    return out.getvalue()


WEBHOOK_SECRET_FROM_STDIN = ("set_channel", "cole", "webhook", "--url", "https://x.example/h")


def test_set_channel_reads_a_secret_or_password_given_as_dash_from_stdin(cole):
    """`--secret -` and `--password -` read the value from standard input (call_command's
    `stdin`, as manage.py's own), so that it never shows in the process list."""
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    out = run_with_stdin(*WEBHOOK_SECRET_FROM_STDIN, "--secret", "-", stdin=secret + "\n")
    assert secret not in out
    assert Destination.objects.get(channel="webhook").webhook_secret == secret

    host_key = paramiko.ECDSAKey.generate()
    run_with_stdin(
        *("set_channel", "cole", "sftp", "--host", "sftp.cole.example", "--username", "cole"),
        *("--password", "-", "--path", "/in"),
        *("--host-key", f"{host_key.get_name()} {host_key.get_base64()}"),
        stdin="s3cret pass\r\n",
    )
    assert Destination.objects.get(channel="sftp").sftp_password == "s3cret pass"


def test_set_channel_with_dash_and_an_empty_stdin_changes_nothing(cole):
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run_with_stdin(*WEBHOOK_SECRET_FROM_STDIN, "--secret", "-", stdin="")
    assert str(excinfo.value).startswith("secret: '-' reads it from standard input")
    assert snapshot() == before


@pytest.mark.parametrize(
    "args, field",
    [
        (["webhook", "--url", "ftp://x.example/"], "url"),
        (["webhook", "--url", "not a url"], "url"),
        (["webhook", "--url", "https://x.example/", "--secret", "abc"], "secret"),
        (["webhook", "--url", "https://x.example/", "--events", "order.exploded"], "event_types"),
        (["email", "--to", "nope"], "to"),
        (["email"], "to"),
        (
            [
                "sftp",
                "--host",
                "h",
                "--username",
                "u",
                "--password",
                "p",
                "--path",
                "/in",
                "--host-key",
                "ssh-ed25519 !!!",
            ],
            "host_key",
        ),
        (
            [
                "sftp",
                "--host",
                "h",
                "--username",
                "u",
                "--path",
                "/in",
                "--host-key",
                "ssh-ed25519 AAAA",
            ],
            "password",
        ),
        (["sftp", "--public-key", "/nonexistent.pub"], "public-key"),
    ],
)
def test_set_channel_bad_input_changes_nothing(cole, args, field):
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run("set_channel", "cole", *args)
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(field)
    assert snapshot() == before


@pytest.mark.parametrize(
    "url, address",
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://[::1]/hook", "::1"),
        ("https://10.0.0.1/hook", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://0x7f000001/hook", "127.0.0.1"),
        ("http://localhost/hook", "127.0.0.1"),
        ("http://[::1%25lo]/hook", "::1%lo"),
        ("http://[fe80::1%25eth0]/hook", "fe80::1%eth0"),
    ],
)
def test_set_channel_refuses_a_webhook_to_a_refused_address(
    cole, settings, no_connections, url, address
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    run("set_channel", "cole", "webhook", "--url", "https://hooks.cole.example/in")
    before = snapshot()
    with pytest.raises(CommandError) as excinfo:
        run("set_channel", "cole", "webhook", "--url", url)
    message = str(excinfo.value)
    assert message.startswith("url") and "not a public internet address" in message
    assert address in message
    assert snapshot() == before


@pytest.mark.parametrize(
    "args, reason",
    [
        # --off for a channel the supplier never set up: nothing to turn off is no success.
        (["webhook", "--off"], "channel: cole has no webhook set up; nothing to turn off."),
        (["sftp", "--off"], "channel: cole has no sftp set up; nothing to turn off."),
        # --off with an option that sets the channel up, even one given as its default.
        (["email", "--off", "--to", ""], "to: --to is not used with --off; give one."),
        (["sftp", "--off", "--port", "22"], "port: --port is not used with --off; give one."),
        (["sftp", "--off", "--format", "csv"], "format: --format is not used with --off;"),
        # Another channel's option, never silently dropped.
        (["email", "--to", "a@cole.example", "--url", "https://x.example/h"], "url: --url is"),
        (["webhook", "--url", "https://x.example/h", "--to", "a@cole.example"], "to: --to is"),
        (["email", "--to", "a@cole.example", "--hosted"], "hosted: --hosted is not used"),
        # --hosted leaves the own server's options unused.
        (["sftp", "--hosted", "--host", "h"], "host: --host is for the supplier's own server"),
        (["sftp", "--hosted", "--updates-path", "in"], "updates-path: --updates-path is for"),
        (["sftp", "--hosted", "--key-file", "/k"], "key-file: --key-file is for"),
    ],
)
def test_set_channel_refuses_an_option_it_would_not_use_and_changes_nothing(
    cole, settings, tmp_path, args, reason
):
    settings.HOSTED_SFTP_ROOT = str(tmp_path)
    before = list(Destination.objects.order_by("pk").values())
    assert command_refused("set_channel", "cole", *args).startswith(reason)
    assert list(Destination.objects.order_by("pk").values()) == before
    assert not (tmp_path / "cole").exists()


def test_set_channel_off_for_an_unknown_supplier(cole):
    before = list(Destination.objects.order_by("pk").values())
    assert command_refused("set_channel", "ghost", "email", "--off") == "slug: no supplier 'ghost'."
    assert list(Destination.objects.order_by("pk").values()) == before


def test_set_channel_unknown_supplier():
    with pytest.raises(CommandError, match="slug: no supplier"):
        run("set_channel", "ghost", "email", "--to", "a@b.example")
    assert not Destination.objects.exists()


def keypair():
    key = paramiko.ECDSAKey.generate()
    text = io.StringIO()
    key.write_private_key(text)
    return key, text.getvalue()


def test_set_channel_sftp_with_key_file(cole, tmp_path):
    host_key, _ = keypair()
    _, private = keypair()
    key_file = tmp_path / "id"
    key_file.write_text(private)
    out = run(
        "set_channel",
        "cole",
        "sftp",
        "--host",
        "sftp.cole.example",
        "--port",
        "2222",
        "--username",
        "drop",
        "--key-file",
        str(key_file),
        "--path",
        "/in",
        "--host-key",
        f"{host_key.get_name()} {host_key.get_base64()}",
        "--every",
        "5",
        "--format",
        "json",
    )
    assert "sftp on" in out
    d = Destination.objects.get(channel="sftp")
    assert (d.sftp_host, d.sftp_port, d.sftp_username, d.sftp_path) == (
        "sftp.cole.example",
        2222,
        "drop",
        "/in",
    )
    assert d.sftp_private_key.strip() == private.strip() and d.sftp_password == ""
    assert d.sftp_interval_minutes == 5 and d.sftp_format == "json"
    assert d.sftp_host_key == f"{host_key.get_name()} {host_key.get_base64()}"


def test_set_channel_sftp_bad_private_key(cole, tmp_path):
    host_key, _ = keypair()
    key_file = tmp_path / "id"
    key_file.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n")
    with pytest.raises(CommandError, match="^private_key"):
        run(
            "set_channel",
            "cole",
            "sftp",
            "--host",
            "h",
            "--username",
            "u",
            "--key-file",
            str(key_file),
            "--path",
            "/in",
            "--host-key",
            f"{host_key.get_name()} {host_key.get_base64()}",
        )
    assert not Destination.objects.filter(channel="sftp").exists()


def test_set_channel_sftp_hosted(cole, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path)
    out = run("set_channel", "cole", "sftp", "--hosted")
    assert "sftp on (hosted)" in out and "logs in as 'cole'" in out
    d = Destination.objects.get(channel="sftp")
    assert d.sftp_hosted and d.sftp_path == "orders" and d.sftp_host == ""
    # There is no platform credential: nothing of the kind in a supplier's row.
    assert d.sftp_password == "" and d.sftp_private_key == ""


def test_off_says_when_every_channel_is_off(cole):
    run("set_channel", "cole", "webhook", "--url", "https://x.example/h")
    out = run("set_channel", "cole", "webhook", "--off")
    assert "webhook is off" in out and "API alone" not in out
    out = run("set_channel", "cole", "email", "--off")
    assert "API alone" in out
    assert not Destination.objects.filter(enabled=True).exists()


def test_off_for_a_channel_already_off_keeps_why_it_went_off(cole):
    from delivery.services import destination_disable

    run("set_channel", "cole", "webhook", "--url", "https://x.example/h")
    destination_disable(supplier=cole, channel="webhook", reason="410 Gone from the receiver")
    before = Destination.objects.get(channel="webhook")

    out = run("set_channel", "cole", "webhook", "--off")

    assert "webhook was already off (410 Gone from the receiver); nothing changed" in out
    after = Destination.objects.get(channel="webhook")
    assert after.disabled_reason == "410 Gone from the receiver" and not after.enabled
    assert after.updated_at == before.updated_at


def test_redeliver_and_status(cole, retailer, email_via_smtp, settings):
    from delivery.dispatcher import events_dispatch

    make_products(supplier=cole, skus={"COLE-1": "1.00"})
    for _ in range(2):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    deliveries_process_batch(deliveries=Delivery.objects.all())  # one SMTP connection
    assert len(email_via_smtp.wait_for(2)) == 2
    out = run("delivery_status")
    assert "cole" in out and "email" in out
    row = [line for line in out.splitlines() if line.startswith("cole")][0].split()
    assert row[2:6] == ["2", "0", "0", "0"]

    with pytest.raises(CommandError, match="^channel"):
        run("redeliver", "--channel", "pigeon")
    with pytest.raises(CommandError, match="^since"):
        run("redeliver", "--since", "yesterday")
    with pytest.raises(CommandError, match="^supplier"):
        run("redeliver", "--supplier", "ghost")
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 2
    assert "Queued 0" in run("redeliver", "--failed-only")

    settings.CELERY_TASK_ALWAYS_EAGER = True
    identities = set(Delivery.objects.values_list("identity", flat=True))
    out = run("redeliver", "--supplier", "cole", "--channel", "email", "--since", "2020-01-01")
    assert "Queued 2" in out
    # Non-transactional test: the queueing on commit did not run; send them as the worker would.
    deliveries_process_batch(deliveries=Delivery.objects.filter(status="pending"))
    mails = email_via_smtp.wait_for(4)
    assert {m.message_id for m in mails} == identities  # same identities again
    assert Delivery.objects.count() == 2
