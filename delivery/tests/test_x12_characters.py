"""X12 850 files are ASCII: free text transliterated, identifiers normalised or refused.

A translator reads the interchange in X12's character sets (ASCII); a name such as "José
Ñúñez" written as UTF-8 bytes was two characters longer than it looked and, to many, not
valid at all. Read back by the third-party X12 parser, and sent over the real sshd.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats import format_for
from delivery.models import DeliveryFile
from delivery.tests.test_file_formats import loaded
from delivery.tests.test_sftp import deliveries_for, files_in, sftp_destination
from delivery.tests.test_x12_lengths import edi, segments_of  # noqa: F401  (the fixture)
from suppliers.services import ProductRow, products_import
from testsupport.factories import place_order
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ACCENTED = {
    "name": "José Ñúñez",
    "line1": "Straße\tder Einheit 1",
    "line2": "",
    "city": "Łódź",
    "region": "Île-de-France",
    "postcode": "１２３４５",  # full width, as some keyboards type it
    "country": "PL",
}


@pytest.fixture
def accented_product(acme):
    products_import(
        supplier=acme,
        rows=[
            ProductRow(
                sku="ACME-CAFE", name="Café crème 北京", price=Decimal("4.00"), currency="GBP"
            )
        ],
    )


@pytest.mark.usefixtures("edi")
def test_free_text_is_transliterated_and_identifiers_normalised(accented_product, retailer):
    [order] = place_order(
        retailer=retailer,
        shipping_address=ACCENTED,
        lines=[{"sku": "ACME-CAFE", "quantity": 1}],
    )
    data = format_for("edi").render(loaded(order))

    assert data.isascii()
    segments = segments_of(data)
    assert segments["N1"][0][1] == b"Jose Nunez"
    assert segments["N3"][0][0] == b"Strasse der Einheit 1"  # the tab is a space
    assert segments["N4"][0] == (b"Lodz", b"", b"12345", b"PL", b"SP", b"Ile-de-France")
    assert segments["PID"][0][4] == b"Cafe creme BeiJing"


@pytest.mark.usefixtures("edi")
def test_an_identifier_outside_ascii_fails_that_order_alone_and_no_file_is_sent(
    acme, retailer, sftp_server
):
    destination = sftp_destination(acme, sftp_server, file_format="edi")
    [bad] = place_order(retailer=retailer, reference="CAFÉ-1001")
    [good] = place_order(retailer=retailer, shipping_address=ACCENTED)
    bad_row, good_row = deliveries_for(destination, [bad, good])

    results = SftpChannel().send_batch([bad_row, good_row])

    failure = results[bad_row.pk]
    assert isinstance(failure, DeliveryFailed) and not failure.retryable
    assert bad.number in str(failure) and "REF02 (retailer reference)" in str(failure)
    assert "ASCII only" in str(failure) and "CAFÉ-1001" in str(failure)
    assert not DeliveryFile.objects.filter(delivery=bad_row).exists()
    assert isinstance(results[good_row.pk], SendResult)
    assert files_in(sftp_server.upload_root) == [good_row.identity]
    sent = (sftp_server.upload_root / good_row.identity).read_bytes()
    assert sent.isascii() and segments_of(sent)["N1"][0][1] == b"Jose Nunez"
