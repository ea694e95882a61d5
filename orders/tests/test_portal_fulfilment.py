"""The portal's line-level pages: "Cancel items" and "Ship", the order page's line state,
ORDER HISTORY's part-way marks and the CSV export's line columns (issue 12)."""

import csv
import io

import pytest

from delivery.models import DeliveryPurpose
from orders.models import Order
from orders.services import (
    LineQuantity,
    order_lines_cancel,
    order_set_status,
    order_shipment_create,
)
from testsupport.factories import make_supplier_user, place_order

from .test_portal import _Committed

TWO_LINES = [{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-003", "quantity": 1}]


@pytest.fixture
def acme_user(acme):
    return make_supplier_user(supplier=acme, username="ann")


@pytest.fixture
def acme_client(client, acme_user):
    client.force_login(acme_user)
    return client


@pytest.fixture
def order(acme, retailer):
    return place_order(retailer=retailer, lines=TWO_LINES)[0]


def _state(order):
    """Everything a cancellation or a shipment would change."""
    order = Order.objects.get(pk=order.pk)
    return (
        order.status,
        order.version,
        order.events.count(),
        list(order.lines.order_by("line_no").values_list("quantity_cancelled", "quantity_shipped")),
        order.cancellations.count(),
        order.shipments.count(),
    )


@pytest.fixture
def committed(email_via_smtp, tasks_inline, django_capture_on_commit_callbacks):
    return _Committed(email_via_smtp, django_capture_on_commit_callbacks)


def _version(order) -> int:
    return Order.objects.get(pk=order.pk).version


def _lines(order) -> list[tuple[int, int]]:
    return list(
        Order.objects.get(pk=order.pk)
        .lines.order_by("line_no")
        .values_list("quantity_cancelled", "quantity_shipped")
    )


def _cancel(order, *, line_no: int, quantity: int, note: str = "one is broken"):
    order_lines_cancel(
        order=order,
        actor="ops",
        reason="out_of_stock",
        note=note,
        lines=[LineQuantity(line=line_no, quantity=quantity)],
    )


def _ship(order, *, line_no: int, quantity: int, tracking: str = "TRK1"):
    order_shipment_create(
        order=order,
        actor="ops",
        carrier="DPD",
        tracking_number=tracking,
        lines=[LineQuantity(line=line_no, quantity=quantity)],
    )


# --- Cancel items ---------------------------------------------------------------------------


def test_cancel_items_form_offers_every_open_line_at_zero(acme_client, order):
    _ship(order, line_no=2, quantity=1)
    response = acme_client.get(f"/orders/{order.number}/cancel-items/")
    assert response.status_code == 200
    form = response.context["form"]
    assert [field.value() for _, field in form.line_fields] == [0, 0]
    body = response.content.decode()
    assert 'name="qty-1"' in body and 'max="3"' in body and 'max="0"' in body


def test_cancel_one_line_through_the_form(acme_client, acme_user, order):
    response = acme_client.post(
        f"/orders/{order.number}/cancel-items/",
        {
            "qty-1": "2",
            "qty-2": "0",
            "reason": "out_of_stock",
            "note": "Only one left",
            "version": order.version,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/orders/{order.number}/"
    body = response.content.decode()
    assert "Cancelled 2 × ACME-001" in body and "email to the retailer" in body
    assert _lines(order) == [(2, 0), (0, 0)]
    order.refresh_from_db()
    assert order.status == "placed"
    event = order.events.order_by("-id").first()
    assert event.type == "order.lines_cancelled" and event.actor == "user:ann"
    assert event.actor_user == acme_user and event.note == "Only one left"
    cancellation = order.cancellations.get()
    assert cancellation.reason == "out_of_stock" and cancellation.note == "Only one left"


def test_cancelling_items_emails_the_retailer_once_committed(acme_client, order, committed):
    """The refusals' "nothing sent" is calibrated: the same setup catches a real cancel's."""
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/cancel-items/",
        {"qty-1": "1", "reason": "out_of_stock", "note": "Only two left", "version": order.version},
    )
    assert response.status_code == 302
    committed.assert_one_email_to_the_retailer(
        purpose=DeliveryPurpose.RETAILER_CANCELLATION, number=order.number
    )


def test_shipping_emails_the_retailer_once_committed(acme_client, order, committed):
    """The ship refusals' "nothing sent" is calibrated: the same setup catches a real one's."""
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/ship/",
        {"qty-1": "1", "carrier": "DPD", "version": order.version},
    )
    assert response.status_code == 302
    committed.assert_one_email_to_the_retailer(
        purpose=DeliveryPurpose.RETAILER_SHIPMENT, number=order.number
    )


def test_cancelling_every_open_unit_cancels_the_order(acme_client, order):
    acme_client.post(
        f"/orders/{order.number}/cancel-items/",
        {
            "qty-1": "3",
            "qty-2": "1",
            "reason": "discontinued",
            "note": "gone",
            "version": order.version,
        },
    )
    order.refresh_from_db()
    assert order.status == "cancelled" and _lines(order) == [(3, 0), (1, 0)]


BAD_CANCELS = [
    ({"qty-1": "4"}, "qty-1", "Only 3 units of line 1 (ACME-001) are open."),
    ({"qty-1": "0", "qty-2": "0"}, None, "Nothing chosen"),
    ({}, None, "Nothing chosen"),
    ({"qty-1": "two"}, "qty-1", "Enter a whole number"),
    ({"qty-1": "1.5"}, "qty-1", "Enter a whole number"),
    ({"qty-1": "-1"}, "qty-1", "Enter 0 or more units."),
    ({"qty-1": "9" * 40}, "qty-1", "Only 3 units"),
    ({"qty-1": "1e3"}, "qty-1", "Enter a whole number"),
    ({"qty-1": "1", "qty-7": "1"}, None, "has no line “7”"),
    ({"qty-1": "1", "qty-x\u0000": "1"}, None, "has no line"),
    ({"qty-1": "1", "reason": ""}, "reason", "Choose a cancellation reason"),
    ({"qty-1": "1", "note": "   "}, "note", "A note is required"),
    ({"qty-1": "1", "reason": "bogus"}, "reason", "Select a valid choice"),
    ({"qty-1": "1", "version": ""}, "version", "lost track of the order"),
    ({"qty-1": "1", "version": "x\u0000"}, "version", "lost track of the order"),
]


@pytest.mark.parametrize("data,field,message", BAD_CANCELS)
def test_cancel_items_refusals_change_nothing(acme_client, order, committed, data, field, message):
    data = {"reason": "out_of_stock", "note": "why", "version": order.version, **data}
    before = _state(order)
    response = committed.post(acme_client, f"/orders/{order.number}/cancel-items/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and "Nothing was changed" in body
    assert (field or "__all__") in response.context["form"].errors
    assert _state(order) == before
    committed.assert_nothing_sent()


def test_cancel_items_counts_what_is_open_now_not_when_the_form_opened(
    acme_client, order, committed
):
    acme_client.get(f"/orders/{order.number}/cancel-items/")
    _cancel(order, line_no=1, quantity=2)  # someone else, meanwhile
    before = _state(order)
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/cancel-items/",
        {"qty-1": "2", "reason": "other", "note": "late", "version": _version(order)},
    )
    assert response.status_code == 400
    assert "Only 1 unit of line 1 (ACME-001) is open." in response.content.decode()
    assert _state(order) == before
    committed.assert_nothing_sent()


@pytest.mark.parametrize("final", ["cancelled", "shipped"])
def test_cancel_items_of_a_final_order_is_refused(acme_client, order, committed, final):
    if final == "cancelled":
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="x")
    else:
        _ship(order, line_no=1, quantity=3)
        _ship(order, line_no=2, quantity=1, tracking="TRK2")
    page = acme_client.get(f"/orders/{order.number}/cancel-items/").content.decode()
    assert "which is final" in page and "Cancel these items" not in page
    before = _state(order)
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/cancel-items/",
        {"qty-1": "1", "reason": "other", "note": "late", "version": _version(order)},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "which is final" in body and "Nothing was changed" in body
    assert _state(order) == before
    committed.assert_nothing_sent()


def test_another_suppliers_order_is_404_on_both_pages(acme_client, bolt, retailer, committed):
    theirs = place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 2}])[0]
    before = _state(theirs)
    for page in ("cancel-items", "ship"):
        assert acme_client.get(f"/orders/{theirs.number}/{page}/").status_code == 404
        response = committed.post(
            acme_client,
            f"/orders/{theirs.number}/{page}/",
            {"qty-1": "1", "reason": "other", "note": "x", "carrier": "DPD"},
        )
        assert response.status_code == 404
        committed.assert_nothing_sent()
    assert _state(theirs) == before


