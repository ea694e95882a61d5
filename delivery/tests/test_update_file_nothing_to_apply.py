"""An update file of only its header is refused, on either SFTP server: the file goes to
failed/ with a result saying there was nothing to apply (found in review: it was moved to
processed/ with a result of no rows, as if an export that lost its rows had been taken)."""

from __future__ import annotations

import os

import pytest

from delivery.hosted.storage import supplier_folder
from delivery.hosted.updates import hosted_update_apply
from delivery.services import sftp_run
from delivery.tests.test_sftp import sftp_destination
from orders.models import UpdateFile
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

HEADER_ONLY = b"order_number,action,line,quantity\r\n,,,\r\n"
REFUSAL = (
    "The file was not read: The file has its header row and no row after it: "
    "there is nothing to apply."
)


def test_a_hosted_update_file_of_only_its_header_goes_to_failed(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    updates = supplier_folder("acme") / "updates"
    (updates / "empty.csv").write_bytes(HEADER_ONLY)

    assert hosted_update_apply(slug="acme", name="empty.csv") == "failed"

    assert (updates / "failed" / "empty.csv").read_bytes() == HEADER_ONLY
    result = (updates / "results" / "empty.csv.results.csv").read_bytes()
    assert result == f"result,message\r\nerror,{REFUSAL}\r\n".encode()
    assert os.listdir(updates / "processed") == [] and not UpdateFile.objects.exists()


def test_an_update_file_of_only_its_header_on_the_suppliers_server_goes_to_failed(
    acme,
    sftp_server,  # noqa: F811
):
    destination = sftp_destination(acme, sftp_server)
    updates = sftp_server.make_dir("updates")
    (updates / "empty.csv").write_bytes(HEADER_ONLY)
    if os.geteuid() == 0:  # owned by the SFTP account, so it can move it
        os.chown(updates / "empty.csv", sftp_server._uid, sftp_server._gid)

    sftp_run(destination_id=destination.pk)

    assert (updates / "failed" / "empty.csv").read_bytes() == HEADER_ONLY
    result = (updates / "results" / "empty.csv.results.csv").read_bytes()
    assert result == f"result,message\r\nerror,{REFUSAL}\r\n".encode()
    assert not (updates / "processed").exists() and not UpdateFile.objects.exists()
