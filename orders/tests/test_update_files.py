"""Update files (issue 13 point 2): read by header, each row group applied on its own through
the order services, applied once per supplier by SHA-256, answered row by row in CSV."""

from __future__ import annotations

import csv
import io

import pytest

from delivery.models import Delivery
from orders.models import (
    Cancellation,
    Order,
    OrderEvent,
    OrderEventType,
    Shipment,
    UpdateFile,
    UpdateFileStatus,
)
from orders.updates import (
    UpdateFileAlreadyApplied,
    UpdateFileError,
    update_file_apply,
    update_file_preview,
    update_file_receive,
    update_file_receive_and_apply,
    update_file_result_text,
)
from testsupport.factories import place_order

THREE_LINES = [
    {"sku": "ACME-001", "quantity": 3},
    {"sku": "ACME-002", "quantity": 1},
    {"sku": "ACME-003", "quantity": 2},
]
HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"


@pytest.fixture
def orders(acme, bolt, retailer, tasks_inline):
    a, b, c = (place_order(retailer=retailer, lines=THREE_LINES)[0] for _ in range(3))
    d = place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])[0]
    return {"a": a, "b": b, "c": c, "bolt": d}


def world(*orders: Order) -> list:
    """What anyone can see of the orders: status, version, per line (cancelled, shipped),
    events, cancellations and shipments."""
    seen = []
    for order in orders:
        order.refresh_from_db()
        seen.append(
            (
                order.status,
                order.version,
                [(li.quantity_cancelled, li.quantity_shipped) for li in order.lines.all()],
                list(order.events.values_list("type", "actor")),
                Cancellation.objects.filter(order=order).count(),
                Shipment.objects.filter(order=order).count(),
            )
        )
    return seen


def result_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def mixed_file(o) -> bytes:
    a, b, c, d = o["a"].number, o["b"].number, o["c"].number, o["bolt"].number
    return (
        "\n".join(
            [
                HEADER,
                f"{a},cancel,1,1,out_of_stock,Short on stock,,",  # 2: partial cancel
                f"{b},ship,1,,,,UPS,1Z999",  # 3: one shipment ...
                f"{b},ship,3,1,,,UPS,1Z999",  # 4: ... of two lines
                f"{c},cancel,2,5,out_of_stock,Too many,,",  # 5: more than is open
                "PO-99999999,ship,,,,,UPS,T1",  # 6: no such order
                f"{a},explode,,,,,,",  # 7: unknown action
                f"{d},cancel,,,out_of_stock,Not yours,,",  # 8: another supplier's order
                f"{c},cancel,,,sold_out,Bad reason,,",  # 9: unknown reason
                f"{c},ship,1,x,,,DHL,D1",  # 10: bad quantity ...
                f"{c},ship,2,1,,,DHL,D1",  # 11: ... blocks its shipment's other row
            ]
        )
        + "\n"
    ).encode()


