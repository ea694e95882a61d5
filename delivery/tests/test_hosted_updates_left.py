"""A hosted update file whose apply never ran is applied by the next SFTP run.

Found by bench/chaos.py: the upload closed and its task was queued, then Redis restarted
empty (or the task ran while PostgreSQL was down and failed); the file stayed in updates/
with no result, for good. The server marks every upload the client closed, outside the
supplier's folder; a run applies the marked files older than DELIVERY_REQUEUE_AFTER_SECONDS.
A partial upload (no mark) is still never applied.
"""

import os
import time

import pytest

from delivery.hosted.storage import hosted_root, supplier_folder, upload_closed_mark
from delivery.services import destination_set_sftp, sftp_run
from orders.models import Shipment, UpdateFile
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosted(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    settings.DELIVERY_REQUEUE_AFTER_SECONDS = 60
    return destination_set_sftp(supplier=acme, hosted=True, interval_minutes=1)


def _drop(name: str, number: str, *, closed_ago: float | None) -> None:
    updates = supplier_folder("acme") / "updates"
    (updates / name).write_text(
        f"order_number,action,line,carrier,tracking_number\n{number},ship,1,UPS,1Z{name[:4]}\n"
    )
    if closed_ago is not None:
        upload_closed_mark("acme", name)
        mark = hosted_root() / ".closed" / "acme" / name
        then = time.time() - closed_ago
        os.utime(mark, (then, then))


def test_a_closed_upload_whose_task_was_lost_is_applied_by_the_next_run(hosted, retailer):
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("lost.csv", order.number, closed_ago=120)

    sftp_run(destination_id=hosted.pk)

    updates = supplier_folder("acme") / "updates"
    assert (updates / "processed" / "lost.csv").exists() and not (updates / "lost.csv").exists()
    assert "applied" in (updates / "results" / "lost.csv.results.csv").read_text()
    assert Shipment.objects.filter(order=order, tracking_number="1Zlost").count() == 1
    assert not (hosted_root() / ".closed" / "acme" / "lost.csv").exists()

    sftp_run(destination_id=hosted.pk)  # nothing left: applied once
    assert Shipment.objects.filter(order=order).count() == 1
    assert UpdateFile.objects.filter(name="lost.csv").count() == 1


def test_partial_and_fresh_uploads_are_left_alone(hosted, retailer):
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("part.csv", order.number, closed_ago=None)  # connection lost mid-upload: no mark
    _drop("new.csv", order.number, closed_ago=5)  # its task is on its way

    sftp_run(destination_id=hosted.pk)

    updates = supplier_folder("acme") / "updates"
    assert (updates / "part.csv").exists() and (updates / "new.csv").exists()
    assert not list((updates / "results").iterdir())
    assert not UpdateFile.objects.exists() and not Shipment.objects.exists()
