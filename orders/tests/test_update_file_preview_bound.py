"""A pending update file's page previews its first UPDATE_FILE_PREVIEW_ROWS rows only, so a
page view costs the same for any size of file (it used to dry-run the whole file on every
view: 16 s and 88 MB for 60,000 rows); applying still takes every row."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import strip_tags

from orders.models import UpdateFile
from orders.updates import views as update_views

from .test_update_files import world
from .test_update_files_portal import setup, upload  # noqa: F401 - the fixture is used


def test_a_file_longer_than_the_preview_shows_its_first_rows_and_applies_them_all(
    setup,  # noqa: F811
    settings,
):
    settings.UPDATE_FILE_PREVIEW_ROWS = 2
    client, a, b = setup["client"], setup["a"], setup["b"]
    before = world(a, b)

    response = upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    page = client.get(response["Location"]).content.decode()
    text = " ".join(strip_tags(page).split())

    assert "Preview of the first 2 of 3 rows: nothing has changed yet." in text
    assert "Of these, 2 would apply, 0 would change nothing and 0 have errors." in text
    assert "Apply the file (3 rows)" in text
    assert "Would cancel line 1 x1" in page and "Would ship every open unit by UPS" in page
    # The third row is past the preview: neither checked nor listed as an error.
    assert "has no line 9" not in page and "Not read." not in page
    assert world(a, b) == before
    update_file.refresh_from_db()
    assert update_file.status == "pending"

    response = client.post(reverse("orders:update-file", args=[update_file.pk]))
    page = client.get(response["Location"]).content.decode()
    assert "2 applied, 0 unchanged, 1 errors" in page
    assert f"Order {a.number} has no line 9." in page
    b.refresh_from_db()
    assert b.status == "shipped"


def test_a_file_within_the_preview_is_previewed_whole(setup, settings):  # noqa: F811
    settings.UPDATE_FILE_PREVIEW_ROWS = 3
    client = setup["client"]

    response = upload(client, setup["content"])
    text = " ".join(strip_tags(client.get(response["Location"]).content.decode()).split())

    assert "Preview: nothing has changed yet. Of 3 rows, 2 would apply" in text
    assert "Preview of the first" not in text
    assert "Apply 2 rows" in text


def test_a_finished_files_page_lists_its_first_errors_not_every_one(
    setup,  # noqa: F811
    monkeypatch,
):
    """Found in review: a finished file's page listed every error, so a file of 30,000 rows
    that all failed made a 13 MB page (13 s, 92 MB to build), and it grew with the file."""
    monkeypatch.setattr(update_views, "PREVIEW_ROWS_SHOWN", 2)
    client, a, b = setup["client"], setup["a"], setup["b"]
    content = "\n".join(
        [
            "order_number,action,line,quantity,reason,note,carrier,tracking_number",
            f"{a.number},cancel,1,1,out_of_stock,Short,,",
            *(f"PO-9999900{n},ship,,,,,UPS,1Z{n}" for n in range(1, 6)),
            f"{b.number},ship,,,,,UPS,1Z1",
            f"{a.number},acknowledge,,,,,,",
        ]
    ).encode()
    response = upload(client, content)
    update_file = UpdateFile.objects.get()
    client.post(reverse("orders:update-file", args=[update_file.pk]))

    page = client.get(response["Location"]).content.decode()
    text = " ".join(strip_tags(page).split())

    assert "2 applied, 1 unchanged, 5 errors" in text
    assert page.count('<tr class="result-error">') == 2
    assert (
        page.count('<tr class="result-applied">') + page.count('<tr class="result-unchanged">') == 2
    )
    assert "you have no order PO-99999001." in page and "PO-99999002" in page
    assert "PO-99999003" not in page
    assert "Listed: the first 2 errors, and the first 2 of the other rows." in text
    assert "The result CSV has every row." in text
    result = client.get(reverse("orders:update-result", args=[update_file.pk]))
    assert b"".join(result.streaming_content).decode().count("you have no order") == 5


def test_a_file_applied_before_rows_were_kept_lists_its_stored_result(
    setup,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setattr(update_views, "PREVIEW_ROWS_SHOWN", 1)
    client = setup["client"]
    upload(client, setup["content"])
    update_file = UpdateFile.objects.get()
    UpdateFile.objects.filter(pk=update_file.pk).update(
        status="applied",
        applied_at=update_file.created_at,
        result="row,result,message\r\n2,applied,Cancelled it.\r\n3,applied,Shipped it.\r\n"
        "4,error,No line 9.\r\n",
    )

    page = client.get(reverse("orders:update-file", args=[update_file.pk])).content.decode()
    text = " ".join(strip_tags(page).split())

    assert "Cancelled it." in page and "No line 9." in page and "Shipped it." not in page
    assert "Listed: every error, and the first 1 of the other rows." in text