def test_a_mixed_file_applies_the_good_rows_and_answers_every_row(acme, orders):
    before_c_bolt = world(orders["c"], orders["bolt"])

    update_file, result = update_file_receive_and_apply(
        supplier=acme, name="monday.csv", content=mixed_file(orders), source="portal"
    )

    rows = result_rows(result)
    assert [(r["row"], r["result"]) for r in rows] == [
        ("2", "applied"),
        ("3", "applied"),
        ("4", "applied"),
        ("5", "error"),
        ("6", "error"),
        ("7", "error"),
        ("8", "error"),
        ("9", "error"),
        ("10", "error"),
        ("11", "error"),
    ]
    messages = {r["row"]: r["message"] for r in rows}
    assert "Cancelled line 1 x1" in messages["2"]
    assert "Shipped line 1 x3, line 3 x1 by UPS" in messages["3"]
    assert "has 1 of 1 open; you cannot cancel 5" in messages["5"]
    assert messages["6"] == "order_number: you have no order PO-99999999."
    assert messages["7"].startswith("action: use acknowledge, cancel or ship")
    assert messages["8"] == f"order_number: you have no order {orders['bolt'].number}."
    assert "reason" in messages["9"]
    assert messages["10"].startswith("quantity:")
    assert messages["11"] == "Not applied: row 10 of the same change has an error."
    # every input cell is echoed, under its own header
    assert rows[0]["note"] == "Short on stock" and rows[1]["tracking_number"] == "1Z999"

    a, b = orders["a"], orders["b"]
    a.refresh_from_db()
    b.refresh_from_db()
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in a.lines.all()] == [
        (1, 0),
        (0, 0),
        (0, 0),
    ]
    assert a.status == "placed"
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in b.lines.all()] == [
        (0, 3),
        (0, 0),
        (0, 1),
    ]
    shipment = Shipment.objects.get(order=b)
    assert (shipment.carrier, shipment.tracking_number, shipment.lines.count()) == (
        "UPS",
        "1Z999",
        2,
    )
    assert world(orders["c"], orders["bolt"]) == before_c_bolt
    # the timeline says which file and row
    assert OrderEvent.objects.get(order=a, type=OrderEventType.LINES_CANCELLED).actor == (
        "file:monday.csv row 2"
    )
    assert OrderEvent.objects.get(order=b, type=OrderEventType.SHIPMENT_CREATED).actor == (
        "file:monday.csv rows 3, 4"
    )
    update_file.refresh_from_db()
    assert (
        update_file.status,
        update_file.row_count,
        update_file.applied_count,
        update_file.unchanged_count,
        update_file.error_count,
    ) == (UpdateFileStatus.APPLIED, 10, 3, 0, 7)
    assert update_file_result_text(update_file=update_file) == result


def test_the_same_file_again_changes_nothing_and_says_so(
    acme, orders, email_via_smtp, django_capture_on_commit_callbacks
):
    content = mixed_file(orders)
    # Commits run their callbacks (deliveries queued, tasks inline, mail to the SMTP server).
    with django_capture_on_commit_callbacks(execute=True):
        update_file_receive_and_apply(supplier=acme, name="a.csv", content=content, source="portal")
    before = world(*orders.values())
    emails, deliveries = len(email_via_smtp.messages), Delivery.objects.count()
    assert emails > 0  # the first apply told the retailer of its cancellations

    with django_capture_on_commit_callbacks(execute=True):
        again, result = update_file_receive_and_apply(
            supplier=acme, name="renamed.csv", content=content, source="sftp"
        )

    assert world(*orders.values()) == before
    assert len(email_via_smtp.messages) == emails
    assert Delivery.objects.count() == deliveries
    assert UpdateFile.objects.count() == 1
    rows = result_rows(result)
    assert len(rows) == 10
    # The first answer, replayed row by row, each saying nothing was changed again.
    first_rows = result_rows(update_file_result_text(update_file=again))
    assert [r["result"] for r in rows] == [r["result"] for r in first_rows]
    assert all("already applied" in r["message"] for r in rows)
    assert all(f"Then: {f['message']}" in r["message"] for r, f in zip(rows, first_rows))
    with pytest.raises(UpdateFileAlreadyApplied):
        update_file_apply(update_file=again)
    assert world(*orders.values()) == before


def test_another_supplier_may_send_the_same_bytes(acme, bolt, orders):
    content = f"{HEADER}\n{orders['bolt'].number},cancel,,,out_of_stock,Gone,,\n".encode()
    _, first = update_file_receive_and_apply(
        supplier=acme, name="x.csv", content=content, source="portal"
    )
    _, second = update_file_receive_and_apply(
        supplier=bolt, name="x.csv", content=content, source="portal"
    )
    assert result_rows(first)[0]["result"] == "error"
    assert result_rows(second)[0]["result"] == "applied"
    orders["bolt"].refresh_from_db()
    assert orders["bolt"].status == "cancelled"


