"""Formats made in admin, as ops make them: checked on save, rendered as the catalogue says,
read back by Python's csv module, pandas, lxml and a third-party X12 parser."""

from __future__ import annotations

import csv
import io
import json

import pandas
import pytest
import x12
from django.urls import reverse
from lxml import etree

from delivery.formats import format_choices, format_for
from delivery.formats.catalogue import catalogue, catalogue_markdown, sample_order
from delivery.formats.custom import FormatError
from delivery.models import FileFormat, FileFormatVersion
from orders.documents import order_document, orders_with_document_relations
from orders.models import Order
from testsupport.factories import place_order

SHUFFLED = "\n".join(
    [
        "Qty = line.quantity",
        "Artikel = line.sku",
        "Order No = number",
        "Source = const:ACME-DS",
        "Postcode = shipping_address.postcode",
        "Placed = placed_at | date:%Y%m%d",
        "Name = customer.name | upper",
        "Price = line.unit_price",
        "line.line",
    ]
)


def admin_form(**overrides) -> dict:
    """The add form as ops fill it in (every field the page posts)."""
    data = {
        "name": "acme-semicolon",
        "label": "Acme semicolon",
        "kind": "delimited",
        "availability": "all",
        "owner": "",
        "columns": SHUFFLED,
        "delimiter": ";",
        "quoting": "all",
        "header_row": "on",
        "row_per": "line",
        "encoding": "utf-8-sig",
        "line_end": "crlf",
        "decimal_separator": ",",
        "extension": "csv",
        "file_name_pattern": "{supplier}-{number}-{placed_at:%Y%m%d}.{ext}",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def loaded(order) -> Order:
    return orders_with_document_relations(Order.objects.filter(pk=order.pk)).get()


@pytest.fixture
def zero_order(acme, retailer):
    [order] = place_order(
        retailer=retailer,
        placed_at="2026-11-27T10:00:00Z",
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
        customer={"name": "Zoë Brontë", "email": "zoe@example.com", "phone": "+44 1"},
        shipping_address={
            "name": "Zoë Brontë",
            "line1": "1 High St",
            "line2": "",
            "city": "Boston",
            "region": "MA",
            "postcode": "02134",
            "country": "US",
        },
    )
    return loaded(order)


def test_a_format_built_in_admin_reads_back_as_the_catalogue_says(admin_client, zero_order):
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    version = FileFormatVersion.objects.get(file_format__name="acme-semicolon")
    assert version.number == 1

    file_format = format_for("acme-semicolon")
    data = file_format.render(zero_order)
    doc = order_document(zero_order)

    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    assert data.count(b"\r\n") == 3 and data.replace(b"\r\n", b"").count(b"\n") == 0  # CRLF
    assert b'"02134"' in data  # leading zeros quoted as text
    assert file_format.file_name(zero_order) == f"acme-{zero_order.number}-20261127.csv"
    header = [
        "Qty",
        "Artikel",
        "Order No",
        "Source",
        "Postcode",
        "Placed",
        "Name",
        "Price",
        "line.line",
    ]
    expected = [
        [
            str(line["quantity"]),
            line["sku"],
            doc["number"],
            "ACME-DS",
            "02134",
            "20261127",
            "ZOË BRONTË",
            line["unit_price"].replace(".", ","),
            str(line["line"]),
        ]
        for line in doc["lines"]
    ]

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows == [header, *expected]

    frame = pandas.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str)
    assert list(frame.columns) == header
    assert frame.values.tolist() == expected
    assert frame["Postcode"].tolist() == ["02134", "02134"]


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"columns": "Qty = line.qty"}, "columns", "unknown field 'line.qty'"),
        (
            {"columns": "Placed = placed_at | date:%Y;%m", "quoting": "none"},
            "delimiter",
            "inside the pattern",
        ),
        ({"delimiter": ";;"}, "delimiter", "exactly one character"),
        ({"delimiter": ","}, "delimiter", "decimal separator"),
        ({"name": "csv"}, "name", "built-in"),
        (
            {"file_name_pattern": "{retailer_reference}.csv"},
            "file_name_pattern",
            "must include {number}",
        ),
        ({"file_name_pattern": "../{number}.csv"}, "file_name_pattern", "/ or \\"),
        ({"file_name_pattern": "CON.{number}"}, "file_name_pattern", "reserved"),
        ({"file_name_pattern": "{number}{colour}"}, "file_name_pattern", "unknown placeholder"),
        ({"columns": "Name = customer.name | shout"}, "columns", "unknown transformation"),
        ({"row_per": "order"}, "row_per", "cannot hold line fields"),
        ({"columns": "1bad = number", "kind": "xml"}, "columns", "not a valid XML element name"),
    ],
)
def test_an_invalid_format_is_refused_with_the_reason(admin_client, db, overrides, field, reason):
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert reason in " ".join(errors.get(field, [])), errors
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()


def test_a_name_already_used_is_refused(admin_client, db):
    assert (
        admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form()).status_code == 302
    )
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"), admin_form(label="Again")
    )
    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["adminform"].form.errors["name"])
    assert FileFormat.objects.count() == 1


