"""Batches, SFTP scheduling, selectors, admin and a broker that is down at order time."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.channels import CHANNELS, channel_get
from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import SftpChannel
from delivery.dispatcher import events_dispatch
from delivery.models import Delivery, DeliveryStatus, Destination
from delivery.selectors import (
    deliveries_for_order,
    deliveries_for_supplier,
    delivery_failing_count,
    delivery_states_for_orders,
)
from delivery.services import (
    deliveries_process_batch,
    delivery_redeliver,
    destination_disable,
    sftp_run,
    sftp_runs_due,
)
from orders.models import OrderEvent
from suppliers.services import supplier_create
from testsupport.factories import make_products, make_supplier, place_order

pytestmark = pytest.mark.django_db


def place_and_dispatch(retailer, count=1):
    orders = [
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(count)
    ]
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    return orders


def test_email_batch_uses_one_smtp_connection(cole, retailer, email_via_smtp):
    place_and_dispatch(retailer, count=4)
    outcomes = deliveries_process_batch(deliveries=Delivery.objects.all())
    assert set(outcomes.values()) == {"delivered"}
    email_via_smtp.wait_for(4)
    assert len(email_via_smtp.sessions) == 1
    assert len({m.message_id for m in email_via_smtp.messages}) == 4


def test_delivered_rows_are_announced_once_by_signal(cole, retailer, email_via_smtp):
    """Sending knows nothing of its listeners: it announces what it marked delivered."""
    from delivery.signals import deliveries_delivered

    seen = []

    def listener(sender, deliveries, delivered_at, **kwargs):
        seen.append((sender, sorted(d.pk for d in deliveries), delivered_at))

    deliveries_delivered.connect(listener)
    try:
        place_and_dispatch(retailer, count=2)
        deliveries_process_batch(deliveries=Delivery.objects.all())
        deliveries_process_batch(deliveries=Delivery.objects.all())  # nothing left to send
    finally:
        deliveries_delivered.disconnect(listener)
    email_via_smtp.wait_for(2)
    rows = list(Delivery.objects.order_by("pk"))
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    assert seen == [(Delivery, [r.pk for r in rows], rows[0].delivered_at)]


def test_permanent_smtp_refusal_fails_at_once(cole, retailer, email_via_smtp):
    email_via_smtp.refuse.add("po@cole.example")
    place_and_dispatch(retailer)
    deliveries_process_batch(deliveries=Delivery.objects.all())
    delivery = Delivery.objects.get(purpose="supplier_order")
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 1
    assert email_via_smtp.messages == []


class RecordingSftp(SftpChannel):
    """Stands in for the SFTP channel's sending (built and tested against sshd elsewhere).

    It keeps the channel's facts (scheduled, one file per new order); only the upload is faked.
    """

    name = "sftp"
    batches: list[list[str]] = []
    fail = False

    def send_batch(self, deliveries):
        type(self).batches.append([d.identity for d in deliveries])
        if type(self).fail:
            return {d.pk: DeliveryFailed("connection refused") for d in deliveries}
        return {d.pk: SendResult() for d in deliveries}


@pytest.fixture
def sftp_stub(monkeypatch, cole):
    monkeypatch.setitem(CHANNELS, "sftp", "delivery.tests.test_processing.RecordingSftp")
    channel_get.cache_clear()
    RecordingSftp.batches, RecordingSftp.fail = [], False
    destination = Destination.objects.create(
        supplier=cole,
        channel="sftp",
        sftp_host="sftp.example",
        sftp_username="u",
        sftp_password="p",
        sftp_path="/in",
        sftp_host_key="ssh-ed25519 AAAA",
        sftp_interval_minutes=15,
    )
    destination_disable(supplier=cole, channel="email")
    yield destination
    channel_get.cache_clear()


def test_sftp_waits_for_its_interval_and_sends_one_batch(sftp_stub, retailer, tasks_inline):
    orders = place_and_dispatch(retailer, count=3)
    rows = Delivery.objects.filter(channel="sftp")
    assert sorted(rows.values_list("identity", flat=True)) == sorted(
        f"{o.number}.csv" for o in orders
    )
    assert all(r.queued_at is None for r in rows)  # not queued one by one
    assert RecordingSftp.batches == []
    assert sftp_runs_due() == [sftp_stub.pk]
    assert sftp_run(destination_id=sftp_stub.pk)
    assert len(RecordingSftp.batches) == 1 and len(RecordingSftp.batches[0]) == 3
    assert set(rows.values_list("status", flat=True)) == {"delivered"}
    # Not due again until the interval has passed.
    place_and_dispatch(retailer)
    assert sftp_runs_due() == []
    Destination.objects.filter(pk=sftp_stub.pk).update(
        sftp_last_run_at=timezone.now() - timedelta(minutes=15)
    )
    assert sftp_runs_due() == [sftp_stub.pk]
    sftp_run(destination_id=sftp_stub.pk)
    assert len(RecordingSftp.batches) == 2 and len(RecordingSftp.batches[1]) == 1


def test_sftp_failed_run_is_retried_on_schedule_and_by_each_run(sftp_stub, retailer, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 3600]
    RecordingSftp.fail = True
    place_and_dispatch(retailer, count=2)
    sftp_run(destination_id=sftp_stub.pk)
    sftp_run(destination_id=sftp_stub.pk)  # second try due at once (0 s)
    rows = Delivery.objects.filter(channel="sftp")
    assert set(rows.values_list("attempt_count", flat=True)) == {2}
    assert set(rows.values_list("status", flat=True)) == {"pending"}
    due = dict(rows.values_list("pk", "next_attempt_at"))
    # The third try is an hour away; a run (the retry of a failed one) tries them ahead of
    # it, and that try is not counted: the rows keep their hour.
    assert sftp_run(destination_id=sftp_stub.pk) == dict.fromkeys(due, "retry")
    assert len(RecordingSftp.batches) == 3
    assert set(rows.values_list("attempt_count", flat=True)) == {2}
    assert dict(rows.values_list("pk", "next_attempt_at")) == due
    # Healed: the next run sends them, still ahead of their hour.
    RecordingSftp.fail = False
    assert sftp_run(destination_id=sftp_stub.pk) == dict.fromkeys(due, "delivered")
    assert set(rows.values_list("attempt_count", flat=True)) == {2}


def test_selectors(cole, retailer, django_assert_max_num_queries, settings):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 5]
    a, b, c = place_and_dispatch(retailer, count=3)
    da, db_, dc = (Delivery.objects.get(event__order=o) for o in (a, b, c))
    deliveries_process_batch(deliveries=[da])  # no SMTP configured here: locmem backend
    Delivery.objects.filter(pk=db_.pk).update(attempt_count=1, last_error="SMTP 451")
    with django_assert_max_num_queries(1):
        states = delivery_states_for_orders(order_ids=[a.pk, b.pk, c.pk])
    assert states == {a.pk: "delivered", b.pk: "failing", c.pk: "pending"}
    assert list(deliveries_for_supplier(supplier=cole, status="failing")) == [
        Delivery.objects.get(pk=db_.pk)
    ]
    assert deliveries_for_supplier(supplier=cole, status="delivered").count() == 1
    # ORDER HISTORY's strip: failing (still retrying) plus failed for good, this supplier's only.
    with django_assert_max_num_queries(1):
        assert delivery_failing_count(supplier=cole) == 1
    Delivery.objects.filter(pk=dc.pk).update(status=DeliveryStatus.FAILED, attempt_count=2)
    assert delivery_failing_count(supplier=cole) == 2
    assert delivery_failing_count(supplier=make_supplier(slug="quiet")) == 0
    assert delivery_states_for_orders(order_ids=[c.pk, a.pk]) == {
        c.pk: "failed",
        a.pk: "delivered",
    }
    assert delivery_states_for_orders(order_ids=[]) == {}
    with django_assert_max_num_queries(2):
        rows = list(deliveries_for_order(order=a))
        assert [len(r.attempts.all()) for r in rows] == [1]


def test_admin_hides_secrets_and_redelivers(cole, retailer, admin_client, settings):
    from delivery.services import destination_set_webhook

    destination, secret = destination_set_webhook(supplier=cole, url="https://x.example/h")
    page = admin_client.get(f"/admin/delivery/destination/{destination.pk}/change/")
    assert page.status_code == 200
    assert secret not in page.content.decode()
    listing = admin_client.get("/admin/delivery/destination/")
    assert secret not in listing.content.decode()

    (order,) = place_and_dispatch(retailer)
    delivery = Delivery.objects.get(channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=10)
    response = admin_client.post(
        "/admin/delivery/delivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempt_count == 0
    assert admin_client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").status_code == 200
    assert admin_client.get("/admin/delivery/deliveryattempt/").status_code == 200


def test_redeliver_keeps_identity(cole, retailer, email_via_smtp):
    place_and_dispatch(retailer)
    delivery = Delivery.objects.get()
    deliveries_process_batch(deliveries=[delivery])
    delivery_redeliver(delivery=delivery)
    deliveries_process_batch(deliveries=[delivery])
    first, second = email_via_smtp.wait_for(2)
    assert first.message_id == second.message_id == delivery.identity
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_broker_down_at_order_time_does_not_fail_the_request(retailer_client, settings):
    """The intake API answers 201 with the broker unreachable; the rows wait for the sweeper."""
    from delivery.queue import broker_backoff_reset
    from testsupport.processes import celery_broker
    from testsupport.waiting import free_port

    supplier = supplier_create(slug="cole", name="Cole", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    broker_backoff_reset()
    try:
        with celery_broker(f"redis://127.0.0.1:{free_port()}/0"):
            response = retailer_client.post(
                "/api/v1/retailer/orders",
                {
                    "reference": "R-1",
                    "customer": {"name": "Ann"},
                    "shipping_address": {
                        "name": "Ann",
                        "line1": "1 High St",
                        "city": "Leeds",
                        "country": "GB",
                    },
                    "lines": [{"sku": "COLE-1", "quantity": 1}],
                },
                format="json",
            )
    finally:
        broker_backoff_reset()
    assert response.status_code == 201, response.content
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.queued_at is None  # for the sweeper
    assert OrderEvent.objects.get().dispatched_at is not None


def test_no_query_storm_in_dispatch(cole, retailer):
    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    ids = list(OrderEvent.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        events_dispatch(event_ids=ids)
    assert len(ctx.captured_queries) <= 10


def test_a_delivery_without_event_is_sent_by_its_purpose_renderer(retailer, email_via_smtp):
    """Other apps (statements' summaries) make rows naming their source by `source_key`, with
    their own renderer and its `prepare`; the engine sends any row."""
    from django.core.mail import EmailMultiAlternatives

    from delivery.emails import EMAIL_PREPARERS, EMAIL_RENDERERS, register_email_renderer

    delivery = Delivery.objects.create(
        source_key="report:2026-10",
        channel="email",
        purpose="monthly_summary",
        target_key=f"retailer:{retailer.pk}",
        recipient=retailer.email,
        identity="<summary-test@orders.localhost>",
        next_attempt_at=timezone.now(),
    )
    previous = EMAIL_RENDERERS.pop("monthly_summary", None)
    previous_prepare = EMAIL_PREPARERS.pop("monthly_summary", None)
    prepared: list[list[int]] = []

    def prepare(rows):
        prepared.append([d.pk for d in rows])
        for d in rows:
            d.report_month = d.source_key.removeprefix("report:")

    try:

        @register_email_renderer("monthly_summary", prepare=prepare)
        def render(d):
            return EmailMultiAlternatives(subject=f"Summary {d.report_month}", body="x")

        from delivery.services import delivery_send

        assert delivery_send(delivery_id=delivery.pk) == "delivered"
    finally:
        EMAIL_RENDERERS.pop("monthly_summary", None)
        EMAIL_PREPARERS.pop("monthly_summary", None)
        if previous:
            EMAIL_RENDERERS["monthly_summary"] = previous
        if previous_prepare:
            EMAIL_PREPARERS["monthly_summary"] = previous_prepare
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.subject == "Summary 2026-10" and mail.rcpt_tos == [retailer.email]
    assert mail.message_id == delivery.identity
    assert prepared == [[delivery.pk]]
