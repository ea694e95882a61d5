"""Hosted SFTP credentials are the platform's, never a supplier's.

The attacks a supplier could make on a hosted file drop, and the general rule: a stored
password or key never follows a change of host, port or user name.
"""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command

from delivery.channels.base import SendResult
from delivery.channels.sftp import SftpChannel
from delivery.models import Destination
from delivery.services import destination_set_sftp
from delivery.tests.test_sftp import deliveries_for, files_in, place
from testsupport.factories import make_supplier_user
from testsupport.sshd import (
    SftpTestServer,
    sftp_server_fixture,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.django_db

HOSTED_PASSWORD = "platform-hosted-secret-7f3a"


@pytest.fixture
def hosted(sftp_server, settings):
    """The platform's hosted server (the test sshd), with both a password and a key."""
    root = sftp_server.upload_root / "suppliers"
    settings.HOSTED_SFTP = {
        "HOST": sftp_server.host,
        "PORT": sftp_server.port,
        "USERNAME": sftp_server.username,
        "PASSWORD": HOSTED_PASSWORD,
        "KEY_FILE": str(sftp_server.private_key_path),
        "HOST_KEY": sftp_server.host_key_line,
        "ROOT": str(root),
    }
    sftp_server.root = root
    return sftp_server


@pytest.fixture
def attacker(sftp_server):
    """Another sshd: a server of the supplier's own, which must never see the platform's
    credential."""
    server = SftpTestServer(sshd=sftp_server.sshd, ssh_keygen=sftp_server.ssh_keygen)
    try:
        server.start()
        yield server
    finally:
        server.close()


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


def _hosted_key_text(server) -> str:
    return server.private_key_path.read_text().strip()


def assert_no_row_holds_the_hosted_credential(server):
    key_text = _hosted_key_text(server)
    for password, private_key in Destination.objects.values_list(
        "sftp_password", "sftp_private_key"
    ):  # decrypted by the field
        assert HOSTED_PASSWORD not in password and HOSTED_PASSWORD not in private_key
        assert (
            key_text not in private_key and key_text.splitlines()[2] not in private_key
        )  # the key bytes


# --- (a) another supplier's folder -------------------------------------------------------


def test_a_hosted_drop_cannot_be_pointed_at_another_suppliers_folder(
    acme_client, acme, bolt, retailer, hosted
):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    destination_set_sftp(supplier=bolt, hosted=True)
    before = _row(destination)
    bolt_folder = str(hosted.root / "bolt")

    # The directory edited with the password fields blank ("keep the stored one").
    response = acme_client.post("/settings/sftp/", _form(destination, path=bolt_folder))
    assert response.status_code == 400
    assert "set by the platform" in response.content.decode()
    assert _row(destination) == before

    # Even a row edited behind the portal's back: the target is ROOT/<slug>, always.
    Destination.objects.filter(pk=destination.pk).update(sftp_path=bolt_folder)
    destination.refresh_from_db()
    orders = place(retailer)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(hosted.root / "acme") == [f"{orders[0].number}.csv"]
    assert not (hosted.root / "bolt").exists() or files_in(hosted.root / "bolt") == []


def test_a_hosted_drop_may_change_its_interval_and_format_only(acme_client, acme, hosted):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    response = acme_client.post(
        "/settings/sftp/", _form(destination, interval_minutes=9, file_format="json")
    )
    assert response.status_code == 302
    row = _row(destination)
    assert row["sftp_hosted"] and row["sftp_path"] == str(hosted.root / "acme")
    destination.refresh_from_db()
    assert (destination.sftp_interval_minutes, destination.sftp_format) == (9, "json")
    assert_no_row_holds_the_hosted_credential(hosted)


# --- (b) the platform's credential sent to another server ---------------------------------


def test_the_hosted_credential_never_reaches_another_server(
    acme_client, acme, retailer, hosted, attacker, settings
):
    destination = destination_set_sftp(supplier=acme, hosted=True)
    before = _row(destination)
    attacker_log = attacker.log_text()
    pointed_at_attacker = _form(
        destination,
        host=attacker.host,
        port=attacker.port,
        username=hosted.username,
        host_key=attacker.host_key_line,
        host_key_confirmed="on",
    )
    response = acme_client.post("/settings/sftp/", pointed_at_attacker)
    assert response.status_code == 400
    assert _row(destination) == before
    assert acme_client.post("/settings/sftp/test/").status_code == 302

    # Even a row edited behind the portal's back: the connection is the configured server's.
    Destination.objects.filter(pk=destination.pk).update(
        sftp_host=attacker.host, sftp_port=attacker.port, sftp_host_key=attacker.host_key_line
    )
    destination.refresh_from_db()
    orders = place(retailer)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(hosted.root / "acme") == [f"{orders[0].number}.csv"]

    # The attacker's sshd saw no connection at all, let alone a password or key.
    assert attacker.log_text() == attacker_log
    assert "Failed" not in attacker.log_text() and "Accepted" not in attacker.log_text()


def test_moving_off_hosted_needs_the_new_servers_own_credential(
    acme_client, acme, hosted, attacker, settings
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
            private_key=attacker.private_key,
        ),
    )
    assert response.status_code == 302
    row = _row(destination)
    assert not row["sftp_hosted"] and row["sftp_port"] == attacker.port
    assert row["sftp_private_key"].strip() == attacker.private_key.strip()
    assert row["sftp_password"] == ""
    assert_no_row_holds_the_hosted_credential(hosted)


# --- (c) never in a row -------------------------------------------------------------------


def test_the_hosted_credential_is_in_no_destination_row(acme, bolt, acme_client, hosted):
    out = io.StringIO()
    call_command("set_channel", "acme", "sftp", "--hosted", stdout=out)
    destination_set_sftp(supplier=bolt, hosted=True, interval_minutes=5)
    destination = Destination.objects.get(supplier=acme, channel="sftp")
    acme_client.post("/settings/sftp/", _form(destination, interval_minutes=3))
    acme_client.post("/settings/sftp/test/")
    assert Destination.objects.filter(channel="sftp", sftp_hosted=True).count() == 2
    assert_no_row_holds_the_hosted_credential(hosted)


def test_the_migration_drops_hosted_credentials_copied_into_rows(acme, hosted):
    import importlib

    migration = importlib.import_module(
        "delivery.migrations.0007_hosted_sftp_credentials_out_of_rows"
    )
    destination = destination_set_sftp(supplier=acme, hosted=True)
    destination.sftp_password = HOSTED_PASSWORD
    destination.sftp_private_key = _hosted_key_text(hosted)
    destination.save()  # as the old code stored it

    migration.forwards(apps, None)

    assert_no_row_holds_the_hosted_credential(hosted)


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
