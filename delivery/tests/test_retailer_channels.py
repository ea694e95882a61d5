"""What a retailer hears back (issue 19): shipment and cancellation emails and its own signed
webhook, through the same delivery rows as a supplier's; set by `set_retailer_channel`."""

import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus, Destination
from delivery.selectors import deliveries_for_order, deliveries_for_supplier
from delivery.services import (
    retailer_shipment_email_set,
    retailer_webhook_disable,
    retailer_webhook_set,
)
from orders.models import OrderLine
from orders.services import order_lines_cancel
from suppliers.services import api_token_create
from testsupport.commands import command_refused
from testsupport.factories import place_order
from testsupport.waiting import wait_until

RETAILER_EMAIL = "buyers@shopco.example"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def supplier_api(acme):
    _, plain = api_token_create(supplier=acme, name="warehouse", can_update=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def order(retailer, acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(
            retailer=retailer,
            reference="SHOP-4711",
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
        )
    return order


@pytest.fixture
def retailer_hook(retailer, http_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    destination, secret = retailer_webhook_set(retailer=retailer, url=http_receiver.url + "/rh")
    assert secret.startswith("whsec_")
    return destination, secret


def ship(api, order, capture, *, lines=None, tracking="JD0001234567"):
    body = {"carrier": "DHL", "tracking_number": tracking}
    if lines is not None:
        body["lines"] = lines
    with capture(execute=True):
        response = api.post(f"/api/v1/orders/{order.number}/shipments", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def cancel(api, order, capture):
    with capture(execute=True):
        response = api.post(
            f"/api/v1/orders/{order.number}/cancellation",
            {"reason": "out_of_stock", "note": "None left"},
            format="json",
        )
    assert response.status_code == 200, response.content


def retailer_mail(smtp, count):
    wait_until(
        lambda: len(smtp.to(RETAILER_EMAIL)) >= count,
        timeout=10,
        message=f"expected {count} emails to the retailer",
    )
    return smtp.to(RETAILER_EMAIL)


def test_a_shipment_by_the_supplier_api_reaches_the_retailers_email_and_webhook(
    supplier_api,
    order,
    retailer_hook,
    email_via_smtp,
    http_receiver,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    _, secret = retailer_hook
    ship(supplier_api, order, django_capture_on_commit_callbacks)

    (mail,) = retailer_mail(email_via_smtp, 1)
    assert "JD0001234567" in mail.subject and "SHOP-4711" in mail.subject
    text = mail.body("plain")
    assert "Carrier: DHL" in text and "Tracking number: JD0001234567" in text
    assert "ACME-001" in text and "x 2 of 2" in text and "x 3 of 3" in text
    assert "JD0001234567" in mail.body("html")

    # The shipment was the supplier's first word on the order, so it also acknowledged it:
    # the webhook (all four types) hears both, the acknowledgement first.
    requests = http_receiver.wait_for(2)
    assert len(requests) == 2
    payloads = {
        r.headers["webhook-id"]: Webhook(secret).verify(r.body, r.headers) for r in requests
    }
    by_type = {p["type"]: p for p in payloads.values()}
    assert set(by_type) == {"order.acknowledged", "order.shipment_created"}
    payload = by_type["order.shipment_created"]
    assert payload["data"]["reference"] == "SHOP-4711"
    assert payload["data"]["number"] == order.number
    assert payload["data"]["shipments"][-1]["tracking_number"] == "JD0001234567"
    assert by_type["order.acknowledged"]["data"]["acknowledged_at"] is not None
    # The same engine: rows with a stable identity, an attempt each, delivered.
    rows = Delivery.objects.filter(event__order=order, purpose__startswith="retailer_")
    assert sorted((d.purpose, d.event.type, d.status) for d in rows) == sorted(
        [
            (DeliveryPurpose.RETAILER_SHIPMENT, "order.shipment_created", DeliveryStatus.DELIVERED),
            (DeliveryPurpose.RETAILER_WEBHOOK, "order.acknowledged", DeliveryStatus.DELIVERED),
            (DeliveryPurpose.RETAILER_WEBHOOK, "order.shipment_created", DeliveryStatus.DELIVERED),
        ]
    )
    for webhook_row in rows.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK):
        assert payloads[webhook_row.identity]["type"] == webhook_row.event.type
        assert webhook_row.attempts.count() == 1
    ack_row, ship_row = rows.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK).order_by("event_id")
    assert (ack_row.event.type, ship_row.event.type) == (
        "order.acknowledged",
        "order.shipment_created",
    )


def test_a_partial_shipment_says_what_is_still_to_ship(
    supplier_api, order, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    line_1 = OrderLine.objects.get(order=order, line_no=1)
    ship(
        supplier_api,
        order,
        django_capture_on_commit_callbacks,
        lines=[{"line": 1, "quantity": 1}],
    )
    (mail,) = retailer_mail(email_via_smtp, 1)
    text = mail.body("plain")
    assert "1 item shipped" in mail.subject
    assert "Still to ship:" in text
    assert f"{line_1.sku}  {line_1.name}  x 1 of 2" in text


def test_shipment_emails_off_stops_them_never_cancellation_emails(
    supplier_api,
    order,
    retailer,
    email_via_smtp,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    call_command("set_retailer_channel", "shopco", "shipment-email", "--off")
    ship(
        supplier_api,
        order,
        django_capture_on_commit_callbacks,
        lines=[{"line": 1, "quantity": 2}],
    )
    cancel(supplier_api, order, django_capture_on_commit_callbacks)
    (mail,) = retailer_mail(email_via_smtp, 1)
    assert "cancelled" in mail.subject.lower()
    assert not Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_SHIPMENT).exists()

    retailer_shipment_email_set(retailer=retailer, on=True)
    (second,) = place_order(retailer=retailer, lines=[{"sku": "ACME-003", "quantity": 1}])
    ship(supplier_api, second, django_capture_on_commit_callbacks)
    mails = retailer_mail(email_via_smtp, 2)
    assert "shipped" in mails[-1].subject


def test_the_webhook_gets_only_the_types_it_chose(
    supplier_api,
    order,
    retailer,
    http_receiver,
    settings,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    _, secret = retailer_webhook_set(
        retailer=retailer, url=http_receiver.url, event_types="order.cancelled"
    )
    ship(
        supplier_api, order, django_capture_on_commit_callbacks, lines=[{"line": 1, "quantity": 2}]
    )
    cancel(supplier_api, order, django_capture_on_commit_callbacks)  # the rest: lines_cancelled
    assert not Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK).exists()
    (whole,) = place_order(
        retailer=retailer, reference="SHOP-4712", lines=[{"sku": "ACME-003", "quantity": 1}]
    )
    cancel(supplier_api, whole, django_capture_on_commit_callbacks)
    (request,) = http_receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "order.cancelled" and payload["data"]["reference"] == "SHOP-4712"

    retailer_webhook_disable(retailer=retailer)
    (third,) = place_order(retailer=retailer, lines=[{"sku": "ACME-003", "quantity": 1}])
    cancel(supplier_api, third, django_capture_on_commit_callbacks)
    assert Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK).count() == 1


def test_an_acknowledgement_reaches_the_webhook(
    supplier_api,
    order,
    retailer_hook,
    http_receiver,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    _, secret = retailer_hook
    with django_capture_on_commit_callbacks(execute=True):
        response = supplier_api.post(f"/api/v1/orders/{order.number}/acknowledgement")
    assert response.status_code == 200, response.content
    (request,) = http_receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "order.acknowledged"
    assert payload["data"]["reference"] == "SHOP-4711"


@pytest.mark.parametrize("first", ["ship", "cancel"])
def test_a_shipment_or_cancellation_that_acknowledges_reaches_an_acknowledged_only_webhook(
    first,
    supplier_api,
    order,
    retailer,
    http_receiver,
    settings,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    """Shipping or cancelling counts as acknowledging: a retailer that listens only for
    `order.acknowledged` hears of it once, however the supplier first answered."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    _, secret = retailer_webhook_set(
        retailer=retailer, url=http_receiver.url, event_types="order.acknowledged"
    )
    if first == "ship":
        ship(
            supplier_api,
            order,
            django_capture_on_commit_callbacks,
            lines=[{"line": 1, "quantity": 1}],
        )
    else:
        cancel(supplier_api, order, django_capture_on_commit_callbacks)
    (request,) = http_receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "order.acknowledged"
    assert payload["data"]["reference"] == "SHOP-4711"
    # A second update, or an explicit acknowledgement after it, announces nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        response = supplier_api.post(f"/api/v1/orders/{order.number}/acknowledgement")
    assert response.status_code == 200
    if first == "ship":
        ship(supplier_api, order, django_capture_on_commit_callbacks, tracking="JD0009")
    assert Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK).count() == 1
    assert len(http_receiver.requests) == 1


def test_an_ops_cancellation_acknowledges_nothing(
    order, retailer, http_receiver, settings, tasks_inline, django_capture_on_commit_callbacks
):
    """Ops (admin, commands) acting on an order is not the supplier answering it."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    retailer_webhook_set(retailer=retailer, url=http_receiver.url, event_types="order.acknowledged")
    with django_capture_on_commit_callbacks(execute=True):
        order_lines_cancel(order=order, actor="ops:root", reason="other", note="fraud check")
    order.refresh_from_db()
    assert order.status == "cancelled" and order.acknowledged_at is None
    assert not order.events.filter(type="order.acknowledged").exists()
    assert not Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK).exists()


def test_retailer_rows_never_show_to_another_supplier_and_its_webhook_to_none(
    supplier_api, order, bolt, retailer_hook, tasks_inline, django_capture_on_commit_callbacks
):
    ship(supplier_api, order, django_capture_on_commit_callbacks)
    assert not deliveries_for_supplier(supplier=bolt).exists()
    own = set(deliveries_for_supplier(supplier=order.supplier).values_list("purpose", flat=True))
    assert DeliveryPurpose.RETAILER_SHIPMENT in own
    assert DeliveryPurpose.RETAILER_WEBHOOK not in own  # the retailer's endpoint is its own
    on_order_page = {d.purpose for d in deliveries_for_order(order=order)}
    assert DeliveryPurpose.RETAILER_SHIPMENT in on_order_page
    assert DeliveryPurpose.RETAILER_WEBHOOK not in on_order_page


# --- Private addresses: refused at save and at send -----------------------------------------


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/hook", "http://192.168.1.20/", "http://[::1]/", "http://[::1%25lo]/"]
)
def test_a_private_webhook_is_refused_at_save_naming_the_url(retailer, url, no_connections):
    """`no_connections`: checking the address only resolves it; nothing is connected to."""
    with pytest.raises(ValidationError) as caught:
        retailer_webhook_set(retailer=retailer, url=url)
    assert "url" in caught.value.message_dict
    assert not Destination.objects.filter(retailer=retailer).exists()
    with pytest.raises(CommandError, match="^url: .*not a public"):
        call_command("set_retailer_channel", "shopco", "webhook", "--url", url)
    assert not Destination.objects.filter(retailer=retailer).exists()


def test_a_private_webhook_is_refused_at_send(
    supplier_api,
    order,
    retailer,
    http_receiver,
    settings,
    tasks_inline,
    connections_to_loopback_only,
    django_capture_on_commit_callbacks,
):
    """Saved while private networks were allowed; netguard refuses it on sending. The
    loopback guard fails the test on any connection beyond 127.0.0.1/::1."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    retailer_webhook_set(retailer=retailer, url=http_receiver.url + "/rh")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    ship(supplier_api, order, django_capture_on_commit_callbacks)
    rows = Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_WEBHOOK)
    assert {row.event.type for row in rows} == {"order.acknowledged", "order.shipment_created"}
    for row in rows:
        assert row.status == DeliveryStatus.FAILED and "not public" in row.last_error
    assert http_receiver.requests == []


# --- The command -----------------------------------------------------------------------------


def test_the_command_prints_the_secret_once_and_turns_things_off(
    retailer, http_receiver, settings, capsys
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    call_command(
        "set_retailer_channel",
        "shopco",
        "webhook",
        "--url",
        http_receiver.url,
        "--events",
        "order.shipment_created,order.cancelled",
    )
    first = capsys.readouterr().out
    assert "Signing secret (shown once" in first and "whsec_" in first
    destination = Destination.objects.get(retailer=retailer, channel="webhook")
    assert destination.event_types == ["order.cancelled", "order.shipment_created"]
    assert destination.supplier_id is None
    call_command("set_retailer_channel", "shopco", "webhook", "--url", http_receiver.url + "/x")
    assert "whsec_" not in capsys.readouterr().out  # kept, never printed again
    call_command("set_retailer_channel", "shopco", "webhook", "--off")
    assert "webhook is off" in capsys.readouterr().out
    assert not Destination.objects.get(pk=destination.pk).enabled
    # Again: already off, its reason kept (a receiver's 410 would be, the same way).
    Destination.objects.filter(pk=destination.pk).update(disabled_reason="410 Gone")
    call_command("set_retailer_channel", "shopco", "webhook", "--off")
    assert "webhook was already off (410 Gone); nothing changed" in capsys.readouterr().out
    assert Destination.objects.get(pk=destination.pk).disabled_reason == "410 Gone"
    call_command("set_retailer_channel", "shopco", "shipment-email", "--off")
    assert not Destination.objects.get(retailer=retailer, channel="email").enabled
    call_command("set_retailer_channel", "shopco", "shipment-email", "--on")
    assert Destination.objects.get(retailer=retailer, channel="email").enabled


@pytest.mark.parametrize(
    "args, field",
    [
        (["nosuch", "webhook", "--url", "https://example.com/"], "slug"),
        (["shopco", "webhook"], "url"),
        (["shopco", "webhook", "--url", "ftp://example.com/"], "url"),
        (
            ["shopco", "webhook", "--url", "https://example.com/", "--events", "order.created"],
            "events",
        ),
        (["shopco", "shipment-email"], "off"),
        (["shopco", "shipment-email", "--off", "--url", ""], "url"),
        # Never set up: nothing to turn off is no success.
        (["shopco", "webhook", "--off"], "channel"),
        (["nosuch", "webhook", "--off"], "slug"),
    ],
)
def test_bad_command_input_names_the_field_and_changes_nothing(retailer, args, field):
    with pytest.raises(CommandError, match=f"^{field}: "):
        call_command("set_retailer_channel", *args)
    assert not Destination.objects.filter(retailer=retailer).exists()


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--url", "https://hooks.shopco.example/new"], "url"),
        (["--events", "order.cancelled"], "events"),
        (["--secret", ""], "secret"),
    ],
)
def test_webhook_off_with_an_option_that_sets_it_is_refused_and_changes_nothing(
    retailer_hook, extra, option
):
    destination, _ = retailer_hook
    before = list(Destination.objects.order_by("pk").values())
    reason = command_refused("set_retailer_channel", "shopco", "webhook", "--off", *extra)
    assert reason == f"{option}: --{option} is not used with --off; give one."
    assert list(Destination.objects.order_by("pk").values()) == before
    assert Destination.objects.get(pk=destination.pk).enabled


def test_the_secret_is_stored_encrypted(retailer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, secret = retailer_webhook_set(retailer=retailer, url="http://127.0.0.1:9/")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_secret FROM delivery_destination WHERE id = %s", [destination.pk]
        )
        (stored,) = cursor.fetchone()
    assert secret not in stored and json.dumps(secret) not in stored