def test_a_line_number_of_another_order_is_refused(acme_client, acme, retailer, order):
    bigger = place_order(retailer=retailer, lines=[*TWO_LINES, {"sku": "ACME-002", "quantity": 1}])[
        0
    ]
    before = _state(order), _state(bigger)
    response = acme_client.post(
        f"/orders/{order.number}/cancel-items/",
        {"qty-3": "1", "reason": "other", "note": "x", "version": order.version},
    )
    assert response.status_code == 400
    assert f"Order {order.number} has no line “3”." in response.content.decode()
    assert (_state(order), _state(bigger)) == before


# --- Ship ----------------------------------------------------------------------------------


def test_ship_form_fills_in_every_open_unit(acme_client, order):
    _cancel(order, line_no=1, quantity=1)
    form = acme_client.get(f"/orders/{order.number}/ship/").context["form"]
    assert [field.value() for _, field in form.line_fields] == [2, 1]


def test_ship_in_two_parts(acme_client, order):
    response = acme_client.post(
        f"/orders/{order.number}/ship/",
        {
            "qty-1": "2",
            "qty-2": "0",
            "carrier": "DPD",
            "tracking_number": "TRK-A",
            "version": order.version,
        },
        follow=True,
    )
    body = response.content.decode()
    assert "Shipped 2 × ACME-001" in body and "now processing" in body
    order.refresh_from_db()
    assert order.status == "processing" and _lines(order) == [(0, 2), (0, 0)]
    assert order.events.order_by("-id").first().type == "order.shipment_created"

    acme_client.post(
        f"/orders/{order.number}/ship/",
        {
            "qty-1": "1",
            "qty-2": "1",
            "carrier": "UPS",
            "tracking_number": "TRK-B",
            "version": _version(order),
        },
    )
    order.refresh_from_db()
    assert order.status == "shipped" and _lines(order) == [(0, 3), (0, 1)]
    shipments = list(order.shipments.order_by("id").values_list("carrier", "tracking_number"))
    assert shipments == [("DPD", "TRK-A"), ("UPS", "TRK-B")]


