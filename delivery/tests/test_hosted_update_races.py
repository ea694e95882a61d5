"""Hosted SFTP update files that a crash or a second upload left wrongly answered (found in
review). A supplier drops updates/<name>.csv on our hosted server and reads its answer in
updates/results/<name>.results.csv; what it finds there must be what happened to each row.
"""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.hosted.storage import hosted_root, supplier_folder, upload_closed_mark
from delivery.hosted.updates import hosted_update_apply
from delivery.services import deliveries_sweep, destination_set_sftp
from orders.models import Shipment, UpdateFile
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosted(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    settings.DELIVERY_REQUEUE_AFTER_SECONDS = 60
    settings.UPDATE_FILE_LEASE_SECONDS = 120
    return destination_set_sftp(supplier=acme, hosted=True, interval_minutes=1)


class WorkerKilled(BaseException):
    """Stands for SIGKILL of the worker: nothing after it runs, nothing catches it."""


def _ship_file(orders, tag: str) -> bytes:
    rows = [f"{o.number},ship,1,UPS,1Z{tag}{o.pk}" for o in orders]
    return ("order_number,action,line,carrier,tracking_number\n" + "\n".join(rows) + "\n").encode()


def _upload(name: str, content: bytes) -> None:
    """What the hosted server does when a client closes an upload into updates/."""
    (supplier_folder("acme") / "updates" / name).write_bytes(content)
    upload_closed_mark("acme", name)


def _age_mark(name: str, seconds: float) -> None:
    mark = hosted_root() / ".closed" / "acme" / name
    then = time.time() - seconds
    os.utime(mark, (then, then))


def _results(name: str) -> list[dict]:
    path = supplier_folder("acme") / "updates" / "results" / f"{name}.results.csv"
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_a_worker_killed_mid_file_leaves_a_results_file_that_matches_what_was_applied(
    hosted, retailer, tasks_inline, monkeypatch
):
    """The worker applying a hosted upload dies after its first batch. The sweep queues the
    upload again after DELIVERY_REQUEUE_AFTER_SECONDS (60 s), while the dead worker's lease
    (120 s) still runs: that try used to answer every row "unchanged ... already applied"
    and move the file on for good, though the rest of its rows were applied later. Now it
    leaves the upload, and once the file is finished the upload gets the file's answer."""
    orders = [
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
        for _ in range(3)
    ]
    _upload("daily.csv", _ship_file(orders, "A"))

    import orders.updates.rows as rows_module

    monkeypatch.setattr(rows_module, "BATCH_GROUPS", 1)
    real_batch_apply = rows_module.batch_apply
    calls = {"n": 0}

    def dies_on_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real_batch_apply(**kwargs)

    monkeypatch.setattr(rows_module, "batch_apply", dies_on_second_batch)
    with pytest.raises(WorkerKilled):
        hosted_update_apply(slug="acme", name="daily.csv")
    monkeypatch.setattr(rows_module, "batch_apply", real_batch_apply)

    # 90 s later: the upload's mark is older than 60 s, the dead worker's lease still runs
    _age_mark("daily.csv", 90)
    deliveries_sweep()
    # The upload was left in updates/, unanswered: the other apply still holds the file.
    assert (supplier_folder("acme") / "updates" / "daily.csv").exists()
    assert not (supplier_folder("acme") / "updates" / "results" / "daily.csv.results.csv").exists()
    # later still: the lease ran out, the stale-file sweep resumes the file; a requeue
    # interval on, the upload left behind is answered
    UpdateFile.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    deliveries_sweep()
    _age_mark("daily.csv", 90)
    deliveries_sweep()
    assert not (supplier_folder("acme") / "updates" / "daily.csv").exists()
    assert (supplier_folder("acme") / "updates" / "processed" / "daily.csv").exists()

    # every order shipped once in the end ...
    assert [Shipment.objects.filter(order=o).count() for o in orders] == [1, 1, 1]
    # ... so the results file the supplier reads must say every row was applied
    results = _results("daily.csv")
    assert [(r["result"], r["message"]) for r in results if r["result"] != "applied"] == []
    assert len(results) == 3
    assert all("Then: Shipped" in r["message"] for r in results)


def test_a_second_upload_under_the_same_name_during_an_apply_is_not_lost(
    hosted, retailer, tasks_inline, monkeypatch
):
    """A supplier uploads updates.csv, then (while we are still applying it) uploads a new
    updates.csv. The first apply used to move the second upload to processed/ unread and
    clear its mark: it was never applied, and its results file was the first file's."""
    first_orders = [place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]]
    second_orders = [place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]]
    _upload("updates.csv", _ship_file(first_orders, "FIRST"))

    import delivery.hosted.updates as hosted_updates

    real_answer = hosted_updates.update_answer

    def supplier_uploads_again_meanwhile(**kwargs):
        _upload("updates.csv", _ship_file(second_orders, "SECOND"))  # overwrites, marks
        return real_answer(**kwargs)

    monkeypatch.setattr(hosted_updates, "update_answer", supplier_uploads_again_meanwhile)
    hosted_update_apply(slug="acme", name="updates.csv")
    monkeypatch.setattr(hosted_updates, "update_answer", real_answer)

    # the second upload's own task runs now (it found the first holding the lock before),
    # and the sweep looks for anything left behind
    hosted_update_apply(slug="acme", name="updates.csv")
    if (hosted_root() / ".closed" / "acme" / "updates.csv").exists():
        _age_mark("updates.csv", 120)
    deliveries_sweep()

    assert Shipment.objects.filter(order=first_orders[0]).count() == 1
    assert Shipment.objects.filter(order=second_orders[0]).count() == 1, (
        "the second updates.csv was moved to processed/ without being applied; results: "
        + repr(_results("updates.csv"))
    )
    (row,) = _results("updates.csv")  # the second file's answer, written last
    assert row["result"] == "applied" and row["order_number"] == second_orders[0].number
    # The second upload overwrote the first in place: it alone is in processed/.
    processed = supplier_folder("acme") / "updates" / "processed"
    assert sorted(p.name for p in processed.iterdir()) == ["updates.csv"]
    assert (processed / "updates.csv").read_bytes() == _ship_file(second_orders, "SECOND")
    assert not (supplier_folder("acme") / "updates" / "updates.csv").exists()


