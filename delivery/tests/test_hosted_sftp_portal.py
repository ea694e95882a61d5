"""Portal /settings/: the hosted SFTP server's address, keys, password and last files."""

from __future__ import annotations

import pytest

from delivery.hosted.hostkey import host_key_load
from delivery.models import HostedSftpKey, HostedSftpPassword
from testsupport.factories import make_supplier, make_supplier_user
from testsupport.hosted_sftp import keygen

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_client(client, acme, settings, tmp_path):
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(tmp_path / "host_key")
    settings.HOSTED_SFTP_ADDRESS = "sftp.example.test"
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


def test_settings_shows_address_user_and_fingerprint(acme_client, acme):
    fingerprint = host_key_load().get_fingerprint("sha256")
    page = acme_client.get("/settings/").content.decode()
    assert "sftp.example.test" in page and ">2222<" in page
    assert '<code id="hosted-username">acme</code>' in page
    assert fingerprint in page


def test_a_supplier_adds_and_removes_a_key(acme_client, acme, tmp_path):
    public = keygen(tmp_path / "k")
    response = acme_client.post("/settings/hosted-sftp/keys/", {"public_key": public})
    assert response.status_code == 302
    key = HostedSftpKey.objects.get(supplier=acme)
    assert key.fingerprint in acme_client.get("/settings/").content.decode()
    response = acme_client.post(
        "/settings/hosted-sftp/keys/remove/", {"fingerprint": key.fingerprint}
    )
    assert response.status_code == 302
    assert not HostedSftpKey.objects.exists()


def test_a_bad_key_is_a_400_naming_it_and_nothing_is_stored(acme_client):
    response = acme_client.post("/settings/hosted-sftp/keys/", {"public_key": "ssh-rsa nope"})
    assert response.status_code == 400
    assert "not an SSH public key" in response.content.decode()
    assert not HostedSftpKey.objects.exists()


def test_another_suppliers_key_cannot_be_removed(acme_client, tmp_path):
    from delivery.hosted.credentials import hosted_key_add

    other = make_supplier(slug="other")
    key = hosted_key_add(supplier=other, public_key=keygen(tmp_path / "o"))
    response = acme_client.post(
        "/settings/hosted-sftp/keys/remove/", {"fingerprint": key.fingerprint}
    )
    assert response.status_code == 400
    assert HostedSftpKey.objects.filter(pk=key.pk).exists()


def test_a_generated_password_is_shown_once_and_stored_hashed(acme_client, acme):
    response = acme_client.post("/settings/hosted-sftp/password/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    page = response.content.decode()
    password = page.split('<code id="hosted-password">')[1].split("<")[0]
    stored = HostedSftpPassword.objects.get(supplier=acme)
    assert password not in stored.password_hash
    from django.contrib.auth.hashers import check_password

    assert check_password(password, stored.password_hash)
    assert password not in acme_client.get("/settings/").content.decode()


def test_last_files_sent_and_received_are_listed(acme_client, acme, retailer, settings, tmp_path):
    from delivery.channels.sftp import SftpChannel
    from delivery.hosted.updates import update_answer
    from delivery.services import destination_set_sftp
    from delivery.tests.test_sftp import deliveries_for, place

    settings.HOSTED_SFTP_ROOT = str(tmp_path / "storage")
    destination = destination_set_sftp(supplier=acme, hosted=True)
    [order] = place(retailer)
    SftpChannel().send_batch(deliveries_for(destination, [order]))
    update_answer(
        supplier=acme,
        name="ack.csv",
        content=f"order_number,action\n{order.number},acknowledge\n".encode(),
    )
    page = acme_client.get("/settings/").content.decode()
    sent = page.split('id="hosted-files-sent"')[1].split("</ul>")[0]
    received = page.split('id="hosted-files-received"')[1].split("</ul>")[0]
    assert order.number in sent
    assert "ack.csv" in received and "1 applied" in received
