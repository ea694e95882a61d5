"""Update files whose names are near the file system's limit (255 bytes) are answered too.

Found in review: a supplier's update file named near 255 bytes was applied, and then its
result (<name>.results.csv) or the temporary twin that result is written under was too long
to create. On the hosted server the task failed after applying and the file stayed in
updates/, queued again and failing on every sweep; on a supplier's own server the run stopped
at that file, so no update file after it was ever taken. Derived names are now shortened to
fit (storage.name_fitted), and on a supplier's own server one file the server refuses no
longer stops the others.
"""

from __future__ import annotations

import os

import pytest

from delivery.hosted.storage import (
    NAME_MAX,
    file_write_atomic,
    hosted_root,
    name_fitted,
    supplier_folder,
    upload_closed_mark,
)
from delivery.hosted.updates import free_name, hosted_update_apply, result_name
from delivery.services import destination_set_sftp, sftp_run
from delivery.tests.test_sftp import place, sftp_destination
from orders.models import Shipment
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

LONG = "u" * 236 + ".csv"  # 240 bytes: a name ext4 takes, its result name would not be


def size(name: str) -> int:
    return len(name.encode("utf-8", "surrogateescape"))


def ship_row(number: str, tracking: str) -> str:
    return f"order_number,action,line,carrier,tracking_number\n{number},ship,1,UPS,{tracking}\n"


def test_derived_names_fit_and_stay_apart():
    assert result_name("monday.csv") == "monday.csv.results.csv"  # short names as before
    assert name_fitted("a" * 200, ".x") == "a" * 200 + ".x"
    twin = "u" * 235 + "v.csv"
    for long in (LONG, twin, "é" * 125 + ".csv", "x\udcff" * 125 + ".csv"):
        assert size(long) <= NAME_MAX
        fitted = result_name(long)
        assert size(fitted) <= NAME_MAX and fitted.endswith(".results.csv")
        fitted.encode("utf-8", "surrogateescape")  # whole characters only
        dated = free_name({long}, long)
        assert size(dated) <= NAME_MAX and dated.endswith(".csv") and dated != long
    assert result_name(LONG) != result_name(twin)  # they differ only past the cut
    assert result_name(LONG).startswith("u" * 200)


def test_a_temporary_twin_of_a_long_name_fits(tmp_path):
    name = "o" * 250 + ".csv"
    written = file_write_atomic(tmp_path, name, b"data")
    assert written.read_bytes() == b"data" and os.listdir(tmp_path) == [name]


@pytest.fixture
def hosted(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    return destination_set_sftp(supplier=acme, hosted=True, interval_minutes=1)


def test_a_hosted_update_file_with_a_long_name_is_applied_answered_and_moved_once(
    hosted, retailer, tasks_inline
):
    [order] = place(retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    updates = supplier_folder("acme") / "updates"
    (updates / LONG).write_text(ship_row(order.number, "1ZLONG"))
    upload_closed_mark("acme", LONG)

    assert hosted_update_apply(slug="acme", name=LONG) == "processed"

    assert Shipment.objects.filter(order=order, tracking_number="1ZLONG").count() == 1
    assert os.listdir(updates / "processed") == [LONG] and not (updates / LONG).exists()
    (result,) = os.listdir(updates / "results")
    assert result == result_name(LONG)
    assert "applied" in (updates / "results" / result).read_text()
    assert not (hosted_root() / ".closed" / "acme" / LONG).exists()  # not queued again

    # The same name once more: a dated variant in processed/, also within the limit.
    (updates / LONG).write_text(ship_row(order.number, "1ZLONG"))
    assert hosted_update_apply(slug="acme", name=LONG) == "processed"
    assert len(os.listdir(updates / "processed")) == 2
    assert all(size(name) <= NAME_MAX for name in os.listdir(updates / "processed"))
    assert Shipment.objects.filter(order=order).count() == 1  # answered "unchanged"


def test_on_the_suppliers_server_a_long_name_and_a_refused_file_stop_no_other(
    acme, retailer, sftp_server
):
    destination = sftp_destination(acme, sftp_server)  # updates directory: "updates"
    updates = sftp_server.make_dir("updates")
    orders = place(retailer, 4)
    names = ["w" * 246 + ".csv", "locked.csv", "s1.csv", "s2.csv"]
    for name, order in zip(names, orders, strict=True):
        (updates / name).write_text(ship_row(order.number, f"1Z{name[:2]}"))
    sftp_server._own(updates)
    (updates / "locked.csv").chmod(0)  # the SFTP account cannot read this one

    sftp_run(destination_id=destination.pk)

    assert sorted(os.listdir(updates / "processed")) == sorted([names[0], "s1.csv", "s2.csv"])
    assert sorted(os.listdir(updates / "results")) == sorted(
        result_name(name) for name in names if name != "locked.csv"
    )
    shipped = set(Shipment.objects.values_list("order__number", flat=True))
    assert shipped == {orders[0].number, orders[2].number, orders[3].number}
    assert (updates / "locked.csv").exists()  # left where it was, for the next run
