"""Temporary files nobody will finish are removed from the hosted folders, and nothing else.

A client that uploads under a temporary name (WinSCP's ".filepart", others' ".part", ".tmp")
and loses its connection before the rename leaves that file in updates/ for good: it is never
applied, and it holds the supplier's quota. A worker killed while writing an order file leaves
its temporary dot file. The hourly task removes both once unchanged for
HOSTED_SFTP_LEFTOVER_HOURS; a file under its final name stays, whatever its name holds.
"""

import os
import time

import pytest

from delivery.hosted.quota import folder_bytes
from delivery.hosted.storage import hosted_root, supplier_folder, upload_closed_mark
from delivery.tasks import hosted_leftovers_remove


@pytest.fixture
def root(settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    settings.HOSTED_SFTP_LEFTOVER_HOURS = 24
    return hosted_root()


def _file(path, *, hours_ago: float, size: int = 1000):
    path.write_bytes(b"x" * size)
    then = time.time() - hours_ago * 3600
    os.utime(path, (then, then))
    return path


def test_old_temporary_files_go_and_every_other_file_stays(root):
    acme, bolt = supplier_folder("acme"), supplier_folder("bolt")
    gone = [
        _file(acme / "updates" / "ship.csv.filepart", hours_ago=25),
        _file(acme / "updates" / "ship-2.csv.part", hours_ago=30),
        _file(acme / "updates" / "big.tmp", hours_ago=48),
        _file(acme / "updates" / "edit.csv~", hours_ago=25),
        _file(acme / "orders" / ".ACM-000001.csv.k3j4l5m6.part", hours_ago=25),
        _file(bolt / "updates" / "results" / ".x.results.csv.abcdefgh.part", hours_ago=25),
    ]
    kept = [
        _file(acme / "updates" / "recent.csv.filepart", hours_ago=2),  # may still be going
        _file(acme / "updates" / "cut-off.csv", hours_ago=100),  # final name: the supplier's
        _file(acme / "updates" / "notes.txt", hours_ago=100),
        _file(acme / "orders" / "ACM-000002-ref.tmp.csv", hours_ago=100),  # an order file
        _file(acme / "orders" / "ACM-000003.part", hours_ago=100),  # an order file too
        _file(acme / "updates" / "processed" / "old.csv", hours_ago=100),
        _file(bolt / "orders" / ".ACM-000004.csv.abcdefgh.part", hours_ago=1),
    ]
    upload_closed_mark("acme", "cut-off.csv")
    mark = root / ".closed" / "acme" / "cut-off.csv"
    os.utime(mark, (time.time() - 100 * 3600,) * 2)
    outside = _file(root.parent / "elsewhere.part", hours_ago=100)
    (acme / "updates" / "link.part").symlink_to(outside)
    before = folder_bytes(str(acme))

    assert hosted_leftovers_remove() == len(gone)

    assert [p for p in gone if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert mark.exists() and outside.exists() and (acme / "updates" / "link.part").is_symlink()
    assert folder_bytes(str(acme)) == before - 5000  # the quota counts the room freed
    assert hosted_leftovers_remove() == 0


def test_nothing_to_do_without_a_hosted_root(settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "never-made")
    assert hosted_leftovers_remove() == 0
    assert not (tmp_path / "never-made").exists()


def test_the_task_is_on_beat_hourly(settings):
    from datetime import timedelta

    entry = settings.CELERY_BEAT_SCHEDULE["delivery-hosted-leftovers"]
    assert entry["task"] == "delivery.hosted_leftovers_remove"
    assert entry["schedule"] == timedelta(hours=1)
