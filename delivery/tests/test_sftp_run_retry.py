"""A failed (or lost) SFTP run is due again within minutes, not a whole interval later, and
the run takes the rows waiting on a retry along; against the real sshd (testsupport/sshd.py).

The clock is moved (time_machine) to where the beat's next minutes would be; each run is the
beat's own task (`delivery.sftp_run_due`), run in this process.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from delivery import tasks
from delivery.models import Delivery, Destination
from delivery.services.recovery import sftp_run_retry_seconds
from delivery.tests.test_sftp import place, sftp_destination
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)


def files_in(directory) -> list[str]:
    return sorted(os.listdir(directory))


def beat(django_capture_on_commit_callbacks, *, run: bool = True) -> list[int]:
    """The beat's minute: which destinations' runs were queued (and, with `run`, ran)."""
    with django_capture_on_commit_callbacks(execute=run):
        return tasks.sftp_run_due()


def test_a_failed_run_is_due_the_next_minute_and_takes_rows_waiting_on_a_retry(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks
):
    destination = sftp_destination(acme, sftp_server)  # every 15 minutes
    assert destination.sftp_interval_minutes == 15
    with django_capture_on_commit_callbacks(execute=True):
        orders = place(retailer, 2)
    port = sftp_server.port
    sftp_server.stop()
    start = timezone.now()

    with time_machine.travel(start, tick=True):
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    with time_machine.travel(start + timedelta(seconds=30), tick=True):
        assert beat(django_capture_on_commit_callbacks) == []  # not before its minute
    with time_machine.travel(start + timedelta(seconds=60), tick=True):
        # The next minute's beat runs it again (before: 15 minutes later).
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    rows = list(Delivery.objects.filter(destination=destination).order_by("pk"))
    for row in rows:
        # Two counted tries; the third of the schedule is 5 minutes away.
        assert row.status == "pending" and row.attempt_count == 2
        assert f"Cannot connect to 127.0.0.1:{port}" in row.last_error
        assert row.next_attempt_at > start + timedelta(seconds=60 + 250)
    # Two runs failed in a row: the next is two minutes on, not one.
    with time_machine.travel(start + timedelta(seconds=120), tick=True):
        assert beat(django_capture_on_commit_callbacks) == []
    assert files_in(sftp_server.upload_root) == []

    sftp_server.start(port=port)
    with time_machine.travel(start + timedelta(seconds=180), tick=True):
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    # Delivered at that run, ahead of the rows' own next try, which is not counted.
    for row in rows:
        row.refresh_from_db()
        assert row.status == "delivered" and row.attempt_count == 2
        assert [a.success for a in row.attempts.order_by("pk")] == [False, False, True]
    assert files_in(sftp_server.upload_root) == sorted(f"{o.number}.csv" for o in orders)
    destination.refresh_from_db()
    assert destination.sftp_failed_runs == 0 and destination.sftp_retry_at is None
    # Healthy again: the interval rules; the next run is 15 minutes after the last.
    with time_machine.travel(start + timedelta(seconds=180 + 14 * 60), tick=True):
        assert beat(django_capture_on_commit_callbacks) == []
    with time_machine.travel(start + timedelta(seconds=180 + 15 * 60), tick=True):
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]


def test_a_run_that_never_ran_is_queued_again_the_next_minute(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks
):
    """A run queued and lost (the broker lost it, its worker was killed): the next minute
    queues another, which delivers."""
    destination = sftp_destination(acme, sftp_server)
    with django_capture_on_commit_callbacks(execute=True):
        [order] = place(retailer)
    start = timezone.now()
    with time_machine.travel(start, tick=True):
        assert beat(django_capture_on_commit_callbacks, run=False) == [destination.pk]
    assert files_in(sftp_server.upload_root) == []
    with time_machine.travel(start + timedelta(seconds=60), tick=True):
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    row = Delivery.objects.get(destination=destination)
    assert row.status == "delivered" and row.attempt_count == 1
    assert files_in(sftp_server.upload_root) == [f"{order.number}.csv"]


def test_a_server_down_for_good_still_fails_its_rows_at_the_end_of_their_schedule(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks, settings
):
    """Tries ahead of the schedule are not counted: runs every few minutes do not use up
    a row's tries, and its schedule still ends it."""
    settings.DELIVERY_RETRY_SCHEDULE = [0, 600]  # two tries, ten minutes apart
    destination = sftp_destination(acme, sftp_server)
    with django_capture_on_commit_callbacks(execute=True):
        place(retailer)
    sftp_server.stop()
    start = timezone.now()
    for minute in (0, 1, 3, 7):  # retries after 1, 2, 4 minutes
        with time_machine.travel(start + timedelta(minutes=minute), tick=True):
            assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    row = Delivery.objects.get(destination=destination)
    assert row.status == "pending" and row.attempt_count == 1
    assert row.attempts.count() == 4
    with time_machine.travel(start + timedelta(minutes=15), tick=True):  # 8 minutes on
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]
    row.refresh_from_db()
    assert row.status == "failed" and row.attempt_count == 2


@pytest.mark.parametrize(
    ("failed_runs", "interval", "seconds"),
    [(0, 15, 60), (1, 15, 120), (2, 15, 240), (3, 15, 480), (4, 15, 900), (9, 15, 900)]
    + [(4, 5, 300), (0, 1, 60), (9, 60, 900)],
)
def test_the_retry_of_a_run_backs_off_and_never_waits_past_the_interval(
    failed_runs, interval, seconds
):
    assert sftp_run_retry_seconds(failed_runs=failed_runs, interval_minutes=interval) == seconds


def test_a_disabled_destination_is_not_retried(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks
):
    destination = sftp_destination(acme, sftp_server)
    start = timezone.now()
    with time_machine.travel(start, tick=True):
        assert beat(django_capture_on_commit_callbacks, run=False) == [destination.pk]
    Destination.objects.filter(pk=destination.pk).update(enabled=False)
    with time_machine.travel(start + timedelta(seconds=60), tick=True):
        assert beat(django_capture_on_commit_callbacks) == []