BAD_SHIPS = [
    ({"qty-1": "5", "qty-2": "1"}, "qty-1", "Only 3 units of line 1 (ACME-001) are open."),
    ({"qty-1": "0", "qty-2": "0"}, None, "Nothing chosen"),
    ({"qty-1": "", "qty-2": ""}, None, "Nothing chosen"),
    ({"qty-1": "lots"}, "qty-1", "Enter a whole number"),
    ({"qty-2": "-3"}, "qty-2", "Enter 0 or more units."),
    ({"qty-2": "1" * 30}, "qty-2", "Only 1 unit of line 2 (ACME-003) is open."),
    ({"qty-1": "1", "qty-99": "1"}, None, "has no line “99”"),
    ({"qty-1": "1", "carrier": "x" * 101}, "carrier", "at most 100 characters"),
    ({"qty-1": "1", "carrier": "  "}, "carrier", "Name the carrier."),
    ({"qty-1": "1", "version": "0"}, "version", "lost track of the order"),
]


@pytest.mark.parametrize("data,field,message", BAD_SHIPS)
def test_ship_refusals_change_nothing(acme_client, order, committed, data, field, message):
    before = _state(order)
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/ship/",
        {"carrier": "DPD", "tracking_number": "T", "version": order.version, **data},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and "Nothing was changed" in body
    assert (field or "__all__") in response.context["form"].errors
    assert _state(order) == before
    committed.assert_nothing_sent()


