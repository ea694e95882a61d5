"""The portal's update-file pages (issue 13 point 3): upload, preview that changes nothing,
apply on confirmation, result download, template, past uploads; tenancy."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import strip_tags

from orders.models import UpdateFile
from orders.updates import COLUMNS
from testsupport.factories import make_supplier_user, place_order

from .test_update_files import THREE_LINES, world


@pytest.fixture
def setup(acme, bolt, retailer, client):
    ann = make_supplier_user(supplier=acme, username="ann")
    make_supplier_user(supplier=bolt, username="bob")
    a, b = (place_order(retailer=retailer, lines=THREE_LINES)[0] for _ in range(2))
    client.force_login(ann)
    content = (
        "order_number,action,line,quantity,reason,note,carrier,tracking_number\n"
        f"{a.number},cancel,1,1,out_of_stock,Short,,\n"
        f"{b.number},ship,,,,,UPS,1Z1\n"
        f"{a.number},ship,9,1,,,UPS,1Z2\n"
    ).encode()
    return {"client": client, "a": a, "b": b, "content": content}


def upload(client, content: bytes, name="friday.csv"):
    return client.post(
        reverse("orders:updates"), {"file": SimpleUploadedFile(name, content, "text/csv")}
    )


def test_upload_previews_without_changing_anything_then_applies_on_confirmation(setup):
    client, a, b = setup["client"], setup["a"], setup["b"]
    before = world(a, b)

    response = upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:update-file", args=[update_file.pk])
    page = client.get(response["Location"]).content.decode()

    assert "Preview: nothing has changed yet." in page
    assert "Would cancel line 1 x1" in page and "Would ship every open unit by UPS" in page
    assert f"Order {a.number} has no line 9." in page
    assert world(a, b) == before

    response = client.post(reverse("orders:update-file", args=[update_file.pk]))
    assert response.status_code == 302
    assert world(a, b) != before
    b.refresh_from_db()
    assert b.status == "shipped"
    page = client.get(response["Location"]).content.decode()
    assert "2 applied, 0 unchanged, 1 errors" in page

    result = client.get(reverse("orders:update-result", args=[update_file.pk]))
    assert result["Content-Disposition"] == 'attachment; filename="friday.results.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(result.streaming_content).decode())))
    assert [(r["row"], r["result"]) for r in rows] == [
        ("2", "applied"),
        ("3", "applied"),
        ("4", "error"),
    ]

    progress = client.get(reverse("orders:update-progress", args=[update_file.pk])).json()
    assert progress == {"status": "applied", "done": 3, "total": 3}

    listing = client.get(reverse("orders:updates")).content.decode()
    assert "friday.csv" in listing and ">2</td>" in listing

    # the order's timeline names the file and row
    detail = client.get(reverse("orders:detail", args=[a.number])).content.decode()
    assert "file:friday.csv row 2" in detail


def test_the_same_file_uploaded_again_changes_nothing(setup):
    client = setup["client"]
    upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    client.post(reverse("orders:update-file", args=[update_file.pk]))
    before = world(setup["a"], setup["b"])

    response = upload(client, setup["content"], name="again.csv")
    page = client.get(response["Location"]).content.decode()
    again = client.post(reverse("orders:update-file", args=[update_file.pk]), follow=True)

    assert "already applied" in page
    assert "already applied" in again.content.decode()
    assert world(setup["a"], setup["b"]) == before
    assert UpdateFile.objects.count() == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"order_number,line\nPO-1,1\n", "action"),
        (b"\xff\xfe\x00", "UTF-8"),
        # Found in review: a file of only its header (Excel's empty rows below it) was
        # stored and "applied", 0 rows.
        (b"\xef\xbb\xbforder_number;action;;\r\n;;;\r\n;;;\r\n", "no row after it"),
    ],
)
def test_an_unreadable_file_is_a_400_naming_the_file_and_stores_nothing(setup, content, message):
    before = world(setup["a"], setup["b"])
    response = upload(setup["client"], content)
    assert response.status_code == 400
    body = response.content.decode()
    assert "file:" in body and message in body and "Nothing was changed." in body
    assert UpdateFile.objects.count() == 0
    assert world(setup["a"], setup["b"]) == before


def test_no_file_is_a_400(setup):
    before = world(setup["a"], setup["b"])
    response = setup["client"].post(reverse("orders:updates"), {})
    assert response.status_code == 400
    assert "choose a CSV file" in response.content.decode()
    assert UpdateFile.objects.count() == 0
    assert world(setup["a"], setup["b"]) == before


def test_the_template_holds_the_columns(setup):
    response = setup["client"].get(reverse("orders:update-template"))
    assert response.status_code == 200
    assert response.content.decode().strip() == ",".join(COLUMNS)


def test_another_supplier_never_sees_an_upload(setup, client, bolt):
    upload(setup["client"], setup["content"])
    update_file = UpdateFile.objects.get()
    setup["client"].post(reverse("orders:update-file", args=[update_file.pk]))
    before = world(setup["a"], setup["b"])
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="bob"))
    for name in ("orders:update-file", "orders:update-result", "orders:update-progress"):
        assert client.get(reverse(name, args=[update_file.pk])).status_code == 404
    assert client.post(reverse("orders:update-file", args=[update_file.pk])).status_code == 404
    assert "friday.csv" not in client.get(reverse("orders:updates")).content.decode()
    assert world(setup["a"], setup["b"]) == before


def test_a_file_being_applied_elsewhere_shows_its_progress_and_is_not_applied_again(setup):
    client = setup["client"]
    upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    UpdateFile.objects.filter(pk=update_file.pk).update(status="applying", progress_rows=1)
    before = world(setup["a"], setup["b"])

    page = client.get(reverse("orders:update-file", args=[update_file.pk]))
    client.post(reverse("orders:update-file", args=[update_file.pk]))

    assert page.status_code == 200
    assert "Being applied: 1 of 3 rows answered" in strip_tags(page.content.decode())
    assert world(setup["a"], setup["b"]) == before


def test_a_file_uploaded_again_while_it_is_applied_says_so_not_already_applied(setup):
    client = setup["client"]
    upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    UpdateFile.objects.filter(pk=update_file.pk).update(status="applying", progress_rows=1)
    before = world(setup["a"], setup["b"])

    again = upload(client, setup["content"])
    page = " ".join(strip_tags(client.get(again["Location"]).content.decode()).split())
    applied = client.post(reverse("orders:update-file", args=[update_file.pk]))
    after = " ".join(strip_tags(client.get(applied["Location"]).content.decode()).split())

    being = "This file is being applied now (as friday.csv); nothing is applied twice."
    assert being in page and being in after
    assert "already applied" not in page + after
    assert "Being applied: 1 of 3 rows answered" in page
    assert world(setup["a"], setup["b"]) == before and UpdateFile.objects.count() == 1


def test_a_file_given_up_part_way_uploaded_again_is_not_said_to_be_applied(setup, settings):
    """A file whose appliers kept stopping is marked failed, its unreached rows not applied:
    the same bytes uploaded again must not be told "already applied" (it was)."""
    client = setup["client"]
    settings.UPDATE_FILE_MAX_ATTEMPTS = 0  # the first applier already counts as one too many
    upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    client.post(reverse("orders:update-file", args=[update_file.pk]))
    update_file.refresh_from_db()
    assert update_file.status == "failed" and update_file.applied_count == 0
    before = world(setup["a"], setup["b"])

    again = upload(client, setup["content"], name="friday-again.csv")
    page = client.get(again["Location"]).content.decode()
    assert "stopped part way" in page and "which rows were applied and which were not" in page
    assert "already applied" not in page
    assert UpdateFile.objects.count() == 1 and world(setup["a"], setup["b"]) == before
