"""The dispatcher makes one row per (event, target), and the sweeper recovers lost work."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.dispatcher import events_dispatch
from delivery.models import Channel, Delivery, DeliveryPurpose, DeliveryStatus
from delivery.services import (
    deliveries_sweep,
    destination_disable,
    destination_set_webhook,
)
from orders.models import OrderEvent
from orders.services import order_set_status
from orders.tests.factories import place_order
from suppliers.tests.factories import make_products

pytestmark = pytest.mark.django_db


def test_dispatch_twice_makes_one_row_per_event_and_destination(cole, retailer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_set_webhook(supplier=cole, url="http://127.0.0.1:9/hook")
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    event = OrderEvent.objects.get(order=order)
    assert event.dispatched_at is None  # on_commit did not run in this test transaction
    first = events_dispatch(event_ids=[event.pk])
    second = events_dispatch(event_ids=[event.pk])
    assert len(first) == 2 and second == []
    rows = Delivery.objects.filter(event=event)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "webhook"]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    # Even a forced second dispatch (dispatched_at cleared) adds nothing.
    OrderEvent.objects.filter(pk=event.pk).update(dispatched_at=None)
    events_dispatch(event_ids=[event.pk])
    assert Delivery.objects.filter(event=event).count() == 2
    # And the database refuses a duplicate outright.
    duplicate = rows.first()
    duplicate.pk, duplicate.identity = None, "another-identity"
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_cancellation_always_makes_a_retailer_delivery(cole, retailer):
    destination_disable(supplier=cole, channel="email")
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    (row,) = Delivery.objects.all()
    assert row.purpose == DeliveryPurpose.RETAILER_CANCELLATION
    assert row.recipient == retailer.email and row.destination is None


def test_updates_go_to_webhook_only(cole, retailer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_set_webhook(supplier=cole, url="http://127.0.0.1:9/hook")
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    order_set_status(order=order, status="processing", actor="ops")
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    update = OrderEvent.objects.get(type="order.updated")
    assert list(Delivery.objects.filter(event=update).values_list("channel", flat=True)) == [
        "webhook"
    ]


def test_supplier_made_without_onboarding_still_gets_email(retailer):
    from suppliers.tests.factories import make_supplier

    plain = make_supplier(slug="plain", emails="a@plain.example,b@plain.example")
    make_products(supplier=plain, skus={"PL-1": "1.00"})
    (order,) = place_order(retailer=retailer, lines=[{"sku": "PL-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    (row,) = Delivery.objects.all()
    assert row.channel == Channel.EMAIL and row.recipient == "a@plain.example,b@plain.example"


def test_sweeper_dispatches_an_undispatched_event(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    # As if the web process died right after commit: the event is there, undispatched.
    assert deliveries_sweep().events_dispatched == 0  # too fresh: the request may still do it
    assert not Delivery.objects.exists()
    OrderEvent.objects.update(created_at=timezone.now() - timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep().events_dispatched == 1
    (mail,) = email_via_smtp.wait_for(1)
    assert order.number in mail.subject
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_sweeper_requeues_a_stale_queued_delivery(cole, retailer, email_via_smtp, settings):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    delivery = Delivery.objects.get()
    assert delivery.queued_at is not None  # queued, but the message was lost
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert deliveries_sweep().deliveries_queued == 0  # fresh: the message may still come
    assert email_via_smtp.messages == []
    Delivery.objects.update(queued_at=timezone.now() - timedelta(minutes=5))
    assert deliveries_sweep().deliveries_queued == 1
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.message_id == delivery.identity
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_sweeper_leaves_a_held_delivery_alone(cole, retailer, email_via_smtp, settings):
    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    past = timezone.now() - timedelta(minutes=5)
    Delivery.objects.update(queued_at=past, claimed_until=timezone.now() + timedelta(minutes=1))
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert deliveries_sweep().deliveries_queued == 0
    assert email_via_smtp.messages == []
    # Once the lease lapses (the worker died), the row is queued and sent.
    Delivery.objects.update(claimed_until=past)
    assert deliveries_sweep().deliveries_queued == 1
    email_via_smtp.wait_for(1)


def test_supplier_is_emailed_about_cancellations_it_did_not_make(cole, retailer):
    from suppliers.tests.factories import make_supplier_user

    by_ops, by_supplier = (
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(2)
    )
    user = make_supplier_user(supplier=cole)
    order_set_status(order=by_ops, status="cancelled", actor="ops", reason="other", note="n")
    order_set_status(
        order=by_supplier,
        status="cancelled",
        actor=f"user:{user.username}",
        user=user,
        reason="out_of_stock",
        note="none left",
    )
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))

    def purposes(order):
        return sorted(
            Delivery.objects.filter(event__order=order, event__type="order.cancelled").values_list(
                "purpose", flat=True
            )
        )

    assert purposes(by_ops) == ["retailer_cancellation", "supplier_order"]
    assert purposes(by_supplier) == ["retailer_cancellation"]


def test_email_destination_ensure_for_a_supplier_made_elsewhere(db):
    from delivery.services import destination_email_ensure
    from suppliers.tests.factories import make_supplier

    plain = make_supplier(slug="plain", emails="a@plain.example")
    assert not plain.destinations.exists()
    destination = destination_email_ensure(supplier=plain)
    assert (destination.channel, destination.enabled, destination.email_addresses) == (
        "email",
        True,
        "a@plain.example",
    )
    assert destination_email_ensure(supplier=plain).pk == destination.pk