def test_a_service_refusal_shows_on_the_line_it_names(order):
    """A race the form cannot see (another cancellation between its read and the service's
    lock) is refused by the service, naming `lines.<i>`: shown on that line's field."""
    from orders.fulfilment_forms import OrderShipForm

    form = OrderShipForm(
        {"qty-1": "0", "qty-2": "1", "carrier": "DPD", "version": order.version},
        order=order,
        lines=order.lines.all(),
    )
    assert form.is_valid() and form.line_quantities()[0].line == 2
    form.add_service_errors({"lines.0.quantity": ["Line 2 has 0 of 1 open."], "lines": ["x"]})
    assert form.errors["qty-2"] == ["Line 2 has 0 of 1 open."]
    assert form.non_field_errors() == ["x"]


def test_ship_of_a_cancelled_order_is_refused(acme_client, order, committed):
    order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="x")
    before = _state(order)
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/ship/",
        {"qty-1": "1", "carrier": "DPD", "tracking_number": "T", "version": _version(order)},
    )
    assert response.status_code == 400
    assert "which is final" in response.content.decode()
    assert _state(order) == before
    committed.assert_nothing_sent()


# --- Order page ----------------------------------------------------------------------------


def test_order_page_shows_each_lines_state_cancellations_shipments_and_timeline(acme_client, order):
    _cancel(order, line_no=1, quantity=1, note="one is broken")
    _ship(order, line_no=1, quantity=1, tracking="TRK-9")
    response = acme_client.get(f"/orders/{order.number}/")
    body = response.content.decode()
    lines = response.context["order"].lines.all()
    assert [(ln.quantity, ln.quantity_cancelled, ln.quantity_shipped) for ln in lines] == [
        (3, 1, 1),
        (1, 0, 0),
    ]
    items = body.split('id="items"')[1].split("</table>")[0]
    assert (
        '<td data-label="Ordered" class="num">3</td><td data-label="Cancelled" class="num">1</td>'
        '<td data-label="Shipped" class="num">1</td><td data-label="Open" class="num">1</td>'
    ) in items
    cancellations = body.split('id="cancellations"')[1].split("</section>")[0]
    assert "Out of stock" in cancellations and "one is broken" in cancellations
    assert "1 × ACME-001" in cancellations
    shipments = body.split('id="shipments"')[1].split("</section>")[0]
    assert "DPD" in shipments and "TRK-9" in shipments and "1 × ACME-001" in shipments
    timeline = body.split('id="timeline"')[1].split("</ol>")[0]
    assert "Lines cancelled" in timeline and "1 × ACME-001 cancelled (Out of stock)" in timeline
    assert "Shipment created" in timeline
    assert "1 × ACME-001 shipped by DPD, tracking TRK-9" in timeline
    for action in ("Cancel items", "Ship", "Edit"):
        assert f">{action}</a>" in body.split('class="page-head"')[1].split("</div>")[0]


def test_order_page_query_count_does_not_grow_with_cancellations_and_shipments(
    acme_client, acme, retailer, django_assert_max_num_queries
):
    from testsupport.factories import make_products

    make_products(supplier=acme, skus={f"ACME-1{i:02d}": "1.00" for i in range(8)})
    small = place_order(retailer=retailer)[0]
    big = place_order(
        retailer=retailer, lines=[{"sku": f"ACME-1{i:02d}", "quantity": 3} for i in range(8)]
    )[0]
    for line_no in range(1, 9):
        _cancel(big, line_no=line_no, quantity=1)
        _ship(big, line_no=line_no, quantity=1, tracking=f"T{line_no}")
    limit = 12  # as before issue 12: the records add four queries, fixed in number
    with django_assert_max_num_queries(limit):
        assert acme_client.get(f"/orders/{small.number}/").status_code == 200
    with django_assert_max_num_queries(limit):
        response = acme_client.get(f"/orders/{big.number}/")
    assert response.content.decode().count("T8") >= 1


