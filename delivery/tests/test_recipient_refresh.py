"""A try goes where the address is now, not where it was when the row was made (found in
review: a retailer's cancellation email refused at an old address went there again after ops
corrected it). Real SMTP server and HTTP receiver; the row shows where its latest try went."""

import pytest
from django.utils import timezone

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from delivery.services import (
    delivery_redeliver,
    delivery_send,
    destination_disable,
    destination_set_email,
    destination_set_webhook,
)
from orders.models import Retailer
from orders.services import order_set_status
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


def _cancel(order, capture):
    with capture(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")


def test_a_refused_cancellation_email_goes_to_the_corrected_address_when_redelivered(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination_disable(supplier=cole, channel="email")
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    email_via_smtp.refuse.add(retailer.email)  # the old address no longer exists
    _cancel(order, django_capture_on_commit_callbacks)
    row = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert row.status == DeliveryStatus.FAILED and "refused" in row.last_error
    assert email_via_smtp.messages == []

    Retailer.objects.filter(pk=retailer.pk).update(email="orders@shopco.example")
    with django_capture_on_commit_callbacks(execute=True):
        queued = delivery_redeliver(delivery=row)
    assert queued.recipient == "orders@shopco.example"  # the portal's "queued to ..." says so
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["orders@shopco.example"]
    assert order.number in mail.subject and mail.message_id == row.identity
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED
    assert row.recipient == "orders@shopco.example"
    assert email_via_smtp.to("buyers@shopco.example") == []


def test_a_retry_of_a_supplier_order_email_goes_to_the_addresses_set_since(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 3600]
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    row = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert row.status == DeliveryStatus.PENDING and row.recipient == "po@cole.example"

    email_via_smtp.fail_data = False
    destination_set_email(supplier=cole, addresses=["orders@cole.example", "ops@cole.example"])
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=row.pk) == "delivered"
    (mail,) = email_via_smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == ["ops@cole.example", "orders@cole.example"]
    assert email_via_smtp.to("po@cole.example") == []
    row.refresh_from_db()
    assert row.recipient == "orders@cole.example,ops@cole.example"


def test_a_failure_notice_goes_to_the_suppliers_addresses_as_they_are_now(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0]
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    notice = Delivery.objects.get(purpose=DeliveryPurpose.FAILURE_NOTICE)
    assert notice.status == DeliveryStatus.FAILED and notice.recipient == "po@cole.example"

    email_via_smtp.fail_data = False
    destination_set_email(supplier=cole, addresses=["alerts@cole.example"])
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=notice)
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["alerts@cole.example"]
    assert "could not deliver" in mail.body("plain")


def test_an_address_that_is_empty_now_keeps_the_stored_one(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """Nothing may suppress the retailer's cancellation email: with no address on the
    retailer any more, the try goes to the one the row holds."""
    destination_disable(supplier=cole, channel="email")
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    email_via_smtp.fail_data = True
    _cancel(order, django_capture_on_commit_callbacks)
    row = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert row.status == DeliveryStatus.PENDING

    email_via_smtp.fail_data = False
    Retailer.objects.filter(pk=retailer.pk).update(email="")
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=row.pk) == "delivered"
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["buyers@shopco.example"]
    row.refresh_from_db()
    assert row.recipient == "buyers@shopco.example"


def test_a_webhook_row_shows_the_url_its_latest_try_went_to(
    cole, retailer, http_receiver, tasks_inline, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.DELIVERY_RETRY_SCHEDULE = [0, 3600]
    destination_disable(supplier=cole, channel="email")
    destination_set_webhook(supplier=cole, url=http_receiver.url + "/old")
    http_receiver.script(503)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    row = Delivery.objects.get(channel="webhook")
    assert row.status == DeliveryStatus.PENDING and row.recipient.endswith("/old")

    destination_set_webhook(supplier=cole, url=http_receiver.url + "/new")
    http_receiver.script(200)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=row.pk) == "delivered"
    old, new = http_receiver.wait_for(2)
    assert (old.path, new.path) == ("/old", "/new")
    row.refresh_from_db()
    assert row.recipient == http_receiver.url + "/new"
