"""A supplier's own SFTP server going away while its update files are collected: the real
sshd (testsupport/sshd.py) is stopped mid-run; each run is the beat's own task, run here."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from delivery.channels.sftp import updates as own_updates
from delivery.tests.test_sftp import place, sftp_destination
from delivery.tests.test_sftp_run_retry import beat
from delivery.tests.test_sftp_updates_own_server import _give
from orders.models import Order, UpdateFile
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _ship_file(updates, order, name, tracking):
    path = updates / name
    path.write_text(
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,{tracking}\n"
    )
    return path


def test_a_connection_dropped_mid_collect_fails_the_run_cleanly_and_applies_nothing_twice(
    acme,
    retailer,
    sftp_server,
    monkeypatch,
    caplog,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    destination = sftp_destination(acme, sftp_server)  # updates directory: "updates"
    updates = sftp_server.make_dir("updates")
    first, second = place(retailer, 2)
    for path in (
        _ship_file(updates, first, "a.csv", "1ZDROPA"),
        _ship_file(updates, second, "b.csv", "1ZDROPB"),
    ):
        _give(sftp_server, path)
    port = sftp_server.port
    real_answer = own_updates.update_answer

    def applied_then_the_server_goes(**kwargs):
        # a.csv is applied (committed); the supplier's server dies before it is answered.
        answer = real_answer(**kwargs)
        sftp_server.stop()
        return answer

    monkeypatch.setattr(own_updates, "update_answer", applied_then_the_server_goes)
    start = timezone.now()
    with caplog.at_level(logging.WARNING, logger="delivery.channels.sftp.updates"):
        with time_machine.travel(start, tick=True):
            # The run's task ends cleanly: before, SSHException came out of it (a traceback).
            assert beat(django_capture_on_commit_callbacks) == [destination.pk]

    assert "update files not collected" in caplog.text
    assert (updates / "a.csv").exists() and (updates / "b.csv").exists()
    assert not (updates / "processed").exists()
    assert Order.objects.get(pk=first.pk).shipments.count() == 1
    assert not Order.objects.get(pk=second.pk).shipments.exists()
    # The run counts as failed: it is due again at its retry time, not a whole interval later.
    destination.refresh_from_db()
    assert destination.sftp_failed_runs == 1
    assert destination.sftp_retry_at <= start + timedelta(seconds=65)

    monkeypatch.setattr(own_updates, "update_answer", real_answer)
    sftp_server.start(port=port)
    with time_machine.travel(start + timedelta(seconds=60), tick=True):
        assert beat(django_capture_on_commit_callbacks) == [destination.pk]  # its retry

    assert "already applied" in (updates / "results" / "a.csv.results.csv").read_text()
    assert "applied" in (updates / "results" / "b.csv.results.csv").read_text()
    assert sorted(p.name for p in (updates / "processed").iterdir()) == ["a.csv", "b.csv"]
    assert Order.objects.get(pk=first.pk).shipments.count() == 1  # a.csv applied once
    assert Order.objects.get(pk=second.pk).shipments.count() == 1
    assert UpdateFile.objects.filter(supplier=acme).count() == 2
    destination.refresh_from_db()
    assert destination.sftp_failed_runs == 0 and destination.sftp_retry_at is None
