"""A deleted supplier's hosted SFTP folder is moved aside once the deletion commits: its slug
may be given to a new supplier, which found the old one's order files, update files and
results in its own folder (found in review)."""

import pytest

from delivery.hosted.storage import hosted_root, supplier_folder, upload_closed_mark
from suppliers.models import Supplier
from testsupport.factories import make_supplier


@pytest.fixture
def root(settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    return hosted_root()


@pytest.mark.django_db
def test_deleting_a_supplier_moves_its_folder_where_no_supplier_sees_it(
    root, django_capture_on_commit_callbacks
):
    """The admin refuses it (its destinations may not be deleted there): deleted in a shell,
    as ops would, with what cascades from it."""
    dune = make_supplier(slug="dune")
    folder = supplier_folder("dune")
    (folder / "orders" / "DUN-000001.csv").write_text("number\nDUN-000001\n")
    (folder / "updates" / "ship.csv").write_text("order_number,action\n")
    upload_closed_mark("dune", "ship.csv")
    with django_capture_on_commit_callbacks(execute=True):
        dune.delete()
    assert not Supplier.objects.filter(slug="dune").exists()

    assert not (root / "dune").exists() and not (root / ".closed" / "dune").exists()
    (retired,) = (root / ".retired").iterdir()
    assert retired.name.startswith("dune.")
    assert (retired / "orders" / "DUN-000001.csv").read_text() == "number\nDUN-000001\n"

    # A new supplier given the slug starts with a folder of its own, empty.
    make_supplier(slug="dune")
    fresh = supplier_folder("dune")
    assert [p for p in fresh.rglob("*") if p.is_file()] == []


@pytest.mark.django_db
def test_a_deletion_rolled_back_moves_nothing(root, django_capture_on_commit_callbacks):
    from django.db import transaction

    dune = make_supplier(slug="dune")
    (supplier_folder("dune") / "orders" / "DUN-000001.csv").write_text("x")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                dune.delete()
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert (root / "dune" / "orders" / "DUN-000001.csv").exists()
    assert not (root / ".retired").exists()


@pytest.mark.django_db
def test_a_supplier_with_no_folder_is_deleted_as_before(root, django_capture_on_commit_callbacks):
    dune = make_supplier(slug="dune")
    with django_capture_on_commit_callbacks(execute=True):
        dune.delete()
    assert not (root / ".retired").exists()
