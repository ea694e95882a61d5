"""The admin as ops read it (issue 16): plural names right, the delivery list's columns
(order, supplier, channel, purpose, state, next try), pages of rows the services write have no
save button and refuse a POST, stored JSON reads as labelled fields, times as in the portal."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import formats, timezone

from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from orders.models import Order, OrderEvent, OrderEventType
from orders.services import LineQuantity, order_lines_cancel
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db

PORTAL_FORMAT = "j M Y, H:i"  # the portal's pages (templates/orders/detail.html)


@pytest.fixture
def ops(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


@pytest.fixture
def order(cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks):
    """An order whose supplier email was delivered, then a partial cancellation whose emails
    the SMTP server refused for now (451): failing, with a next try."""
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 3}])
    email_via_smtp.wait_for(1)
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(
            order=order,
            actor="ops",
            reason="out_of_stock",
            note="Two left",
            lines=[LineQuantity(line=1, quantity=1)],
        )
    return order


def _portal_time(value) -> str:
    return formats.date_format(timezone.localtime(value), PORTAL_FORMAT)


def test_plural_names_read_right(ops):
    index = ops.get("/admin/").text
    for name in ("Deliveries", "Delivery attempts", "Monthly summaries", "API tokens"):
        assert name in index, name
    assert "Deliverys" not in index and "Api tokens" not in index


def test_the_delivery_list_shows_order_supplier_channel_purpose_state_and_next_try(ops, order):
    failing = Delivery.objects.get(purpose="retailer_cancellation")
    assert failing.status == DeliveryStatus.PENDING and failing.attempt_count == 1
    assert failing.next_attempt_at is not None
    delivered = Delivery.objects.get(status=DeliveryStatus.DELIVERED)
    response = ops.get("/admin/delivery/delivery/")
    assert response.status_code == 200
    headers = [h for h in response.context["cl"].list_display if h != "action_checkbox"]
    assert headers[:6] == ["order_number", "supplier_name", "channel", "purpose", "state", "tries"]
    page = response.text
    for label in ("Order", "Supplier", "Channel", "Purpose", "State", "Tries", "Next try"):
        assert f">{label}</a>" in page or f">{label}</span>" in page, label
    rows = {r.pk: r for r in response.context["cl"].result_list}
    assert set(rows) >= {failing.pk, delivered.pk}
    assert (
        page.count(f">{order.number}<")
        + page.count(f'<td class="field-order_number">{order.number}')
        >= 1
    )
    assert "Cancellation to retailer" in page and "Order to supplier" in page
    assert "Failing" in page and "Delivered" in page and "Cole Candles" in page
    # The next try, in the portal's format (and zone, named).
    assert _portal_time(failing.next_attempt_at) in page
    assert timezone.localtime(failing.next_attempt_at).strftime("%Z") in page
    assert _portal_time(delivered.created_at) in page


def test_pages_of_rows_the_services_write_have_no_save_button_and_refuse_a_post(ops, order):
    event = OrderEvent.objects.get(type=OrderEventType.LINES_CANCELLED)
    delivery = Delivery.objects.get(purpose="retailer_cancellation")
    attempt = DeliveryAttempt.objects.filter(delivery=delivery).first()
    pages = {
        f"/admin/delivery/delivery/{delivery.pk}/change/": delivery,
        f"/admin/delivery/deliveryattempt/{attempt.pk}/change/": attempt,
        f"/admin/orders/order/{order.pk}/change/": order,
        f"/admin/orders/orderevent/{event.pk}/change/": event,
    }
    for url in pages:
        response = ops.get(url)
        assert response.status_code == 200, url
        assert 'name="_save"' not in response.text, url
        assert 'name="_continue"' not in response.text and 'name="_addanother"' not in response.text
        assert "Close" in response.text, url  # Django's view-only page
    before = Order.objects.get(pk=order.pk).customer_name, delivery.recipient
    response = ops.post(
        f"/admin/orders/order/{order.pk}/change/", {"customer_name": "Mallory", "_save": "1"}
    )
    assert response.status_code == 403
    response = ops.post(
        f"/admin/delivery/delivery/{delivery.pk}/change/", {"recipient": "x@evil.example"}
    )
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert (Order.objects.get(pk=order.pk).customer_name, delivery.recipient) == before


def test_a_delivery_cannot_be_deleted_so_the_retailers_email_is_still_sent(ops, order):
    """A deleted delivery is one nobody sends: the retailer's cancellation email (which no
    setting or code path may suppress) would be gone, its events already dispatched."""
    delivery = Delivery.objects.get(purpose="retailer_cancellation")
    attempt = DeliveryAttempt.objects.filter(delivery=delivery).first()
    before = (list(Delivery.objects.values()), list(DeliveryAttempt.objects.values()))

    for url in (
        f"/admin/delivery/delivery/{delivery.pk}/delete/",
        f"/admin/delivery/deliveryattempt/{attempt.pk}/delete/",
    ):
        assert ops.post(url, {"post": "yes"}).status_code == 403, url
    listing = ops.get("/admin/delivery/delivery/")
    assert "delete_selected" not in listing.text
    response = ops.post(
        "/admin/delivery/delivery/",
        {"action": "delete_selected", "_selected_action": [delivery.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)

    assert (list(Delivery.objects.values()), list(DeliveryAttempt.objects.values())) == before


def test_an_events_data_reads_as_labelled_fields_not_json(ops, order):
    event = OrderEvent.objects.get(type=OrderEventType.LINES_CANCELLED)
    assert isinstance(event.data, dict) and event.data
    for url in (
        f"/admin/orders/orderevent/{event.pk}/change/",
        f"/admin/orders/order/{order.pk}/change/",
    ):
        page = ops.get(url).text
        # Not the document (JSON or Python's repr, escaped or not) ...
        for key in event.data:
            for raw in (f'"{key}":', f"&quot;{key}&quot;:", f"'{key}':", f"&#x27;{key}&#x27;:"):
                assert raw not in page, (url, raw)
        # ... but its fields, labelled.
        assert 'class="readable-json"' in page
        for key in event.data:
            assert f'<th scope="row">{key.replace("_", " ").capitalize()}</th>' in page


def test_a_destination_cannot_be_deleted_its_pending_rows_would_wait_for_good(ops, order):
    """Deleting a destination left its deliveries with none: an SFTP row then waited for a
    run that never comes (runs go by destination, the sweep skips SFTP rows). Ops turn a
    channel off instead (set_channel --off, or the supplier's settings)."""
    from delivery.models import Destination

    destination = Destination.objects.filter(supplier=order.supplier).first()
    assert destination is not None
    assert (
        ops.post(
            f"/admin/delivery/destination/{destination.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert "delete_selected" not in ops.get("/admin/delivery/destination/").text
    assert Destination.objects.filter(pk=destination.pk).exists()