def test_bom_semicolons_shuffled_and_unknown_columns_are_read(acme, orders):
    a, b = orders["a"].number, orders["b"].number
    text = (
        "Tracking_Number;our_ref;Carrier;Action;Order_Number;Line\r\n"
        f"TRK-1;x1;DHL;ship;{a};2\r\n"
        f"TRK-1;x2;DHL;SHIP;{a};3\r\n"
        f"T2;x3;DPD;ship;{b};\r\n"
    )
    content = b"\xef\xbb\xbf" + text.encode()

    _, result = update_file_receive_and_apply(
        supplier=acme, name="semi.csv", content=content, source="portal"
    )

    # The result is written as the file came, so Excel opens it as it opened the file
    # (found in review: it was comma-separated without a BOM, one column in that locale).
    assert result.startswith("\ufeffrow;Tracking_Number;our_ref;")
    rows = list(csv.DictReader(io.StringIO(result.removeprefix("\ufeff")), delimiter=";"))
    assert [r["result"] for r in rows] == ["applied"] * 3, rows
    assert list(rows[0]) == [
        "row",
        "Tracking_Number",
        "our_ref",
        "Carrier",
        "Action",
        "Order_Number",
        "Line",
        "result",
        "message",
    ]
    orders["a"].refresh_from_db()
    orders["b"].refresh_from_db()
    assert [li.quantity_shipped for li in orders["a"].lines.all()] == [0, 1, 2]
    assert orders["b"].status == "shipped"
    assert Shipment.objects.get(order=orders["a"]).tracking_number == "TRK-1"


def test_a_cancel_only_file_needs_no_carrier_column_and_cancels_every_open_unit(acme, orders):
    content = f"order_number,action,reason,note\n{orders['c'].number},cancel,other,Closed\n"
    _, result = update_file_receive_and_apply(
        supplier=acme, name="c.csv", content=content.encode(), source="portal"
    )
    assert result_rows(result)[0]["result"] == "applied"
    orders["c"].refresh_from_db()
    assert orders["c"].status == "cancelled"
    assert OrderEvent.objects.filter(order=orders["c"], type=OrderEventType.CANCELLED).exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"order_number,line\nPO-1,1\n", "action"),
        ("order_number,action\nPO-1,cancel,\xe9\n".encode("latin-1"), "UTF-8"),
        (b"order_number,action,action\nPO-1,cancel,ship\n", "twice"),
        (HEADER.encode() + b"\n", "no row after it"),
        # Found in review: these named only the missing columns, though the file had them.
        (b"\r\n" + HEADER.encode() + b"\r\nPO-1,acknowledge\r\n", "The first row is blank"),
        (b"sep=;\norder_number;action\nPO-1;acknowledge\n", "Excel's sep= line: remove it"),
        (b"order_number\taction\nPO-1\tacknowledge\n", "separated by tabs"),
        (HEADER.encode() + b"\r\n,,,,,,,\r\n\r\n", "no row after it"),
    ],
)
def test_an_unreadable_file_is_refused_whole_and_nothing_is_stored(acme, orders, content, message):
    before = world(*orders.values())
    with pytest.raises(UpdateFileError, match=message):
        update_file_receive(supplier=acme, name="bad.csv", content=content, source="portal")
    assert UpdateFile.objects.count() == 0
    assert world(*orders.values()) == before


def test_preview_says_what_each_row_would_do_and_changes_nothing(
    acme, orders, email_via_smtp, django_capture_on_commit_callbacks
):
    update_file = update_file_receive(
        supplier=acme, name="p.csv", content=mixed_file(orders), source="portal"
    )
    before, deliveries = world(*orders.values()), Delivery.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = update_file_preview(update_file=update_file, rows=update_file.row_count)

    assert world(*orders.values()) == before
    assert email_via_smtp.messages == []
    assert Delivery.objects.count() == deliveries
    assert outcomes[2] == ("applied", "Would cancel line 1 x1; the order would be placed.")
    assert outcomes[3][0] == "applied" and outcomes[3][1].startswith("Would ship line 1 x3")
    assert outcomes[5][0] == outcomes[6][0] == "error"
    update_file.refresh_from_db()
    assert update_file.status == UpdateFileStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        update_file_apply(update_file=update_file)
    assert world(*orders.values()) != before
    assert email_via_smtp.messages  # what the preview did not do, the apply does


