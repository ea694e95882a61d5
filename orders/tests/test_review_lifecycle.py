"""Review of the order lifecycle: one rule for a cancellation's note, whichever channel."""

from __future__ import annotations

import csv
import io

import pytest

from delivery.models import Delivery
from orders.models import Cancellation, Order, OrderEvent
from orders.updates import update_file_receive_and_apply
from testsupport.factories import place_order

HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"


def _result_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_update_files_cancel_note_over_the_limit_is_an_error_row_and_cancels_nothing(
    acme, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """The API and the portal refuse a cancellation note over 2,000 characters (the retailer
    reads it in an email); an update file's cancel row took a note of any length (a cell can
    hold megabytes), cancelled the order and emailed the retailer all of it."""
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 2}])
    note = "x" * 2001
    content = f"{HEADER}\n{order.number},cancel,,,out_of_stock,{note},,\n".encode()

    with django_capture_on_commit_callbacks(execute=True):
        _, result = update_file_receive_and_apply(
            supplier=acme, name="long.csv", content=content, source="portal"
        )

    (row,) = _result_rows(result)
    assert row["result"] == "error"
    assert row["message"].startswith("note:") and "2000" in row["message"]
    order.refresh_from_db()
    assert order.status == "placed" and order.version == 1
    assert not Cancellation.objects.filter(order=order).exists()
    assert list(OrderEvent.objects.filter(order=order).values_list("type", flat=True)) == [
        "order.created"
    ]
    assert not Delivery.objects.filter(event__order=order, purpose="retailer_cancellation")
    assert all("cancelled" not in m.subject.lower() for m in email_via_smtp.messages)
    assert Order.objects.get(pk=order.pk).lines.get().quantity_cancelled == 0


@pytest.mark.parametrize("length", [2000])
def test_a_note_at_the_limit_still_cancels_by_file(acme, retailer, length):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 2}])
    content = f"{HEADER}\n{order.number},cancel,,,out_of_stock,{'y' * length},,\n".encode()
    _, result = update_file_receive_and_apply(
        supplier=acme, name="ok.csv", content=content, source="portal"
    )
    assert _result_rows(result)[0]["result"] == "applied"
    assert Cancellation.objects.get(order=order).note == "y" * length
