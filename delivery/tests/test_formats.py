"""Order file formats: the contract's CSV, byte for byte where it matters, and the JSON file."""

import csv
import io
import json

import pytest

from delivery.formats import (
    FORMATS,
    STANDARD_COLUMNS,
    CsvFormat,
    UnknownFormat,
    csv_cell_neutralise,
    format_get,
)
from orders.documents import order_document, orders_with_document_relations
from orders.models import Order
from orders.tests.factories import place_order

CONTRACT_HEADER = (
    "order_number,placed_at,retailer,retailer_reference,customer_name,customer_email,"
    "customer_phone,ship_name,ship_line1,ship_line2,ship_city,ship_region,ship_postcode,"
    "ship_country,line,sku,product_name,quantity,unit_price,line_total,currency"
)


def _loaded(order):
    return orders_with_document_relations(Order.objects.filter(pk=order.pk)).get()


def _parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.fixture
def two_line_order(acme, retailer):
    [order] = place_order(
        retailer=retailer,
        reference="R-2001",
        placed_at="2026-11-27T10:00:00Z",
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
        customer={"name": "Zoë Brontë", "email": "zoe@example.com", "phone": "+44 20 7946 0000"},
        shipping_address={
            "name": "Zoë Brontë",
            "line1": '1 "High" St, Flat 2',
            "line2": "",
            "city": "Leeds",
            "region": "West Yorkshire",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
    )
    return _loaded(order)


def test_standard_csv_is_the_contract_header_and_one_row_per_line(two_line_order):
    order = two_line_order
    data = FORMATS["csv"].render(order)

    assert not data.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    text = data.decode("utf-8")
    assert text.split("\r\n")[0] == CONTRACT_HEADER
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")

    rows = _parse(data)
    assert rows[0] == CONTRACT_HEADER.split(",")
    common = [
        order.number,
        "2026-11-27T10:00:00Z",
        "shopco",
        "R-2001",
        "Zoë Brontë",
        "zoe@example.com",
        "+44 20 7946 0000",
        "Zoë Brontë",
        '1 "High" St, Flat 2',
        "",
        "Leeds",
        "West Yorkshire",
        "LS1 1AA",
        "GB",
    ]
    assert rows[1:] == [
        common + ["1", "ACME-001", "Product ACME-001", "2", "9.50", "19.00", "GBP"],
        common + ["2", "ACME-003", "Product ACME-003", "1", "24.00", "24.00", "GBP"],
    ]
    # RFC 4180 quoting of the field holding a comma and quotes.
    assert '"1 ""High"" St, Flat 2"' in text


def test_formula_looking_cells_are_neutralised_but_phone_numbers_kept(acme, retailer):
    [order] = place_order(
        retailer=retailer,
        customer={
            "name": '=HYPERLINK("http://evil.example","x")',
            "email": "ann@example.com",
            "phone": "+44 20 7946 0000",
        },
        shipping_address={
            "name": "@SUM(A1:A2)",
            "line1": "-2+3+cmd|' /C calc'!A0",
            "line2": "+1 (555) 010-0100",
            "city": "Leeds",
            "region": "",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
    )
    [header, row] = _parse(FORMATS["csv"].render(_loaded(order)))
    cells = dict(zip(header, row))
    assert cells["customer_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert cells["ship_name"] == "'@SUM(A1:A2)"
    assert cells["ship_line1"] == "'-2+3+cmd|' /C calc'!A0"
    # Numbers-only cells cannot call a function: kept exactly.
    assert cells["customer_phone"] == "+44 20 7946 0000"
    assert cells["ship_line2"] == "+1 (555) 010-0100"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1)", "'+SUM(1)"),
        ("-cmd", "'-cmd"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+1", "'  =1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-", "'-"),
        ("+44 20 7946 0000", "+44 20 7946 0000"),
        ("-12.50", "-12.50"),
        ("Ann = Lee", "Ann = Lee"),
        ("ann@example.com", "ann@example.com"),
        ("", ""),
    ],
)
def test_csv_cell_neutralise(value, expected):
    assert csv_cell_neutralise(value) == expected


def test_json_file_is_the_order_document(two_line_order):
    data = FORMATS["json"].render(two_line_order)
    assert json.loads(data.decode("utf-8")) == order_document(two_line_order)
    assert "Zoë".encode() in data
    assert FORMATS["json"].file_name(two_line_order) == f"{two_line_order.number}.json"
    assert FORMATS["csv"].file_name(two_line_order) == f"{two_line_order.number}.csv"


def test_a_supplier_column_set_is_one_new_format(two_line_order):
    custom = CsvFormat(
        name="acme-picklist",
        columns=[
            ("PO", lambda o, ln: o.number),
            ("Item", lambda o, ln: ln.sku),
            ("Qty", lambda o, ln: ln.quantity),
            ("Deliver to", lambda o, ln: f"{o.ship_name}, {o.ship_postcode}"),
        ],
    )
    rows = _parse(custom.render(two_line_order))
    assert rows == [
        ["PO", "Item", "Qty", "Deliver to"],
        [two_line_order.number, "ACME-001", "2", "Zoë Brontë, LS1 1AA"],
        [two_line_order.number, "ACME-003", "1", "Zoë Brontë, LS1 1AA"],
    ]
    assert [name for name, _ in STANDARD_COLUMNS] == CONTRACT_HEADER.split(",")


def test_unknown_format_is_a_clear_error():
    with pytest.raises(UnknownFormat, match="xml"):
        format_get("xml")
    assert format_get("csv") is FORMATS["csv"]


def test_rendering_makes_no_queries(two_line_order, django_assert_num_queries):
    with django_assert_num_queries(0):
        FORMATS["csv"].render(two_line_order)
        FORMATS["json"].render(two_line_order)


def _host_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def test_a_registered_format_is_selectable_without_a_migration(acme, monkeypatch):
    """One line in FORMATS: the portal offers it and the service accepts it."""
    from delivery.forms import SftpChannelForm
    from delivery.services import destination_set_sftp

    picklist = CsvFormat(name="acme-picklist", columns=[("PO", lambda o, ln: o.number)])
    monkeypatch.setitem(FORMATS, "acme-picklist", picklist)
    assert ("acme-picklist", "ACME-PICKLIST") in SftpChannelForm().fields["file_format"].choices
    destination = destination_set_sftp(
        supplier=acme,
        host="127.0.0.1",
        username="u",
        password="p",
        path="/in",
        host_key=_host_key(),
        file_format="acme-picklist",
    )
    destination.refresh_from_db()
    assert destination.sftp_format == "acme-picklist"


def test_an_unknown_format_is_refused_and_nothing_saved(acme):
    from django.core.exceptions import ValidationError

    from delivery.models import Destination
    from delivery.services import destination_set_sftp

    with pytest.raises(ValidationError) as caught:
        destination_set_sftp(
            supplier=acme,
            host="127.0.0.1",
            username="u",
            password="p",
            path="/in",
            host_key=_host_key(),
            file_format="xml",
        )
    assert "format" in caught.value.message_dict
    assert "csv" in caught.value.message_dict["format"][0]
    assert not Destination.objects.filter(supplier=acme, channel="sftp").exists()
