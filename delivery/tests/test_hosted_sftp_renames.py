"""The hosted server hands on update files renamed into place, and works from any root.

Found in review: WinSCP (by default) uploads `x.csv.filepart` and renames it to `x.csv`; the
server hooked only the client's close, so such a file was never applied. And asyncssh keeps
its chroot as realpath(folder) while the server compared with the folder as configured, so
with HOSTED_SFTP_ROOT relative or behind a symlink no upload was ever handed on. Real
paramiko clients against the real server (testsupport/hosted_sftp.py).
"""

from __future__ import annotations

import os

import pytest

from delivery.hosted.credentials import hosted_key_add
from delivery.hosted.storage import supplier_folder
from delivery.tests.test_hosted_sftp_server import paramiko_client
from orders.models import Shipment, UpdateFile
from testsupport.factories import place_order
from testsupport.hosted_sftp import (
    HostedSftpTestServer,
    hosted_sftp_fixture,  # noqa: F401  (the fixture)
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse: the throttle starts empty)
)
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme_key(acme, tmp_path):
    hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "acme_key"))
    return tmp_path / "acme_key"


def ship(order, tracking: str) -> bytes:
    return (
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,{tracking}\n"
    ).encode()


def one_order(retailer):
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    return order


@pytest.mark.parametrize("method", ["rename", "posix_rename"])
def test_an_update_uploaded_as_filepart_then_renamed_is_applied_once(
    hosted_sftp, acme_key, retailer, method
):
    renamed, left = one_order(retailer), one_order(retailer)
    client = paramiko_client(hosted_sftp, user="acme", key=acme_key)
    try:
        sftp = client.open_sftp()
        rename = getattr(sftp, method)
        # Renamed to a name that is not an update file's: left where it is, never applied.
        with sftp.open("updates/notes.csv.filepart", "wb") as out:
            out.write(ship(left, "1ZLEFT"))
        rename("updates/notes.csv.filepart", "updates/notes.txt")
        # WinSCP's way: the whole file under a temporary name, closed, then renamed.
        with sftp.open("updates/ship.csv.filepart", "wb") as out:
            out.write(ship(renamed, "1ZRENAMED"))
        rename("updates/ship.csv.filepart", "updates/ship.csv")
        wait_until(
            lambda: "ship.csv" in sftp.listdir("updates/processed"),
            timeout=20,
            message="the renamed update file was not applied",
        )
        with sftp.open("updates/results/ship.csv.results.csv", "rb") as remote:
            answer = remote.read().decode()
        listing = sorted(sftp.listdir("updates"))
        results = sftp.listdir("updates/results")
    finally:
        client.close()

    assert "applied" in answer, answer
    assert Shipment.objects.filter(order=renamed, tracking_number="1ZRENAMED").count() == 1
    assert hosted_sftp.closed_uploads == [("acme", "ship.csv")]  # once, and nothing else
    assert "notes.txt" in listing and "ship.csv" not in listing
    assert results == ["ship.csv.results.csv"]
    assert not Shipment.objects.filter(order=left).exists()
    assert UpdateFile.objects.count() == 1


def test_a_file_renamed_while_still_open_is_handed_on_at_its_close_once(
    hosted_sftp, acme_key, retailer
):
    order = one_order(retailer)
    body = ship(order, "1ZOPEN")
    updates = supplier_folder("acme") / "updates"
    client = paramiko_client(hosted_sftp, user="acme", key=acme_key)
    try:
        sftp = client.open_sftp()
        out = sftp.open("updates/ship.csv.filepart", "wb")
        out.write(body[:20])
        out.flush()
        sftp.posix_rename("updates/ship.csv.filepart", "updates/ship.csv")
        # Not complete yet: the rest is still to come, so nothing is handed on at the rename.
        out.write(body[20:])
        out.close()
        wait_until(lambda: (updates / "processed" / "ship.csv").exists(), timeout=20)
    finally:
        client.close()
    assert (updates / "processed" / "ship.csv").read_bytes() == body
    assert "applied" in (updates / "results" / "ship.csv.results.csv").read_text()
    assert hosted_sftp.closed_uploads == [("acme", "ship.csv")]
    assert Shipment.objects.filter(order=order, tracking_number="1ZOPEN").count() == 1


@pytest.fixture(params=["behind a symlink", "relative"])
def odd_root(request, settings, transactional_db, tmp_path, monkeypatch):
    """The hosted server over a HOSTED_SFTP_ROOT that is not its own realpath; the real
    folder the files are in."""
    real = tmp_path / "real"
    real.mkdir()
    if request.param == "behind a symlink":
        os.symlink(real, tmp_path / "link")
        settings.HOSTED_SFTP_ROOT = str(tmp_path / "link" / "storage")
    else:
        monkeypatch.chdir(real)
        settings.HOSTED_SFTP_ROOT = "storage"
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(tmp_path / "host_key")
    from delivery.hosted.updates import hosted_update_apply

    server = HostedSftpTestServer(
        on_upload_closed=lambda slug, name: hosted_update_apply(slug=slug, name=name)
    ).start()
    server.real = real / "storage"
    try:
        yield server
    finally:
        server.stop()


def test_uploads_are_applied_whatever_the_root_looks_like(odd_root, acme_key, retailer):
    order = one_order(retailer)
    client = paramiko_client(odd_root, user="acme", key=acme_key)
    try:
        with client.open_sftp().open("updates/ship.csv", "wb") as out:
            out.write(ship(order, "1ZROOT"))
    finally:
        client.close()
    updates = odd_root.real / "acme" / "updates"
    wait_until(
        lambda: (updates / "processed" / "ship.csv").exists(),
        timeout=20,
        message="the upload was not handed on",
    )
    assert "applied" in (updates / "results" / "ship.csv.results.csv").read_text()
    assert odd_root.closed_uploads == [("acme", "ship.csv")]
    assert Shipment.objects.filter(order=order, tracking_number="1ZROOT").count() == 1
