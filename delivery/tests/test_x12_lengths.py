"""X12 850 elements within their 004010 lengths: free text cut, identifiers refused.

Orders take longer values than X12 elements hold (a 200-character address line, a 100-character
retailer reference, a 64-character SKU); written as they were, the supplier's translator
rejected the whole interchange. Read back by the third-party X12 parser, and sent over the real
sshd.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import x12
from django.urls import reverse

from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats import format_for
from delivery.models import DeliveryFile
from delivery.tests.test_file_formats import admin_form, loaded
from delivery.tests.test_sftp import deliveries_for, files_in, sftp_destination
from suppliers.services import ProductRow, products_import
from testsupport.factories import place_order
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

# 004010 maximum lengths of the elements the 850 writes from order values.
MAXIMUM = {
    ("BEG", 2): 22,
    ("REF", 1): 30,
    ("N1", 1): 60,
    ("N3", 0): 55,
    ("N3", 1): 55,
    ("N4", 0): 30,
    ("N4", 1): 2,
    ("N4", 2): 15,
    ("N4", 3): 3,
    ("N4", 5): 30,
    ("PO1", 6): 48,
    ("PID", 4): 80,
}
LONG = {
    "name": "Dr " + "N" * 197,
    "line1": "1 " + "L" * 198,
    "line2": "Flat " + "F" * 195,
    "city": "C" * 100,
    "region": "West Yorkshire",
    "postcode": "LS1 1AA",
    "country": "GB",
}


@pytest.fixture
def edi(admin_client):
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="edi", kind="x12_850", columns="", extension="edi"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def long_product(acme):
    products_import(
        supplier=acme,
        rows=[ProductRow(sku="ACME-LONG", name="P" * 300, price=Decimal("9.50"), currency="GBP")],
    )


def segments_of(data: bytes) -> dict:
    interchange = x12.parse_x12_interchange(x12.tokenize_x12(data))
    [group] = interchange.groups
    [transaction] = group.transactions
    found: dict = {}
    for segment in transaction.segments:
        found.setdefault(segment.tag, []).append(segment.elements)
    return found


def test_long_names_and_addresses_are_cut_to_their_elements(edi, long_product, retailer):
    [order] = place_order(
        retailer=retailer,
        shipping_address=LONG,
        lines=[{"sku": "ACME-LONG", "quantity": 1}],
    )
    segments = segments_of(format_for("edi").render(loaded(order)))

    for (tag, index), maximum in MAXIMUM.items():
        for elements in segments[tag]:
            if index < len(elements):
                assert len(elements[index]) <= maximum, (tag, index + 1, elements[index])
    assert segments["N1"][0][1] == LONG["name"][:60].encode()
    assert segments["N3"][0] == (LONG["line1"][:55].encode(), LONG["line2"][:55].encode())
    # The region is no two-letter code: kept as a location, not forced into N4-02.
    assert segments["N4"][0] == (b"C" * 30, b"", b"LS1 1AA", b"GB", b"SP", b"West Yorkshire")
    assert segments["PID"][0][4] == b"P" * 80
    assert segments["BEG"][0][2] == order.number.encode()


def test_a_two_letter_region_stays_in_n4_02(edi, acme, retailer):
    [order] = place_order(retailer=retailer, shipping_address={**LONG, "region": "MA"})
    segments = segments_of(format_for("edi").render(loaded(order)))
    assert segments["N4"][0] == (b"C" * 30, b"MA", b"LS1 1AA", b"GB")


def test_an_identifier_too_long_fails_that_order_alone_and_no_file_is_sent(
    edi, acme, retailer, sftp_server
):
    destination = sftp_destination(acme, sftp_server, file_format="edi")
    [bad] = place_order(retailer=retailer, reference="REF-" + "9" * 36)
    [good] = place_order(retailer=retailer, shipping_address=LONG)
    bad_row, good_row = deliveries_for(destination, [bad, good])

    results = SftpChannel().send_batch([bad_row, good_row])

    failure = results[bad_row.pk]
    assert isinstance(failure, DeliveryFailed) and not failure.retryable
    assert bad.number in str(failure) and "REF02 (retailer reference)" in str(failure)
    assert "at most 30 characters" in str(failure)
    assert not DeliveryFile.objects.filter(delivery=bad_row).exists()
    assert isinstance(results[good_row.pk], SendResult)
    assert files_in(sftp_server.upload_root) == [good_row.identity]
    sent = segments_of((sftp_server.upload_root / good_row.identity).read_bytes())
    assert sent["N3"][0][0] == LONG["line1"][:55].encode()
