"""The answer to a row an order's state or lines refuse names the file's column, and the
row when its change spans several (found in review: the services' messages for the API,
"Line 3 (ACME-003) has 2 of 2 open; you cannot ship 5." or "Line 1 is listed twice.", named
neither, and a supplier had to find the row of a long shipment for itself)."""

from __future__ import annotations

import csv
import io

import pytest

from orders.models import Cancellation, Shipment
from orders.updates import update_file_receive_and_apply
from testsupport.factories import place_order

from .test_update_files import world

HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"
LINES = [
    {"sku": "ACME-001", "quantity": 3},
    {"sku": "ACME-002", "quantity": 1},
    {"sku": "ACME-003", "quantity": 2},
]


def _apply(acme, *rows: str) -> list[dict]:
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    _, result = update_file_receive_and_apply(
        supplier=acme, name="friday.csv", content=content, source="sftp"
    )
    return list(csv.DictReader(io.StringIO(result)))


@pytest.fixture
def order(acme, retailer, tasks_inline):
    return place_order(retailer=retailer, lines=LINES)[0]


def test_a_refused_quantity_or_line_names_the_column_and_the_row_of_its_change(acme, order):
    before = world(order)
    n = order.number

    rows = _apply(
        acme,
        f"{n},ship,1,1,,,UPS,1Z1",
        f"{n},ship,3,5,,,UPS,1Z1",
        f"{n},cancel,2,4,out_of_stock,Short,,",
        f"{n},cancel,9,1,other,Gone,,",
        f"{n},ship,2,,,,DHL,D1",
        f"{n},ship,7,,,,DHL,D1",
    )

    over = "quantity (row 3): Line 3 (ACME-003) has 2 of 2 open; you cannot ship 5."
    no_seven = f"line (row 7): Order {n} has no line 7."
    assert [(r["row"], r["result"], r["message"]) for r in rows] == [
        ("2", "error", over),
        ("3", "error", over),
        ("4", "error", "quantity: Line 2 (ACME-002) has 1 of 1 open; you cannot cancel 4."),
        ("5", "error", f"line: Order {n} has no line 9."),
        ("6", "error", no_seven),
        ("7", "error", no_seven),
    ]
    assert world(order) == before


def test_a_line_twice_in_one_change_names_the_field_and_both_rows(acme, retailer, tasks_inline):
    lines = [{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-002", "quantity": 2}]
    a = place_order(retailer=retailer, lines=lines)[0]
    b = place_order(retailer=retailer, lines=lines)[0]

    rows = _apply(
        acme,
        f"{a.number},ship,1,1,,,UPS,1Z1",
        f"{a.number},ship,2,1,,,UPS,1Z1",
        f"{a.number},ship,1,2,,,UPS,1Z1",
        f"{b.number},cancel,2,,out_of_stock,Short,,",
        f"{b.number},cancel,2,,out_of_stock,Short,,",
        f"{b.number},ship,1,1,,,DPD,D1",
    )

    ship = (
        "line: Line 1 is in rows 2 and 4 of the same shipment (same order, carrier and "
        "tracking number); give each line once, with its whole quantity."
    )
    cancel = (
        "line: Line 2 is in rows 5 and 6 of the same cancellation (same order, reason and "
        "note); give each line once, with its whole quantity."
    )
    assert [(r["row"], r["result"], r["message"]) for r in rows[:5]] == [
        ("2", "error", ship),
        ("3", "error", ship),
        ("4", "error", ship),
        ("5", "error", cancel),
        ("6", "error", cancel),
    ]
    assert rows[5]["result"] == "applied"
    a.refresh_from_db()
    b.refresh_from_db()
    assert not Shipment.objects.filter(order=a).exists()
    assert not Cancellation.objects.filter(order=b).exists()
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in a.lines.all()] == [(0, 0)] * 2
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in b.lines.all()] == [
        (0, 1),
        (0, 0),
    ]


def test_a_change_refused_for_many_rows_answers_each_row_in_a_bounded_message(acme, order):
    # Every row of a refused change gets the change's message: it listed every problem, so a
    # shipment of 2,000 rows naming lines the order lacks stored 2,000 copies of a 130 kB
    # message (260 MB for a 50 kB file; quadratic in the rows). It names the first problems
    # and counts the rest.
    rows = [f"{order.number},ship,{line},1,,,DPD,T1" for line in range(4, 2004)]
    before = world(order)
    result = _apply(acme, *rows)
    assert len(result) == 2000
    assert {row["result"] for row in result} == {"error"}
    message = result[0]["message"]
    assert len(message) < 1500, len(message)
    assert f"Order {order.number} has no line 4." in message
    assert "1990 more" in message, message
    assert world(order) == before
    assert not Shipment.objects.filter(order=order).exists()


def test_a_change_with_many_bad_rows_answers_its_good_rows_in_a_bounded_message(acme, order):
    # A change's good rows are answered "Not applied: row ... of the same change has an
    # error.", which listed every bad row: quadratic in the rows, as above.
    bad = [f"{order.number},ship,1,x,,,DPD,T1" for _ in range(1000)]
    good = [f"{order.number},ship,{line},1,,,DPD,T1" for line in range(1, 1001)]
    before = world(order)
    result = _apply(acme, *bad, *good)
    assert {row["result"] for row in result} == {"error"}
    message = result[-1]["message"]
    assert message.startswith("Not applied: row 2, 3, 4"), message
    assert len(message) < 300, len(message)
    assert "990 more" in message, message
    assert world(order) == before
    assert not Shipment.objects.filter(order=order).exists()
