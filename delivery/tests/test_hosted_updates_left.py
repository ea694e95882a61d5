"""A hosted update file whose apply never ran is queued again by the sweep, and applied.

Found by bench/chaos.py: the upload closed and its task was queued, then Redis restarted
empty (or the task ran while PostgreSQL was down and failed); the file stayed in updates/
with no result, for good. The server marks every upload the client closed, outside the
supplier's folder; the sweep queues again the marked files older than
DELIVERY_REQUEUE_AFTER_SECONDS, for every supplier, whether its hosted drop is on, off or was
never set (credentials alone let a supplier upload). A partial upload (no mark) is still never
applied.
"""

import os
import time

import pytest

from delivery.hosted.storage import hosted_root, supplier_folder, upload_closed_mark
from delivery.models import Destination
from delivery.services import deliveries_sweep, destination_set_sftp, sftp_run
from orders.models import Shipment, UpdateFile
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosted(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    settings.DELIVERY_REQUEUE_AFTER_SECONDS = 60
    return destination_set_sftp(supplier=acme, hosted=True, interval_minutes=1)


def _drop(name: str, number: str, *, closed_ago: float | None, slug: str = "acme") -> None:
    updates = supplier_folder(slug) / "updates"
    (updates / name).write_text(
        f"order_number,action,line,carrier,tracking_number\n{number},ship,1,UPS,1Z{name[:4]}\n"
    )
    if closed_ago is not None:
        upload_closed_mark(slug, name)
        mark = hosted_root() / ".closed" / slug / name
        then = time.time() - closed_ago
        os.utime(mark, (then, then))


def test_a_closed_upload_whose_task_was_lost_is_applied_after_the_next_sweep(
    hosted, retailer, tasks_inline
):
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("lost.csv", order.number, closed_ago=120)

    assert deliveries_sweep().update_files_queued == 1

    updates = supplier_folder("acme") / "updates"
    assert (updates / "processed" / "lost.csv").exists() and not (updates / "lost.csv").exists()
    assert "applied" in (updates / "results" / "lost.csv.results.csv").read_text()
    assert Shipment.objects.filter(order=order, tracking_number="1Zlost").count() == 1
    assert not (hosted_root() / ".closed" / "acme" / "lost.csv").exists()

    assert deliveries_sweep().update_files_queued == 0  # nothing left: applied once
    sftp_run(destination_id=hosted.pk)
    assert Shipment.objects.filter(order=order).count() == 1
    assert UpdateFile.objects.filter(name="lost.csv").count() == 1


@pytest.mark.parametrize("drop", ["off", "never set"])
def test_a_supplier_whose_drop_is_off_still_has_its_lost_uploads_applied(
    drop, hosted, retailer, tasks_inline
):
    """Credentials let a supplier upload update files with its hosted drop off (or with no
    drop at all): their recovery does not wait on a drop's run, which never comes."""
    if drop == "off":
        Destination.objects.filter(pk=hosted.pk).update(enabled=False)
    else:
        Destination.objects.filter(pk=hosted.pk).delete()
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("late.csv", order.number, closed_ago=120)

    deliveries_sweep()

    assert Shipment.objects.filter(order=order, tracking_number="1Zlate").count() == 1
    assert (supplier_folder("acme") / "updates" / "processed" / "late.csv").exists()


@pytest.fixture
def broker_queue():
    """The real broker's default queue (Redis), emptied before and after; no worker reads it
    here, so what the sweep sends stays there to be counted."""
    from celery import current_app

    from delivery.queue import broker_backoff_reset

    broker_backoff_reset()
    with current_app.connection_for_write() as conn:
        queue = conn.SimpleQueue(current_app.conf.task_default_queue)
        queue.clear()
        yield queue
        queue.clear()
        queue.close()


def test_a_slow_task_is_not_queued_again_on_every_sweep(hosted, retailer, broker_queue):
    """Queued again once per DELIVERY_REQUEUE_AFTER_SECONDS, not once per sweep: the mark is
    touched when it is queued (here the task waits in the broker, unread)."""
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("slow.csv", order.number, closed_ago=120)

    deliveries_sweep()
    deliveries_sweep()

    assert broker_queue.qsize() == 1
    message = broker_queue.get(timeout=5)
    message.ack()
    assert message.headers["task"] == "delivery.hosted_update_apply"
    assert message.headers["argsrepr"] == repr(["acme", "slow.csv"])
    assert (supplier_folder("acme") / "updates" / "slow.csv").exists()
    assert not Shipment.objects.exists()


def test_partial_and_fresh_uploads_are_left_alone(hosted, retailer):
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _drop("part.csv", order.number, closed_ago=None)  # connection lost mid-upload: no mark
    _drop("new.csv", order.number, closed_ago=5)  # its task is on its way

    deliveries_sweep()
    sftp_run(destination_id=hosted.pk)

    updates = supplier_folder("acme") / "updates"
    assert (updates / "part.csv").exists() and (updates / "new.csv").exists()
    assert not list((updates / "results").iterdir())
    assert not UpdateFile.objects.exists() and not Shipment.objects.exists()
