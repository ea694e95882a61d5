"""Update files on a supplier's own SFTP server (the real test sshd), picked up on the run."""

from __future__ import annotations

import os

import pytest

from delivery.services import sftp_run
from delivery.tests.test_sftp import place, sftp_destination
from orders.models import Order, UpdateFile
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _give(server, path):
    """A file we drop as the supplier would, owned by the SFTP account so it can move it."""
    if os.geteuid() == 0:
        os.chown(path, server._uid, server._gid)


def test_update_files_are_applied_on_the_run_moved_and_answered(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server)  # updates directory: "updates"
    updates = sftp_server.make_dir("updates")
    [order] = place(retailer)
    ship = updates / "ship.csv"
    ship.write_text(
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZOWN1\n"
    )
    bad = updates / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00 not a csv")
    for name in (".dot.csv", "ship.csv.part", "readme.txt"):
        (updates / name).write_text("order_number,action\n")
    for path in updates.iterdir():
        _give(sftp_server, path)

    sftp_run(destination_id=destination.pk)

    assert (updates / "processed" / "ship.csv").exists() and not ship.exists()
    assert "applied" in (updates / "results" / "ship.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZOWN1").exists()
    assert (updates / "failed" / "bad.csv").exists()
    assert "error" in (updates / "results" / "bad.csv.results.csv").read_text()
    # Left alone: dot files, temporary names, other extensions.
    left = sorted(p.name for p in updates.iterdir() if p.is_file())
    assert left == [".dot.csv", "readme.txt", "ship.csv.part"]

    # The same bytes dropped again are answered, not applied twice; nothing is overwritten.
    (updates / "ship.csv").write_bytes((updates / "processed" / "ship.csv").read_bytes())
    _give(sftp_server, updates / "ship.csv")
    sftp_run(destination_id=destination.pk)
    assert "already applied" in (updates / "results" / "ship.csv.results.csv").read_text()
    assert len(list((updates / "processed").iterdir())) == 2
    assert UpdateFile.objects.filter(supplier=acme).count() == 1  # ship.csv once, bad.csv never
    assert Order.objects.get(pk=order.pk).shipments.count() == 1


def test_no_updates_directory_is_not_an_error(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server)
    assert sftp_run(destination_id=destination.pk) == {}
    assert not UpdateFile.objects.exists()


def test_a_file_still_growing_is_left_for_the_next_run(acme, retailer, sftp_server, monkeypatch):
    import paramiko

    destination = sftp_destination(acme, sftp_server)
    updates = sftp_server.make_dir("updates")
    [order] = place(retailer)
    growing = updates / "ship.csv"
    growing.write_text("order_number,action,line,carrier,tracking_number\n")
    _give(sftp_server, growing)
    real_stat = paramiko.SFTPClient.stat

    def stat_while_the_supplier_writes(client, path):
        # The supplier's upload goes on between our listing and our second look.
        if path.endswith("ship.csv"):
            with growing.open("a") as out:
                out.write(f"{order.number},ship,1,UPS,1ZGROW\n")
        return real_stat(client, path)

    monkeypatch.setattr(paramiko.SFTPClient, "stat", stat_while_the_supplier_writes)
    sftp_run(destination_id=destination.pk)
    assert growing.exists() and not (updates / "results").exists()
    assert not UpdateFile.objects.exists()

    monkeypatch.setattr(paramiko.SFTPClient, "stat", real_stat)
    sftp_run(destination_id=destination.pk)  # complete now: taken
    assert (updates / "processed" / "ship.csv").exists()
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZGROW").exists()


def test_a_file_written_moments_ago_is_left_until_it_settles(acme, retailer, sftp_server, settings):
    """A slow upload straight under its final name looks the same at two stats taken
    milliseconds apart (the supplier's client is between two writes), and its first rows
    were applied, the last one cut short ("12" read as "1"; found in review). A file is taken
    only once its server has not changed it for SFTP_UPDATE_SETTLE_SECONDS, by the server's
    own clock."""
    settings.SFTP_UPDATE_SETTLE_SECONDS = 60
    destination = sftp_destination(acme, sftp_server)
    updates = sftp_server.make_dir("updates")
    [order] = place(retailer)
    ship = updates / "ship.csv"
    ship.write_text(
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZSETTLE\n"
    )
    _give(sftp_server, ship)

    sftp_run(destination_id=destination.pk)
    assert ship.exists() and not (updates / "results").exists()
    assert not UpdateFile.objects.exists()
    assert not Order.objects.get(pk=order.pk).shipments.exists()
    # Our clock probe leaves nothing behind.
    assert sorted(p.name for p in updates.iterdir()) == ["ship.csv"]

    # Untouched for two minutes now (as the server dates it): taken on the next run.
    written = ship.stat().st_mtime
    os.utime(ship, (written - 120, written - 120))
    sftp_run(destination_id=destination.pk)
    assert (updates / "processed" / "ship.csv").exists() and not ship.exists()
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZSETTLE").exists()


def test_taking_a_file_does_not_list_the_processed_folder(acme, retailer, sftp_server, monkeypatch):
    """processed/ keeps every file ever taken (nothing is deleted), so listing it for each
    file taken, to find a free name, cost a run more with every file a supplier ever sent,
    and held all their names at once (found in review). Only the one name is looked up; a
    name already there still gets a dated variant. The listings are counted by wrapping the
    client's own method: what is listed is the outcome here."""
    from delivery.channels.sftp.upload import PipelinedSFTPClient

    destination = sftp_destination(acme, sftp_server)
    updates = sftp_server.make_dir("updates")
    processed = sftp_server.make_dir("updates/processed")
    [order] = place(retailer)
    for n in range(3):
        (processed / f"old-{n}.csv").write_text("order_number,action\n")
    (processed / "ship.csv").write_text("order_number,action\n")
    ship = updates / "ship.csv"
    ship.write_text(
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZLIST\n"
    )
    for path in [*updates.iterdir(), *processed.iterdir()]:
        _give(sftp_server, path)
    listed = []
    real_listdir = PipelinedSFTPClient.listdir_attr_utf8

    def listdir(client, path="."):
        listed.append(path)
        return real_listdir(client, path)

    monkeypatch.setattr(PipelinedSFTPClient, "listdir_attr_utf8", listdir)
    sftp_run(destination_id=destination.pk)

    assert not ship.exists()
    dated = [
        p.name for p in processed.iterdir() if p.name.startswith("ship.") and p.name != "ship.csv"
    ]
    assert len(dated) == 1 and dated[0].endswith(".csv")
    assert (processed / "ship.csv").read_text() == "order_number,action\n"  # not overwritten
    assert not any(path.rstrip("/").endswith("processed") for path in listed), listed
