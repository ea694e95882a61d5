"""A hosted file drop writes into its supplier's own folder, and holds no credential.

The hosted server is ours (delivery/hosted/): a hosted destination is never reached over the
network, its files are written into HOSTED_SFTP_ROOT/<slug>/orders/ whatever its row says, and
there is no platform credential at all (the old "log in to an external hosted server with a
platform account" mode is gone). The attacks a supplier could make on a hosted file drop,
and the general rule: a stored password or key never follows a change of host, port or user.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from delivery.channels.base import SendResult
from delivery.channels.sftp import SftpChannel
from delivery.hosted.storage import file_write_atomic
from delivery.models import Destination, HostedSftpKey
from delivery.services import destination_set_sftp
from delivery.tests.test_sftp import deliveries_for, files_in, place
from testsupport.factories import make_supplier_user
from testsupport.hosted_sftp import keygen
from testsupport.processes import celery_broker_down
from testsupport.sshd import (
    sftp_server_fixture,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def storage(settings, tmp_path) -> Path:
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    return tmp_path / "hosted"


@pytest.fixture
def attacker(sftp_server):
    """A server of the supplier's own, which a hosted drop must never connect to."""
    return sftp_server


@pytest.fixture
def acme_client(client, acme):
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    cache.delete(f"sftp-probe:{acme.pk}")
    return client


def _form(destination, **overrides):
    """The settings form as the page renders it for this destination, then edited."""
    data = {
        "host": destination.sftp_host,
        "port": destination.sftp_port,
        "username": destination.sftp_username,
        "path": destination.sftp_path,
        "host_key": destination.sftp_host_key,
        "interval_minutes": destination.sftp_interval_minutes,
        "file_format": destination.sftp_format,
        "action": "save",
    }
    data.update(overrides)
    return data


def _row(destination) -> dict:
    fields = ("sftp_hosted", "sftp_host", "sftp_port", "sftp_username", "sftp_path")
    fields += ("sftp_password", "sftp_private_key", "sftp_host_key")
    return dict(Destination.objects.filter(pk=destination.pk).values(*fields).get())


def assert_no_row_holds_a_credential_for(destinations):
    for row in Destination.objects.filter(pk__in=[d.pk for d in destinations]).values(
        "sftp_password", "sftp_private_key", "sftp_host"
    ):
        assert row == {"sftp_password": "", "sftp_private_key": "", "sftp_host": ""}


# --- (a) another supplier's folder -------------------------------------------------------


def test_a_hosted_drop_cannot_be_pointed_at_another_suppliers_folder(
    acme_client, acme, bolt, retailer, storage
):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    destination_set_sftp(supplier=bolt, hosted=True)
    before = _row(destination)

    # The directory edited in the portal with the password fields blank.
    response = acme_client.post("/settings/sftp/", _form(destination, path="../bolt/orders"))
    assert response.status_code == 400
    assert "set by the platform" in response.content.decode()
    assert _row(destination) == before

    # Even a row edited behind the portal's back: the folder is the slug's, always.
    Destination.objects.filter(pk=destination.pk).update(
        sftp_path="../bolt/orders", sftp_username="bolt"
    )
    destination.refresh_from_db()
    orders = place(retailer)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(storage / "acme" / "orders") == [f"{orders[0].number}.csv"]
    assert not (storage / "bolt" / "orders").exists() or files_in(storage / "bolt" / "orders") == []


def test_a_hosted_drop_may_change_its_interval_and_format_only(acme_client, acme, storage):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    response = acme_client.post(
        "/settings/sftp/", _form(destination, interval_minutes=9, file_format="json")
    )
    assert response.status_code == 302
    row = _row(destination)
    assert row["sftp_hosted"] and row["sftp_path"] == "orders"
    destination.refresh_from_db()
    assert (destination.sftp_interval_minutes, destination.sftp_format) == (9, "json")
    assert_no_row_holds_a_credential_for([destination])


