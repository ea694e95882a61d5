"""Line-level events (issue 12) at real servers: the retailer's email for every cancellation,
partial or whole, the supplier's cancellation email's sections, and webhook destinations
subscribed to the types of before."""

import pytest
from standardwebhooks import Webhook

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from delivery.services import destination_disable, destination_set_webhook
from orders.services import (
    LineQuantity,
    order_lines_cancel,
    order_set_status,
    order_shipment_create,
)
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole(cole):
    make_products(supplier=cole, skus={"COLE-2": "4.50", "COLE-3": "12.00"})
    return cole


def three_lines(retailer, capture):
    with capture(execute=True):
        return place_order(
            retailer=retailer,
            reference="R-12",
            lines=[
                {"sku": "COLE-1", "quantity": 3},
                {"sku": "COLE-2", "quantity": 2},
                {"sku": "COLE-3", "quantity": 1},
            ],
        )[0]


def retailer_mails(smtp, count):
    mails = smtp.wait_for(count)
    return [m for m in mails if m.rcpt_tos == ["buyers@shopco.example"]]


def test_partial_cancellations_email_the_retailer_items_reason_note_and_what_is_coming(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination_disable(supplier=cole, channel="email")  # nothing can turn the retailer's off
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="Only one blue candle left",
            lines=[LineQuantity(line=1, quantity=2)],
        )
    (first,) = retailer_mails(email_via_smtp, 1)
    assert order.number in first.subject and "cancelled" in first.subject
    assert "R-12" in first.subject and "2 items" in first.subject
    text = first.body("plain")
    assert "Out of stock" in text and "Only one blue candle left" in text
    cancelled, coming = text.split("Still coming:")
    assert "COLE-1" in cancelled and "x 2 of 3" in cancelled
    assert "COLE-2" not in cancelled and "COLE-3" not in cancelled
    assert "COLE-1" in coming and "x 1" in coming
    assert "COLE-2" in coming and "x 2" in coming and "COLE-3" in coming
    html = first.body("html")
    assert "Still coming" in html and "Only one blue candle left" in html

    # The second cancellation on the order: its own items, and what is left after both.
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="discontinued",
            note="Green range discontinued",
            lines=[LineQuantity(line=2, quantity=2), LineQuantity(line=1, quantity=1)],
        )
    mails = retailer_mails(email_via_smtp, 2)
    second = next(m for m in mails if m.message_id != first.message_id)
    assert order.number in second.subject and "3 items cancelled" in second.subject
    text = second.body("plain")
    assert "Discontinued" in text and "Green range discontinued" in text
    assert "Only one blue candle left" not in text
    cancelled, coming = text.split("Still coming:")
    assert "1. COLE-1" in cancelled and "x 1 of 3" in cancelled
    assert "2. COLE-2" in cancelled and "x 2 of 2" in cancelled
    assert "COLE-1" not in coming and "COLE-2" not in coming
    assert "3. COLE-3" in coming and "x 1" in coming
    rows = Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert rows.count() == 2 and {r.status for r in rows} == {DeliveryStatus.DELIVERED}


def test_the_last_cancellation_says_the_order_is_cancelled(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination_disable(supplier=cole, channel="email")
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="first", lines=[LineQuantity(3, 1)]
        )
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="rest")
    mails = retailer_mails(email_via_smtp, 2)
    last = next(m for m in mails if "Note: rest" in m.body("plain"))
    assert last.subject == f"Order {order.number} (R-12) cancelled by Cole Candles"
    assert "Nothing of this order is still coming" in last.body("plain")
    assert "x 3 of 3" in last.body("plain") and "COLE-3" not in last.body("plain")


def ship_lines_1_and_2_then_cancel_line_3(order, captures) -> None:
    """Line 1 shipped whole (3), line 2 in part (1 of 2), then line 3 (1) cancelled."""
    with captures(execute=True):
        order_shipment_create(
            order=order,
            actor="ops",
            carrier="DPD",
            lines=[LineQuantity(1, 3), LineQuantity(2, 1)],
        )
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="none left",
            lines=[LineQuantity(3, 1)],
        )