def test_a_partial_upload_replacing_a_file_mid_apply_is_never_applied(
    hosted, retailer, tasks_inline, monkeypatch
):
    """A partial upload (connection lost) is never applied. The supplier uploads
    updates.csv; while it is applied, it starts uploading a new updates.csv over it and the
    connection drops (no close: the server marks nothing). The first apply leaves the file,
    whose mark is the first upload's: the sweep used to apply the truncated bytes; the mark
    now holds the closed upload's identity, which the partial file does not match."""
    first = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    second = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    header = "order_number,action,line,carrier,tracking_number\n"
    path = supplier_folder("acme") / "updates" / "updates.csv"
    _upload("updates.csv", f"{header}{first.number},ship,1,UPS,1ZFIRST\n".encode())

    import delivery.hosted.updates as hosted_updates

    real_answer = hosted_updates.update_answer
    full = f"{header}{second.number},ship,1,Royal Mail Tracked,RM123456789GB\n".encode()

    def second_upload_cut_off_meanwhile(**kwargs):
        path.write_bytes(full[: len(header) + len(second.number) + 12])  # "...,ship,1,Ro"
        return real_answer(**kwargs)

    monkeypatch.setattr(hosted_updates, "update_answer", second_upload_cut_off_meanwhile)
    hosted_update_apply(slug="acme", name="updates.csv")
    monkeypatch.setattr(hosted_updates, "update_answer", real_answer)
    assert Shipment.objects.filter(order=first).count() == 1

    # The partial upload was never closed: nothing queues it. The sweep looks for marks.
    if (hosted_root() / ".closed" / "acme" / "updates.csv").exists():
        _age_mark("updates.csv", 120)
    deliveries_sweep()

    shipped = list(Shipment.objects.filter(order=second).values_list("carrier", flat=True))
    assert shipped == [], f"a partial upload was applied: shipped with carrier {shipped}"
    assert path.exists()  # left as it is, for the supplier to upload whole again
    assert not (hosted_root() / ".closed" / "acme" / "updates.csv").exists()


def test_an_upload_begun_over_the_file_between_its_stat_and_its_read_is_not_applied(
    hosted, retailer, monkeypatch
):
    """The file is read, then checked against the closed upload's identity: but the
    identity came from a stat taken before the read. A client that began a new upload
    over the same name in between (truncating it) had the part it had written read and
    applied, a tracking number cut short (found in review). The file read is now the file
    statted, checked on its open handle after the read."""
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    header = "order_number,action,line,carrier,tracking_number\n"
    path = supplier_folder("acme") / "updates" / "updates.csv"
    _upload("updates.csv", f"{header}{order.number},ship,1,UPS,1ZFIRST\n".encode())

    import delivery.hosted.updates as hosted_updates

    real_too_large = hosted_updates.update_answer_too_large
    cut = f"{header}{order.number},ship,1,UPS,1Z".encode()

    def new_upload_begun_meanwhile(**kwargs):  # runs after the stat, before the read
        path.write_bytes(cut)
        return real_too_large(**kwargs)

    monkeypatch.setattr(hosted_updates, "update_answer_too_large", new_upload_begun_meanwhile)
    assert hosted_update_apply(slug="acme", name="updates.csv") is None
    assert not UpdateFile.objects.exists()
    assert not Shipment.objects.filter(order=order).exists()
    assert path.read_bytes() == cut  # left: its own close (if it comes) queues it
    assert not (
        supplier_folder("acme") / "updates" / "results" / "updates.csv.results.csv"
    ).exists()
