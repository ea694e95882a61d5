"""Review of the order lifecycle: a cancellation's note has one rule whichever channel it
comes by, and an update file's preview says what applying it does."""

from __future__ import annotations

import csv
import io

import pytest

from delivery.models import Delivery
from orders.models import Cancellation, Order, OrderEvent, UpdateFile
from orders.updates import (
    update_file_apply,
    update_file_preview,
    update_file_receive,
    update_file_receive_and_apply,
    update_file_result_text,
)
from testsupport.factories import make_supplier_user, place_order

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


def test_the_preview_of_a_long_file_says_what_applying_it_does_for_an_order_far_apart(
    acme, retailer, client
):
    """The preview (`/orders/updates/<id>/`) dry-runs the file 200 changes a transaction;
    two changes of one order more than 200 changes apart were previewed each on its own,
    so the later one was shown as "Would cancel" while applying the file (which takes an
    order's changes together) answers it `error`: the supplier confirmed on a false
    preview."""

    (a,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])
    (b,) = place_order(retailer=retailer, lines=[{"sku": "ACME-002", "quantity": 200}])
    rows = [f"{a.number},cancel,1,2,out_of_stock,Two short,,"]
    rows += [f"{b.number},ship,1,1,,,DPD,T{n}" for n in range(200)]  # 200 parcels of one
    rows += [f"{a.number},cancel,1,2,out_of_stock,Two more short,,"]  # only 1 left by then
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    update_file = update_file_receive(
        supplier=acme, name="day.csv", content=content, source="portal"
    )

    preview = update_file_preview(update_file=update_file, rows=1000)
    client.force_login(make_supplier_user(supplier=acme, username="pat"))
    page = client.get(f"/orders/updates/{update_file.pk}/")
    assert page.status_code == 200
    last = len(rows) + 1  # the header is row 1
    assert preview[last][0] == "error", preview[last]
    assert page.context["counts"] == {"applied": 201, "unchanged": 0, "error": 1}
    # nothing changed by looking
    a.refresh_from_db()
    assert a.version == 1 and not Cancellation.objects.filter(order=a).exists()

    applied = update_file_apply(update_file=UpdateFile.objects.get(pk=update_file.pk))
    outcomes = {
        int(r["row"]): (r["result"], r["message"])
        for r in _result_rows(update_file_result_text(update_file=applied))
    }
    assert {row: outcome[0] for row, outcome in outcomes.items()} == {
        row: outcome[0] for row, outcome in preview.items()
    }
    assert outcomes[last][0] == "error"
