"""A pending update file's page previews its first UPDATE_FILE_PREVIEW_ROWS rows only, so a
page view costs the same for any size of file (it used to dry-run the whole file on every
view: 16 s and 88 MB for 60,000 rows); applying still takes every row."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import strip_tags

from orders.models import UpdateFile

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
