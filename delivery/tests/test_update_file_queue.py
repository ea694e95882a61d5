"""Large update files go to a worker, and a file whose worker died is resumed (issue 13).

The portal queues a file of more than UPDATE_FILE_INLINE_ROWS rows as the task
`delivery.update_file_apply` (task_publish, on the real broker the settings name), and its
page shows progress until the worker is done. A worker killed mid-file leaves the file
applying with its lease running out, the rows it applied answered and committed with their
changes: the recovery sweep queues the file again, and the next worker applies the rest,
each row once; after UPDATE_FILE_MAX_ATTEMPTS the file is marked failed instead.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from delivery import tasks as _tasks  # noqa: F401  (registers the tasks, as a worker does)
from delivery.queue import broker_backoff_reset
from delivery.services import deliveries_sweep
from orders.models import (
    Cancellation,
    Order,
    OrderEvent,
    Shipment,
    UpdateFile,
    UpdateFileRow,
    UpdateFileStatus,
)
from orders.updates import (
    update_file_apply,
    update_file_receive,
    update_file_result_text,
)
from testsupport.factories import make_supplier_user, place_order
from testsupport.processes import celery_broker_down

LINES = [{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 2}]
HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"


def file_for(orders) -> bytes:
    rows = []
    for order in orders:
        rows += [
            f"{order.number},acknowledge,,,,,,",
            f"{order.number},cancel,1,1,out_of_stock,One short,,",
            f"{order.number},ship,,,,,UPS,1Z{order.pk}",
        ]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def seen(orders) -> list:
    """What anyone can see of each order: status, version, lines, records, events."""
    out = []
    for order in orders:
        order.refresh_from_db()
        out.append(
            (
                order.status,
                order.version,
                sorted(order.lines.values_list("quantity_cancelled", "quantity_shipped")),
                Cancellation.objects.filter(order=order).count(),
                Shipment.objects.filter(order=order).count(),
                list(OrderEvent.objects.filter(order=order).values_list("type", flat=True)),
            )
        )
    return out


def applied_once(order) -> tuple:
    return (
        "shipped",
        4,
        [(0, 2), (1, 1)],
        1,
        1,
        ["order.created", "order.acknowledged", "order.lines_cancelled", "order.shipment_created"],
    )


@pytest.fixture
def portal(acme, retailer, client):
    ann = make_supplier_user(supplier=acme, username="ann")
    client.force_login(ann)
    orders = [place_order(retailer=retailer, lines=LINES)[0] for _ in range(3)]
    return client, orders


def _queued_messages() -> list[tuple[str, list]]:
    """The task messages on the broker's default queue, taken off it (as a worker would)."""
    taken = []
    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(current_app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = queue.get(timeout=2)
                except queue.Empty:
                    break
                args = message.payload[0]
                taken.append((message.headers["task"], args))
                message.ack()
        finally:
            queue.close()
    return taken


def test_a_large_portal_file_is_queued_for_a_worker_and_its_page_shows_progress(portal, settings):
    client, orders = portal
    settings.UPDATE_FILE_INLINE_ROWS = 2
    settings.CELERY_TASK_ALWAYS_EAGER = False
    broker_backoff_reset()
    _queued_messages()  # an empty queue to start
    before = seen(orders)
    client.post(
        reverse("orders:updates"),
        {"file": SimpleUploadedFile("big.csv", file_for(orders), "text/csv")},
    )
    update_file = UpdateFile.objects.get()

    response = client.post(reverse("orders:update-file", args=[update_file.pk]))

    # queued on the real broker, nothing applied in the request
    assert response.status_code == 302
    messages = _queued_messages()
    assert messages == [("delivery.update_file_apply", [update_file.pk])]
    assert seen(orders) == before
    page = strip_tags(client.get(response["Location"]).content.decode())
    assert "Being applied: 0 of 9 rows answered so far" in page
    progress = client.get(reverse("orders:update-progress", args=[update_file.pk])).json()
    assert progress == {"status": "applying", "done": 0, "total": 9}

    # the worker runs the message it took
    name, args = messages[0]
    current_app.tasks[name].apply(args=args)

    assert [s for s in seen(orders)] == [applied_once(o) for o in orders]
    progress = client.get(reverse("orders:update-progress", args=[update_file.pk])).json()
    assert progress == {"status": "applied", "done": 9, "total": 9}
    page = strip_tags(client.get(response["Location"]).content.decode())
    assert "9 applied, 0 unchanged, 0 errors" in page
    result = client.get(reverse("orders:update-result", args=[update_file.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(result.streaming_content).decode())))
    assert [r["result"] for r in rows] == ["applied"] * 9


def test_with_the_broker_down_a_large_portal_file_is_applied_in_the_request(portal, settings):
    """A real broker that is down (a loopback port nothing listens on): nothing waits on a
    message that was never sent."""
    client, orders = portal
    settings.UPDATE_FILE_INLINE_ROWS = 2
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.post(
        reverse("orders:updates"),
        {"file": SimpleUploadedFile("big.csv", file_for(orders), "text/csv")},
    )
    update_file = UpdateFile.objects.get()
    with celery_broker_down():
        response = client.post(reverse("orders:update-file", args=[update_file.pk]))

    assert response.status_code == 302
    update_file.refresh_from_db()
    assert update_file.status == UpdateFileStatus.APPLIED
    assert seen(orders) == [applied_once(o) for o in orders]


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


def _crash_after_first_order(acme, orders, monkeypatch) -> UpdateFile:
    """Apply a file of three orders, one order a batch, and die after the first batch: the
    state a killed worker leaves (applying, lease running, one order's rows committed)."""
    monkeypatch.setattr("orders.updates.rows.BATCH_GROUPS", 1)
    update_file = update_file_receive(
        supplier=acme, name="killed.csv", content=file_for(orders), source="portal"
    )

    def die(done: int, total: int) -> None:
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        update_file_apply(update_file=update_file, progress=die)
    update_file.refresh_from_db()
    return update_file


def test_a_file_whose_worker_died_is_resumed_by_the_sweep_and_each_row_applies_once(
    acme, retailer, tasks_inline, monkeypatch
):
    orders = [place_order(retailer=retailer, lines=LINES)[0] for _ in range(3)]
    untouched = seen(orders)
    update_file = _crash_after_first_order(acme, orders, monkeypatch)
    first = Order.objects.get(number=min(o.number for o in orders))

    # as a crash leaves it: applying, leased, the first order's rows done with their changes
    assert update_file.status == UpdateFileStatus.APPLYING
    assert update_file.lease_until > timezone.now()
    answered = UpdateFileRow.objects.filter(update_file=update_file).exclude(result="")
    assert sorted(answered.values_list("order_number", "result")) == [(first.number, "applied")] * 3
    assert seen([first]) == [applied_once(first)]
    assert seen([o for o in orders if o.pk != first.pk]) == [
        s for o, s in zip(orders, untouched, strict=True) if o.pk != first.pk
    ]
    # the lease still runs: the sweep leaves it to its worker
    assert deliveries_sweep().update_files_queued == 0

    UpdateFile.objects.filter(pk=update_file.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert deliveries_sweep().update_files_queued == 1

    update_file.refresh_from_db()
    assert (update_file.status, update_file.attempts) == (UpdateFileStatus.APPLIED, 2)
    assert (update_file.applied_count, update_file.error_count) == (9, 0)
    assert seen(orders) == [applied_once(o) for o in orders]  # each row applied once
    rows = list(csv.DictReader(io.StringIO(update_file_result_text(update_file=update_file))))
    assert [r["result"] for r in rows] == ["applied"] * 9
    assert deliveries_sweep().update_files_queued == 0


def test_a_file_that_keeps_killing_its_worker_is_marked_failed_and_keeps_what_it_applied(
    acme, retailer, tasks_inline, monkeypatch, client, settings
):
    orders = [place_order(retailer=retailer, lines=LINES)[0] for _ in range(3)]
    untouched = seen(orders)
    update_file = _crash_after_first_order(acme, orders, monkeypatch)
    first = Order.objects.get(number=min(o.number for o in orders))
    UpdateFile.objects.filter(pk=update_file.pk).update(
        attempts=settings.UPDATE_FILE_MAX_ATTEMPTS,
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    assert deliveries_sweep().update_files_queued == 1

    update_file.refresh_from_db()
    assert update_file.status == UpdateFileStatus.FAILED
    assert (update_file.applied_count, update_file.error_count) == (3, 6)
    assert seen([first]) == [applied_once(first)]
    others = [o for o in orders if o.pk != first.pk]
    assert seen(others) == [s for o, s in zip(orders, untouched, strict=True) if o.pk != first.pk]
    rows = list(csv.DictReader(io.StringIO(update_file_result_text(update_file=update_file))))
    by_order = {(r["order_number"], r["result"]) for r in rows}
    assert by_order == {(first.number, "applied")} | {(o.number, "error") for o in others}
    assert all(
        r["message"].startswith("Not applied: applying this file stopped")
        for r in rows
        if r["result"] == "error"
    )
    # the supplier sees it failed, and gets the result
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    page = strip_tags(
        client.get(reverse("orders:update-file", args=[update_file.pk])).content.decode()
    )
    assert "Failed: applying stopped" in page
    result = client.get(reverse("orders:update-result", args=[update_file.pk]))
    assert result.status_code == 200
    assert deliveries_sweep().update_files_queued == 0


def test_rows_another_applier_answered_are_not_applied_again(
    acme, retailer, tasks_inline, monkeypatch
):
    """Two appliers at once (a lease that ran out while its worker was only slow): the rows'
    outcomes are written with the changes, only where none is yet, so the later one rolls
    its order back."""
    orders = [place_order(retailer=retailer, lines=LINES)[0] for _ in range(3)]
    update_file = _crash_after_first_order(acme, orders, monkeypatch)
    second = sorted(orders, key=lambda o: o.number)[1]
    before = seen([second])
    # the other applier: it answered the second order's rows (and committed its changes)
    UpdateFileRow.objects.filter(update_file=update_file, order_number=second.number).update(
        result="applied", message="Done by the other applier."
    )
    UpdateFile.objects.filter(pk=update_file.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )

    deliveries_sweep()

    assert seen([second]) == before  # not applied a second time
    rows = list(
        csv.DictReader(io.StringIO(update_file_result_text(update_file=UpdateFile.objects.get())))
    )
    assert {r["message"] for r in rows if r["order_number"] == second.number} == {
        "Done by the other applier."
    }