def test_a_blank_interval_keeps_the_drops_own(acme_client, acme, storage):
    """The form's "Send files every" left blank set an existing drop back to 15 minutes; the
    service keeps the interval set, as its other callers rely on."""
    destination = destination_set_sftp(supplier=acme, hosted=True, interval_minutes=30)
    response = acme_client.post(
        "/settings/sftp/", _form(destination, interval_minutes="", file_format="json")
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert (destination.sftp_interval_minutes, destination.sftp_format) == (30, "json")


# --- (b) never over the network -----------------------------------------------------------


def test_a_hosted_drop_never_connects_anywhere(
    acme_client, acme, retailer, storage, attacker, monkeypatch
):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    attacker_log = attacker.log_text()
    # A row edited behind the portal's back to point at another server.
    Destination.objects.filter(pk=destination.pk).update(
        sftp_host=attacker.host, sftp_port=attacker.port, sftp_host_key=attacker.host_key_line
    )
    destination.refresh_from_db()
    import socket

    def refuse(*args, **kwargs):  # a hosted write must not open any connection
        raise AssertionError("a hosted drop opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    orders = place(retailer)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(storage / "acme" / "orders") == [f"{orders[0].number}.csv"]
    monkeypatch.undo()
    assert attacker.log_text() == attacker_log


def test_moving_off_hosted_needs_the_new_servers_own_credential(
    acme_client, acme, storage, attacker
):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    response = acme_client.post(
        "/settings/sftp/",
        _form(
            destination,
            host=attacker.host,
            port=attacker.port,
            username=attacker.username,
            path=str(attacker.upload_root),
            host_key=attacker.host_key_line,
            host_key_confirmed="on",
        ),
    )
    assert response.status_code == 400
    assert _row(destination)["sftp_hosted"]
    response = acme_client.post(
        "/settings/sftp/",
        _form(
            destination,
            host=attacker.host,
            port=attacker.port,
            username=attacker.username,
            path=str(attacker.upload_root),
            host_key=attacker.host_key_line,
            host_key_confirmed="on",
            private_key=attacker.private_key,
        ),
    )
    assert response.status_code == 302
    row = _row(destination)
    assert not row["sftp_hosted"] and row["sftp_port"] == attacker.port
    assert row["sftp_private_key"].strip() == attacker.private_key.strip()


# --- (c) never in a row -------------------------------------------------------------------


def test_set_channel_hosted_adds_a_key_and_no_row_holds_a_credential(
    acme, bolt, acme_client, storage, tmp_path
):
    keygen(tmp_path / "acme_key")
    out = io.StringIO()
    call_command(
        "set_channel",
        "acme",
        "sftp",
        "--hosted",
        "--public-key",
        str(tmp_path / "acme_key.pub"),
        stdout=out,
    )
    assert "logs in as 'acme'" in out.getvalue()
    assert HostedSftpKey.objects.filter(supplier=acme).count() == 1
    destination_set_sftp(supplier=bolt, hosted=True, interval_minutes=5)
    destination = Destination.objects.get(supplier=acme, channel="sftp")
    acme_client.post("/settings/sftp/", _form(destination, interval_minutes=3))
    acme_client.post("/settings/sftp/test/")
    hosted = Destination.objects.filter(channel="sftp", sftp_hosted=True)
    assert hosted.count() == 2
    assert_no_row_holds_a_credential_for(list(hosted))


def test_set_channel_hosted_with_a_bad_key_changes_nothing(acme, storage, tmp_path):
    (tmp_path / "bad.pub").write_text("ssh-ed25519 not-base64 x")
    with pytest.raises(CommandError, match="public_key"):
        call_command(
            "set_channel", "acme", "sftp", "--hosted", "--public-key", str(tmp_path / "bad.pub")
        )
    assert not Destination.objects.filter(supplier=acme, channel="sftp").exists()
    assert not HostedSftpKey.objects.exists()


def test_the_migration_drops_credentials_copied_into_hosted_rows(acme, storage):
    import importlib

    migration = importlib.import_module(
        "delivery.migrations.0007_hosted_sftp_credentials_out_of_rows"
    )
    destination = destination_set_sftp(supplier=acme, hosted=True)
    destination.sftp_password = "platform-hosted-secret-7f3a"
    destination.save()  # as the old code stored it
    migration.forwards(apps, None)
    destination.refresh_from_db()
    assert destination.sftp_password == ""


# --- (d) a concurrent reader never sees half a file ---------------------------------------


def test_an_order_file_is_never_seen_half_written(tmp_path):
    folder = tmp_path / "orders"
    folder.mkdir()
    bodies = [bytes([65 + i % 26]) * 2_000_000 for i in range(8)]
    seen: list[bytes] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for path in folder.iterdir():
                if path.name.startswith("."):
                    continue  # the temporary name, which a supplier's client also skips
                try:
                    seen.append(path.read_bytes())
                except FileNotFoundError:
                    pass

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for body in bodies:
            file_write_atomic(folder, "PO-1.csv", body)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert seen, "the reader never saw the file"
    assert all(data in bodies for data in seen)
    assert (folder / "PO-1.csv").read_bytes() == bodies[-1]
    assert [p.name for p in folder.iterdir()] == ["PO-1.csv"]


# --- Any destination: a changed host, port or user name drops the stored credential ------


@pytest.mark.parametrize(
    "change", [{"host": "localhost"}, {"port": 2222}, {"username": "someone-else"}]
)
def test_a_changed_host_port_or_user_drops_the_stored_credential(acme, sftp_server, change):
    values = {
        "host": sftp_server.host,
        "port": sftp_server.port,
        "username": sftp_server.username,
        "private_key": sftp_server.private_key,
        "path": str(sftp_server.upload_root),
        "host_key": sftp_server.host_key_line,
    }
    destination = destination_set_sftp(supplier=acme, **values)
    before = _row(destination)
    edited = {**values, "private_key": None, **change}
    with pytest.raises(ValidationError) as raised:
        destination_set_sftp(supplier=acme, **edited)
    assert "the stored password or key was not kept" in str(raised.value.message_dict["password"])
    assert _row(destination) == before

    # Same account, other directory: the stored credential is kept.
    destination_set_sftp(supplier=acme, **{**values, "private_key": None, "path": "/elsewhere"})
    assert _row(destination)["sftp_private_key"] == before["sftp_private_key"]
    # A new credential in the same save is taken.
    destination_set_sftp(supplier=acme, **{**edited, "private_key": None, "password": "new-pw"})
    row = _row(destination)
    assert row["sftp_password"] == "new-pw" and row["sftp_private_key"] == ""


def test_the_portal_form_says_the_credential_is_dropped(acme_client, acme, sftp_server):
    destination_set_sftp(
        supplier=acme,
        host=sftp_server.host,
        port=sftp_server.port,
        username=sftp_server.username,
        private_key=sftp_server.private_key,
        path=str(sftp_server.upload_root),
        host_key=sftp_server.host_key_line,
    )
    page = acme_client.get("/settings/").content.decode()
    assert "if you change the host, port or user name, the stored one is dropped" in page
    destination = Destination.objects.get(supplier=acme, channel="sftp")
    response = acme_client.post("/settings/sftp/", _form(destination, username="other"))
    assert response.status_code == 400
    assert "the stored password or key was not kept" in response.content.decode()


def test_the_upload_closed_hook_queues_the_apply_as_a_celery_task(
    acme, retailer, storage, tasks_inline
):
    """serve_sftp's hook in production: `update_queue` -> delivery.hosted_update_apply."""
    from delivery.hosted.storage import supplier_folder
    from delivery.hosted.updates import update_queue
    from orders.models import Order

    [order] = place(retailer)
    updates = supplier_folder("acme") / "updates"
    (updates / "ack.csv").write_text(f"order_number,action\n{order.number},acknowledge\n")
    update_queue("acme", "ack.csv")
    assert (updates / "processed" / "ack.csv").exists()
    assert "applied" in (updates / "results" / "ack.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).acknowledged_at is not None


def test_with_the_broker_down_the_upload_closed_hook_applies_the_file_itself(
    acme, retailer, storage, settings
):
    """No file waits on a task message that was never sent: a real broker that is down (a
    Redis URL on a loopback port nothing listens on) makes the hook apply the file in place."""

    from delivery.hosted.storage import supplier_folder
    from delivery.hosted.updates import update_queue
    from orders.models import Order

    settings.CELERY_TASK_ALWAYS_EAGER = False
    [order] = place(retailer)
    updates = supplier_folder("acme") / "updates"
    (updates / "ack.csv").write_text(f"order_number,action\n{order.number},acknowledge\n")
    with celery_broker_down():
        update_queue("acme", "ack.csv")
    assert (updates / "processed" / "ack.csv").exists()
    assert "applied" in (updates / "results" / "ack.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).acknowledged_at is not None
