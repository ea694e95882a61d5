"""An update file past MAX_FILE_BYTES is refused from its size, never read into memory.

Found in review: both SFTP pickups read the whole file (`path.read_bytes()`, `remote.read()`)
before the 20 MB check, so a supplier's multi-gigabyte drop was held whole by a worker. Now
the size is looked at first; the supplier sees what it saw before (the file in failed/, a
result file naming the limit), and the worker's memory stays small. The file is sparse:
just over the limit on disk, nothing to write.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest

from delivery.hosted.storage import supplier_folder
from delivery.hosted.updates import hosted_update_apply
from delivery.services import sftp_run
from delivery.tests.test_sftp import sftp_destination
from orders.models import UpdateFile
from orders.updates import update_file_receive_and_apply
from orders.updates.parse import MAX_FILE_BYTES
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

REFUSAL = "The file was not read: The file is larger than 20 MB; split it."
# Far below the file's 20 MB: what the pickup holds besides it (a connection, a few queries).
PEAK_BYTES = 2 * 1024 * 1024


def just_over_the_limit(path) -> None:
    with path.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)


def peak_of(call):
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_hosted_update_file_over_the_limit_is_refused_unread(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    updates = supplier_folder("acme") / "updates"
    just_over_the_limit(updates / "big.csv")

    folder, peak = peak_of(lambda: hosted_update_apply(slug="acme", name="big.csv"))

    assert folder == "failed"
    assert not (updates / "big.csv").exists()
    assert (updates / "failed" / "big.csv").stat().st_size == MAX_FILE_BYTES + 1
    result = (updates / "results" / "big.csv.results.csv").read_bytes()
    assert result == f"result,message\r\nerror,{REFUSAL}\r\n".encode()
    assert peak < PEAK_BYTES, peak
    assert os.listdir(updates / "processed") == [] and not UpdateFile.objects.exists()


def test_an_update_file_over_the_limit_on_the_suppliers_server_is_refused_unread(acme, sftp_server):
    destination = sftp_destination(acme, sftp_server)  # updates directory: "updates"
    updates = sftp_server.make_dir("updates")
    just_over_the_limit(updates / "big.csv")
    if os.geteuid() == 0:  # owned by the SFTP account, so it can move it
        os.chown(updates / "big.csv", sftp_server._uid, sftp_server._gid)

    _, peak = peak_of(lambda: sftp_run(destination_id=destination.pk))

    assert not (updates / "big.csv").exists()
    assert (updates / "failed" / "big.csv").stat().st_size == MAX_FILE_BYTES + 1
    result = (updates / "results" / "big.csv.results.csv").read_bytes()
    assert result == f"result,message\r\nerror,{REFUSAL}\r\n".encode()
    assert peak < PEAK_BYTES, peak
    assert not (updates / "processed").exists() and not UpdateFile.objects.exists()


def test_a_large_files_answer_is_written_a_chunk_at_a_time_not_held_whole(acme, settings, tmp_path):
    """Found in review: the result of an SFTP update file was built as one text, then as
    one bytes, both held at once (some six times the file's size: 120 MB for a 20 MB
    file). Now it is read from the file's rows as it is written out."""
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    updates = supplier_folder("acme") / "updates"
    rows = 20_000
    content = (
        "order_number,action\n" + "".join(f"PO-9{n:07d},acknowledge\n" for n in range(rows))
    ).encode()
    update_file_receive_and_apply(supplier=acme, name="first.csv", content=content, source="sftp")
    (updates / "again.csv").write_bytes(content)  # the same file again: its answer replayed

    folder, peak = peak_of(lambda: hosted_update_apply(slug="acme", name="again.csv"))

    assert folder == "processed"
    result = (updates / "results" / "again.csv.results.csv").read_bytes()
    assert result.count(b"already applied") == rows
    assert result.count(b"you have no order PO-9") == rows
    assert peak < len(result), (peak, len(result))
