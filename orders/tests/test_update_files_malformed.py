"""Malformed update files (found in review): a row longer than its header, a quote never
closed, a byte that is not UTF-8. None is applied wrongly or answered for the wrong line."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import strip_tags

from orders.models import Cancellation, Shipment, UpdateFile
from orders.updates import update_file_receive_and_apply
from testsupport.factories import make_supplier_user, place_order

HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"
ONE = [{"sku": "ACME-001", "quantity": 1}]


def _apply(acme, text: str) -> list[dict]:
    _, result = update_file_receive_and_apply(
        supplier=acme, name="friday.csv", content=text.encode(), source="sftp"
    )
    return list(csv.DictReader(io.StringIO(result)))


@pytest.mark.django_db
def test_a_row_with_more_cells_than_the_header_is_not_applied_with_its_values_shifted(
    acme, retailer, tasks_inline
):
    """An unquoted comma in a carrier ("DHL, Express") makes the row one cell longer than
    the header: the row is applied anyway, with carrier "DHL" and tracking number "Express"
    (the real tracking number, the extra cell, is dropped), and answered "applied". The
    retailer is emailed the wrong tracking number. The results file drops the extra cell
    too, so the supplier cannot see what happened."""
    [order] = place_order(retailer=retailer, lines=ONE)
    rows = _apply(acme, f"{HEADER}\n{order.number},ship,,,,,DHL, Express,JD0001\n")

    assert not Shipment.objects.filter(order=order, tracking_number="Express").exists(), (
        "shipped with tracking number 'Express', a shifted cell; the result said: "
        + repr([(r["result"], r["message"]) for r in rows])
    )
    assert rows[0]["result"] == "error"
    assert "9 cells and the header 8" in rows[0]["message"]
    assert not Shipment.objects.filter(order=order).exists()


@pytest.mark.django_db
def test_the_result_keeps_every_cell_of_a_row_as_written(acme, retailer, tasks_inline):
    """docs/portal.md: "Result. Every input row as written"; a row longer than the header
    loses its extra cells in the result."""
    [order] = place_order(retailer=retailer, lines=ONE)
    _, result = update_file_receive_and_apply(
        supplier=acme,
        name="friday.csv",
        content=f"{HEADER}\n{order.number},ship,,,,,DHL, Express,JD0001\n".encode(),
        source="sftp",
    )
    assert "JD0001" in result, result


@pytest.mark.django_db
def test_an_unclosed_quote_does_not_swallow_the_rows_after_it(acme, retailer, tasks_inline):
    """A note that opens a quote and never closes it ("Box damaged) turns every later row of
    the file into that note: the later rows are never applied and never answered as rows,
    the result has one row, and the cancellation the retailer is emailed carries the rest
    of the file (other orders' numbers) as its note. A file RFC 4180 cannot read should be
    refused, or each row answered."""
    a, b = (place_order(retailer=retailer, lines=ONE)[0] for _ in range(2))
    text = f'{HEADER}\n{a.number},cancel,,,other,"Box damaged,,\n{b.number},ship,,,,,UPS,1Z999\n'
    from orders.updates import UpdateFileError

    with pytest.raises(UpdateFileError, match="Row 2 cannot be read as CSV"):
        _apply(acme, text)
    assert not Cancellation.objects.exists() and not Shipment.objects.exists()
    assert not UpdateFile.objects.exists()


@pytest.mark.django_db
def test_a_file_not_in_utf8_is_refused_naming_the_line_with_the_bad_byte(acme, client):
    """Excel's plain "CSV" is Windows-1252: an "é" in a note on line 1000 is refused with
    "near line 1", so the supplier searches the header for the culprit."""
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    lines = [HEADER] + [f"PO-{10000 + i},acknowledge,,,,,," for i in range(998)]
    lines.append("PO-20000,cancel,,,other,Caf\xe9 closed,,")  # line 1000
    content = ("\r\n".join(lines) + "\r\n").encode("cp1252")

    response = client.post(
        reverse("orders:updates"),
        {"file": SimpleUploadedFile("friday.csv", content, "text/csv")},
    )

    assert response.status_code == 400
    text = " ".join(strip_tags(response.content.decode()).split())
    assert not UpdateFile.objects.exists()
    assert "line 1000" in text, [s for s in text.split(". ") if "UTF-8" in s]


def test_the_bad_byte_line_is_right_when_a_character_straddles_the_check_chunks():
    """The check decodes 64 KiB at a time; a three-byte character cut by the chunk boundary
    left two of its bytes in the decoder, which shifted the error's position by two, and a
    newline just after the bad byte was counted: "near line 3" for a byte on line 2."""
    from orders.updates import UpdateFileError
    from orders.updates.parse import update_file_check

    head = f"{HEADER}\n".encode() + b"PO-1,cancel,,,other,"
    content = head + b"x" * (65534 - len(head)) + "\u20ac".encode() + b"\xff\nPO-2,acknowledge\n"
    assert content[65534:65537] == "\u20ac".encode()  # the boundary cuts the euro sign

    with pytest.raises(UpdateFileError, match=r"near line 2\)"):
        update_file_check(content)


@pytest.mark.django_db
def test_a_file_stored_before_the_strict_check_still_applies_and_gives_its_result(
    acme, retailer, tasks_inline, monkeypatch
):
    """Files received before CSV was read strictly were stored; they are read as they were
    accepted (leniently), so their apply and their result never fail on it."""
    from orders.updates import files as files_module
    from orders.updates import update_file_apply, update_file_receive, update_file_result_text
    from orders.updates.parse import update_rows_read

    a = place_order(retailer=retailer, lines=ONE)[0]
    text = f'{HEADER}\n{a.number},cancel,,,other,"Box damaged\n'
    lenient = lambda content, strict=False: update_rows_read(content)  # noqa: E731
    monkeypatch.setattr(files_module, "update_rows_read", lenient)  # as received before
    stored = update_file_receive(
        supplier=acme, name="old.csv", content=text.encode(), source="sftp"
    )
    monkeypatch.undo()
    applied = update_file_apply(update_file=stored)
    rows = list(csv.DictReader(io.StringIO(update_file_result_text(update_file=applied))))
    assert [r["row"] for r in rows] == ["2"] and rows[0]["result"] == "applied"