def test_after_a_partial_shipment_the_cancellation_email_lists_shipped_units_as_shipped(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination_disable(supplier=cole, channel="email")
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    ship_lines_1_and_2_then_cancel_line_3(order, django_capture_on_commit_callbacks)
    mail = next(m for m in retailer_mails(email_via_smtp, 2) if "cancelled" in m.subject)
    text = mail.body("plain")
    head, rest = text.split("Already shipped:")
    shipped, coming = rest.split("Still coming:")
    assert "3. COLE-3" in head and "x 1 of 1" in head
    assert "1. COLE-1" in shipped and "x 3" in shipped and "2. COLE-2" in shipped
    assert "1. COLE-1" not in coming and "3. COLE-3" not in coming
    assert "2. COLE-2" in coming and "x 1" in coming and "x 3" not in coming
    html = mail.body("html")
    shipped, coming = html.split("Already shipped")[1].split("Still coming")
    assert "1. COLE-1" in shipped and "2. COLE-2" in shipped
    assert "1. COLE-1" not in coming and "2. COLE-2" in coming and "3. COLE-3" not in coming


def supplier_cancellations(smtp, count):
    mails = smtp.wait_for(count)
    return [m for m in mails if m.rcpt_tos == ["po@cole.example"] and "cancelled" in m.subject]


def sections(body, headings):
    """The body after each heading, up to the next; every heading there once, in order."""
    for heading in headings:
        assert body.count(heading) == 1, (heading, body)
    parts, rest = [], body
    for heading in headings:
        before, rest = rest.split(heading)
        if parts:
            parts[-1] = before
        parts.append(rest)
    return parts


def test_the_suppliers_cancellation_email_lists_cancelled_now_already_shipped_and_still_to_ship(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    ship_lines_1_and_2_then_cancel_line_3(order, django_capture_on_commit_callbacks)
    (mail,) = supplier_cancellations(email_via_smtp, 4)
    text = mail.body("plain")
    assert "Still to ship or shipped" not in text
    cancelled, shipped, to_ship = sections(
        text, ["Cancelled now:", "Already shipped:", "Still to ship:"]
    )
    assert "3. COLE-3" in cancelled and "x 1 of 1" in cancelled and "COLE-1" not in cancelled
    assert "1. COLE-1" in shipped and "x 3" in shipped and "2. COLE-2  " in shipped
    assert "3. COLE-3" not in shipped
    assert "2. COLE-2" in to_ship and "x 1" in to_ship and "x 3" not in to_ship
    assert "1. COLE-1" not in to_ship and "3. COLE-3" not in to_ship
    html = mail.body("html")
    assert "Still to ship or shipped" not in html
    cancelled, shipped, to_ship = sections(
        html, ["Cancelled now</h2>", "Already shipped</h2>", "Still to ship</h2>"]
    )
    assert "3. COLE-3" in cancelled and "1. COLE-1" not in cancelled
    assert "1. COLE-1" in shipped and "2. COLE-2" in shipped and "3. COLE-3" not in shipped
    assert "2. COLE-2" in to_ship and "1. COLE-1" not in to_ship and "3. COLE-3" not in to_ship


def test_a_cancellation_of_what_was_left_after_shipping_tells_the_supplier_the_rest_shipped(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_shipment_create(
            order=order, actor="ops", carrier="DPD", lines=[LineQuantity(1, 3), LineQuantity(2, 2)]
        )
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="n", lines=[LineQuantity(3, 1)]
        )
    (mail,) = supplier_cancellations(email_via_smtp, 4)
    for body, headings in (
        (mail.body("plain"), ["Cancelled now:", "Already shipped:"]),
        (mail.body("html"), ["Cancelled now</h2>", "Already shipped</h2>"]),
    ):
        assert "Still to ship" not in body and "ship the rest" not in body
        assert "the rest has shipped" in body
        cancelled, shipped = sections(body, headings)
        assert "3. COLE-3" in cancelled and "1. COLE-1" in shipped and "2. COLE-2" in shipped


def test_a_section_of_the_suppliers_cancellation_email_with_no_lines_is_left_out(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="first", lines=[LineQuantity(3, 1)]
        )
    (partial,) = supplier_cancellations(email_via_smtp, 3)
    for body, headings in (
        (partial.body("plain"), ["Cancelled now:", "Still to ship:"]),
        (partial.body("html"), ["Cancelled now</h2>", "Still to ship</h2>"]),
    ):
        assert "Already shipped" not in body  # nothing had shipped
        cancelled, to_ship = sections(body, headings)
        assert "3. COLE-3" in cancelled and "1. COLE-1" not in cancelled
        assert "1. COLE-1" in to_ship and "2. COLE-2" in to_ship and "3. COLE-3" not in to_ship
    assert "ship the rest" in partial.body("plain")

    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="rest")
    (whole,) = [
        m for m in supplier_cancellations(email_via_smtp, 5) if m.message_id != partial.message_id
    ]
    # Nothing shipped and nothing left: one section, "Cancelled now" (the HTML's only h2).
    for body, heading in ((whole.body("plain"), "Cancelled now:"), (whole.body("html"), "</h2>")):
        assert "Already shipped" not in body and "Still to ship" not in body
        assert body.count(heading) == 1
    assert "Cancelled now</h2>" in whole.body("html")
    (cancelled,) = sections(whole.body("plain"), ["Cancelled now:"])
    assert "1. COLE-1" in cancelled and "2. COLE-2" in cancelled and "3. COLE-3" not in cancelled
    assert "Do not ship it." in whole.body("plain")


@pytest.fixture
def webhook(cole, http_receiver, settings, tasks_inline):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    destination_disable(supplier=cole, channel="email")

    def make(event_types):
        return destination_set_webhook(
            supplier=cole, url=http_receiver.url + "/hook", event_types=event_types
        )

    return make


def received(http_receiver, count, secret):
    return [
        Webhook(secret).verify(request.body, request.headers)
        for request in http_receiver.wait_for(count)
    ]


def test_old_subscriber_still_receives_order_cancelled_for_a_whole_cancellation(
    cole, retailer, http_receiver, webhook, django_capture_on_commit_callbacks
):
    _, secret = webhook(["order.cancelled"])
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="part", lines=[LineQuantity(1, 1)]
        )
        order_lines_cancel(order=order, actor="ops", reason="out_of_stock", note="the rest")
    (payload,) = received(http_receiver, 1, secret)  # the partial one is not its type
    assert payload["type"] == "order.cancelled"
    assert payload["data"]["status"] == "cancelled"
    assert payload["data"]["cancellation"]["note"] == "the rest"
    assert [c["note"] for c in payload["data"]["cancellations"]] == ["part", "the rest"]