def test_windows_1252_cannot_hold_a_name_and_says_which(admin_client, acme, retailer):
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="cp", encoding="cp1252", columns="Name = customer.name\nOrder = number"),
    )
    [order] = place_order(
        retailer=retailer, customer={"name": "Łukasz Żółw", "email": "l@example.com"}
    )
    with pytest.raises(FormatError) as caught:
        format_for("cp").render(loaded(order))
    message = str(caught.value)
    assert "Windows-1252 cannot hold 'Ł' (U+0141)" in message
    assert "'Name'" in message and order.number in message
    # What it can hold is written in Windows-1252, not replaced.
    [fine] = place_order(
        retailer=retailer, customer={"name": "Zoë Brontë", "email": "z@example.com"}
    )
    assert "Zoë Brontë".encode("cp1252") in format_for("cp").render(loaded(fine))


def test_x12_850_parses_and_carries_number_lines_and_address(admin_client, zero_order):
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="edi", kind="x12_850", columns="", extension="edi"),
    )
    data = format_for("edi").render(zero_order)

    interchange = x12.parse_x12_interchange(x12.tokenize_x12(data))
    inspection = x12.inspect_x12_interchange(interchange)
    [group] = interchange.groups
    [transaction] = group.transactions
    assert inspection.groups[0].transactions[0].transaction_set_code == b"850"
    segments = {}
    for segment in transaction.segments:
        segments.setdefault(segment.tag, []).append(segment.elements)
    assert segments["BEG"][0][2] == zero_order.number.encode()
    assert segments["N3"][0][0] == b"1 High St"
    assert segments["N4"][0] == (b"Boston", b"MA", b"02134", b"US")
    lines = list(zero_order.lines.all())
    assert [(s[0], s[1], s[6]) for s in segments["PO1"]] == [
        (str(ln.line_no).encode(), str(ln.quantity).encode(), ln.sku.encode()) for ln in lines
    ]
    assert segments["CTT"][0][0] == b"2"


def test_json_and_xml_use_the_catalogue_names(admin_client, zero_order):
    columns = "number\nzip = shipping_address.postcode\nline.sku\nline.quantity"
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="j", kind="json", columns=columns, extension="json"),
    )
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="x", kind="xml", columns=columns, extension="xml"),
    )
    body = json.loads(format_for("j").render(zero_order))
    assert body["number"] == zero_order.number and body["zip"] == "02134"
    assert [ln["line.sku"] for ln in body["lines"]] == ["ACME-001", "ACME-003"]
    root = etree.fromstring(format_for("x").render(zero_order))  # well-formed or it raises
    assert root.findtext("number") == zero_order.number
    assert [e.text for e in root.iter("line.sku")] == ["ACME-001", "ACME-003"]


def test_editing_an_unused_format_edits_its_version_in_place(admin_client, db):
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    file_format = FileFormat.objects.get()
    url = reverse("admin:delivery_fileformat_change", args=[file_format.pk])
    assert admin_client.post(url, admin_form(delimiter="|")).status_code == 302
    [version] = FileFormatVersion.objects.all()
    assert (version.number, version.spec["delimiter"]) == (1, "|")


def test_availability_decides_who_may_pick_a_format(admin_client, acme, bolt):
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(name="every"))
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="acme-own", availability="own", owner=str(acme.pk)),
    )
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="listed", availability="listed", suppliers=[str(bolt.pk)]),
    )
    assert [n for n, _ in format_choices(acme)] == ["csv", "json", "acme-own", "every"]
    assert [n for n, _ in format_choices(bolt)] == ["csv", "json", "every", "listed"]


def test_the_catalogue_is_the_order_document_and_is_documented(settings):
    doc = order_document(sample_order())
    assert {f"line.{k}" for k in doc["lines"][0]} <= set(catalogue())
    assert {f"shipping_address.{k}" for k in doc["shipping_address"]} <= set(catalogue())
    with open(settings.BASE_DIR / "docs" / "formats.md", encoding="utf-8") as handle:
        documented = handle.read()
    # docs/formats.md holds `manage.py format_catalogue`'s table: regenerate it when this fails.
    assert catalogue_markdown() in documented


def test_x12_ids_are_the_suppliers_and_checked(admin_client, zero_order):
    from django.core.exceptions import ValidationError

    from delivery.models import Destination

    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="edi", kind="x12_850", columns="", extension="edi"),
    )
    destination = Destination(
        supplier=zero_order.supplier, channel="sftp", x12_sender_id="HUB01", x12_receiver_id="ACME7"
    )
    data = format_for("edi", destination=destination).render(zero_order)
    header = x12.parse_x12_interchange(x12.tokenize_x12(data)).header
    assert (header.elements[5], header.elements[7]) == (b"HUB01".ljust(15), b"ACME7".ljust(15))
    destination.x12_sender_id = "HUB*01"
    with pytest.raises(ValidationError) as caught:
        destination.full_clean(exclude=["supplier"])
    assert "x12_sender_id" in caught.value.message_dict


def test_formats_read_the_same_document_as_the_api(zero_order):
    """Custom formats parse the order's stored document tail (bench/formats.py): it must be the
    document itself, before and after a change, and a stale tail is never used."""
    from delivery.formats.custom import document_of
    from orders.services import order_set_status

    assert document_of(zero_order) == order_document(zero_order)
    order_set_status(
        order=zero_order, status="cancelled", actor="ops", reason="out_of_stock", note="gone"
    )
    changed = loaded(zero_order)
    assert document_of(changed) == order_document(changed)
    assert changed.document_tail
    changed.ship_city = "Salem"  # changed in memory, tail not rebuilt: version still matches
    changed.version += 1  # ...unless the version moved on, when the document is built
    assert document_of(changed)["shipping_address"]["city"] == "Salem"