# --- ORDER HISTORY and export --------------------------------------------------------------


def _row(body: str, number: str) -> str:
    return body.split(f">{number}</a>")[1].split("</tr>")[0]


def test_history_marks_part_way_orders(acme_client, retailer, order):
    shipped_rest = place_order(retailer=retailer, lines=TWO_LINES)[0]
    part_shipped = place_order(retailer=retailer, lines=TWO_LINES)[0]
    untouched = place_order(retailer=retailer, lines=TWO_LINES)[0]
    _cancel(order, line_no=1, quantity=1)
    _ship(part_shipped, line_no=2, quantity=1)
    _cancel(shipped_rest, line_no=2, quantity=1)
    _ship(shipped_rest, line_no=1, quantity=3)
    body = acme_client.get("/orders/").content.decode()
    assert "partly cancelled" in _row(body, order.number)
    assert "part shipped" not in _row(body, order.number)
    assert "part shipped" in _row(body, part_shipped.number)
    assert "partly cancelled" not in _row(body, part_shipped.number)
    row = _row(body, shipped_rest.number)
    assert "Shipped" in row and "partly cancelled" in row and "part shipped" not in row
    assert "mark" not in _row(body, untouched.number)


def test_history_query_count_with_marks_does_not_grow_with_page_size(
    acme_client, acme, retailer, django_assert_max_num_queries
):
    from django.db import connection

    def some(n):
        made = [place_order(retailer=retailer, lines=TWO_LINES)[0] for _ in range(n)]
        for i, o in enumerate(made):
            if i % 2:
                _cancel(o, line_no=1, quantity=1)
            else:
                _ship(o, line_no=2, quantity=1)
        return made

    some(3)
    # The page's 9 queries and the marks' one, plus SAVEPOINT, SET LOCAL and RELEASE around
    # the page read on PostgreSQL; and how many match (issue 16): the capped count, on
    # PostgreSQL in a savepoint with its own time limit (SAVEPOINT, SET, SET, RELEASE).
    limit = 14 if connection.vendor == "postgresql" else 11
    with django_assert_max_num_queries(limit):
        small = acme_client.get("/orders/").content.decode()
    some(30)
    with django_assert_max_num_queries(limit):
        big = acme_client.get("/orders/?size=200").content.decode()
    assert small.count("badge mark") == 3 and big.count("badge mark") == 33


def test_export_keeps_its_columns_and_adds_line_state_at_the_end(acme_client, order):
    from orders.views_export import EXPORT_COLUMNS

    _cancel(order, line_no=1, quantity=1)
    _ship(order, line_no=2, quantity=1)
    response = acme_client.get("/orders/export.csv")
    text = b"".join(response.streaming_content).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert header[:18] == EXPORT_COLUMNS[:18] and header[0] == "order_number"
    assert header[-7:] == [
        "shipment_tracking_number",
        "items_cancelled",
        "items_shipped",
        "items_open",
        "lines",
        "status_label",
        "cancellation_reason_label",
    ]
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["items"], row["items_cancelled"], row["items_shipped"], row["items_open"]) == (
        "4",
        "1",
        "1",
        "2",
    )
    assert row["lines"] == (
        "#1 ACME-001: 3 ordered, 1 cancelled, 0 shipped; "
        "#2 ACME-003: 1 ordered, 0 cancelled, 1 shipped"
    )
    # The codes in words too (issue 16): the status as the portal shows it.
    assert (row["status"], row["status_label"]) == ("processing", "Processing")


def test_edit_cancel_of_a_part_shipped_order_cancels_what_is_open(acme_client, order):
    """The seed's path on an order part shipped: "cancelled" cancels the open units only."""
    _ship(order, line_no=1, quantity=3)
    order.refresh_from_db()
    response = acme_client.post(
        f"/orders/{order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "rest gone", "version": order.version},
        follow=True,
    )
    body = response.content.decode()
    assert "The open items of order" in body and "now shipped" in body
    assert "email to the retailer" in body
    order.refresh_from_db()
    assert order.status == "shipped" and _lines(order) == [(0, 3), (1, 0)]