def test_an_order_updated_subscriber_sees_a_status_changing_shipment_as_order_updated(
    cole, retailer, http_receiver, webhook, django_capture_on_commit_callbacks
):
    _, secret = webhook(["order.updated"])
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="processing", actor="ops")
        # Status stays processing: not an update for this subscriber.
        order_shipment_create(order=order, actor="ops", carrier="DPD", lines=[LineQuantity(1, 3)])
        # Ships the rest: processing -> shipped, as the seed's "shipped" update was.
        order_shipment_create(order=order, actor="ops", carrier="UPS", tracking_number="Z9")
    payloads = received(http_receiver, 2, secret)
    assert [p["type"] for p in payloads] == ["order.updated", "order.updated"]
    rows = Delivery.objects.filter(destination__channel="webhook").order_by("id")
    assert [row.event.type for row in rows] == ["order.updated", "order.shipment_created"]
    # `data` is the order as it is when sent (here after both shipments).
    assert payloads[1]["data"]["status"] == "shipped"
    assert payloads[1]["data"]["shipment"]["carrier"] == "UPS"
    assert len(payloads[1]["data"]["shipments"]) == 2


def test_a_destination_listing_nothing_gets_the_new_types_as_they_are(
    cole, retailer, http_receiver, webhook, django_capture_on_commit_callbacks
):
    _, secret = webhook(None)
    order = three_lines(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order, actor="ops", reason="other", note="n", lines=[LineQuantity(2, 1)]
        )
        order_shipment_create(order=order, actor="ops", carrier="DPD", lines=[LineQuantity(1, 1)])
    payloads = received(http_receiver, 3, secret)
    assert [p["type"] for p in payloads] == [
        "order.created",
        "order.lines_cancelled",
        "order.shipment_created",
    ]
    last = payloads[-1]["data"]
    assert [(x["quantity_cancelled"], x["quantity_shipped"]) for x in last["lines"]] == [
        (0, 1),
        (1, 0),
        (0, 0),
    ]