def test_acknowledge_rows_record_the_acknowledgement_once(acme, orders):
    a, b = orders["a"], orders["b"]
    content = f"order_number,action\n{a.number},acknowledge\n{a.number},acknowledge\n".encode()
    _, result = update_file_receive_and_apply(
        supplier=acme, name="ack.csv", content=content, source="portal"
    )
    # one order's acknowledge rows are one acknowledgement
    assert [r["result"] for r in result_rows(result)] == ["applied", "applied"]
    a.refresh_from_db()
    assert a.acknowledged_via == "file" and a.acknowledged_at is not None
    event = a.events.get(type=OrderEventType.ACKNOWLEDGED)
    assert event.actor == "file:ack.csv rows 2, 3"
    assert event.data["channel"] == {"via": "file", "by": "ack.csv", "row": 2}

    # acknowledging again, or an order a shipment already acknowledged, changes nothing
    update_file_receive_and_apply(
        supplier=acme,
        name="ship.csv",
        content=f"order_number,action,carrier\n{b.number},ship,UPS\n".encode(),
        source="portal",
    )
    # the shipment acknowledged b, and said so with an event of that type, before its own
    assert [t for t, _ in b.events.order_by("pk").values_list("type", "actor")] == [
        OrderEventType.CREATED,
        OrderEventType.ACKNOWLEDGED,
        OrderEventType.SHIPMENT_CREATED,
    ]
    implied = b.events.get(type=OrderEventType.ACKNOWLEDGED)
    assert implied.data["channel"] == {"via": "file", "by": "ship.csv", "row": 2}
    assert implied.data["with_event"] == OrderEventType.SHIPMENT_CREATED
    before = world(a, b)
    _, result = update_file_receive_and_apply(
        supplier=acme,
        name="ack2.csv",
        content=f"order_number,action\n{a.number},acknowledge\n{b.number},acknowledge\n".encode(),
        source="portal",
    )
    assert [r["result"] for r in result_rows(result)] == ["unchanged", "unchanged"]
    assert world(a, b) == before


def test_a_refused_change_leaves_the_same_orders_other_changes_applied(acme, orders):
    a = orders["a"]
    content = (
        "order_number,action,line,quantity,reason,note,carrier,tracking_number\n"
        f"{a.number},cancel,1,1,out_of_stock,Short,,\n"
        f"{a.number},ship,2,5,,,UPS,T1\n"  # more than is open: refused after the lock
        f"{a.number},ship,3,,,,DPD,T2\n"
    ).encode()
    _, result = update_file_receive_and_apply(
        supplier=acme, name="same.csv", content=content, source="portal"
    )
    assert [r["result"] for r in result_rows(result)] == ["applied", "error", "applied"]
    a.refresh_from_db()
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in a.lines.all()] == [
        (1, 0),
        (0, 0),
        (0, 2),
    ]
    assert list(Shipment.objects.filter(order=a).values_list("carrier", flat=True)) == ["DPD"]


def test_a_nul_in_a_cell_or_the_name_is_an_error_row_not_a_failure(acme, orders):
    content = f"order_number,action,note\n{orders['a'].number},cancel,bad\x00note\n".encode()
    update_file, result = update_file_receive_and_apply(
        supplier=acme, name="n\x00ul.csv", content=content, source="portal"
    )
    row = result_rows(result)[0]
    assert row["result"] == "error" and "note: Null characters are not allowed." in row["message"]
    assert row["note"] == "badnote"
    assert update_file.name == "nul.csv"
    orders["a"].refresh_from_db()
    assert orders["a"].version == 1
