"""Format definitions that cannot be parsed are the admin form's error naming the field: a page
with the reason, never a 500, and no format or version stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.formats.spec import spec_compile
from delivery.models import FileFormat, FileFormatVersion
from delivery.tests.test_file_formats import admin_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"columns": "Sku = line.sku | pad:\u00b2"}, "columns", "width of 1 to 200"),
        ({"columns": "Sku = line.sku | zpad:\u0663"}, "columns", "width of 1 to 200"),
        ({"columns": "Sku = line.sku | pad:" + "1" * 5000}, "columns", "width of 1 to 200"),
        ({"columns": "Sku = line.sku | upper:x"}, "columns", "upper takes no value"),
        ({"file_name_pattern": "{number}}x"}, "file_name_pattern", "unbalanced { or }"),
        ({"file_name_pattern": "{number}{"}, "file_name_pattern", "unbalanced { or }"),
        ({"file_name_pattern": "{number"}, "file_name_pattern", "unbalanced { or }"),
        ({"file_name_pattern": "{{number}}.csv"}, "file_name_pattern", "must include {number}"),
        ({"file_name_pattern": "{number!r}.csv"}, "file_name_pattern", "may not convert"),
        (
            {"file_name_pattern": "{number}-{placed_at:%Y{supplier}}.csv"},
            "file_name_pattern",
            "not a date pattern",
        ),
    ],
)
def test_a_definition_that_cannot_be_parsed_is_the_fields_error(
    admin_client, overrides, field, reason
):
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert reason in " ".join(errors.get(field, [])), errors
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"file_name_pattern": "{number}}x"}, "file_name_pattern"),
        ({"file_name_pattern": "{number}\ud800.csv"}, "file_name_pattern"),
        ({"columns": "Placed = placed_at | date:%Y\ud800"}, "columns"),
        ({"columns": "Sku = line.sku | pad:\u00b2"}, "columns"),
    ],
)
def test_the_service_path_refuses_them_by_field_too(values, field):
    from django.core.exceptions import ValidationError

    base = {"kind": "json", "columns": "number", "extension": "json"}
    base["file_name_pattern"] = "{number}.{ext}"
    with pytest.raises(ValidationError) as caught:
        spec_compile({**base, **values})
    assert list(caught.value.message_dict) == [field]


def test_escaped_braces_and_ascii_widths_still_work(admin_client):
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(
            columns="Sku = line.sku | pad:12\nPlaced = placed_at | date:%Y-%m-%d",
            file_name_pattern="{{acme}}-{number}-{placed_at:%Y%m%d}.{ext}",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert FileFormatVersion.objects.get().file_name_pattern.startswith("{{acme}}")


@pytest.mark.parametrize("kind", ["json", "xml"])
@pytest.mark.parametrize("clash", ["lines = number", "lines = const:x"])
def test_an_order_field_named_lines_beside_line_fields_is_refused(admin_client, kind, clash):
    """A JSON or XML order holds its line fields under `lines`: an order-level column also
    named so was overwritten by the lines in every JSON file (its value silently gone), and
    made two <lines> elements in XML. Refused on save, naming the column."""
    columns = f"Number = number\n{clash}\nSku = line.sku"
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(kind=kind, columns=columns, extension=kind),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "lines" in " ".join(errors.get("columns", [])), errors
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()
