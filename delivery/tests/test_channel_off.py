"""A channel turned off stops at once, every channel alike (found in review: email and webhook
rows were cancelled when their turn came, SFTP rows waited, and the service said all waited).

Its pending rows are cancelled with the reason, nothing goes out while it is off, nothing of
them goes out by itself once it is on again, and a redelivery sends them. Real SMTP server,
real HTTP receiver, the hosted file drop's real folder.
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from delivery.dispatcher import events_dispatch
from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus, Destination
from delivery.services import (
    deliveries_sweep,
    delivery_redeliver,
    delivery_send,
    destination_disable,
    destination_set_email,
    destination_set_sftp,
    destination_set_webhook,
    retailer_shipment_email_set,
    sftp_run,
)
from orders.services import order_set_status
from testsupport.commands import command_run
from testsupport.factories import make_supplier_user, place_order
from testsupport.waiting import a_session_waits_on_a_lock, wait_until

pytestmark = pytest.mark.django_db

TURNED_OFF = "channel was turned off"


@pytest.fixture
def storage(settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    return tmp_path / "hosted"


def _placed(retailer):
    """An order placed and dispatched (its rows written; nothing sent: no task runs)."""
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(order.events.values_list("pk", flat=True)))
    return order


def _files(storage, slug="cole"):
    folder = storage / slug / "orders"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_off_again_with_a_row_still_pending_says_it_cancelled_it_not_nothing_changed(
    cole, retailer, storage
):
    """Off already (a receiver's 410, say) while a row was still pending: --off cancels it,
    keeps why the channel went off, and does not also say that nothing changed."""
    destination_disable(supplier=cole, channel="email")
    destination_set_sftp(supplier=cole, hosted=True)
    _placed(retailer)
    row = Delivery.objects.get(channel="sftp")
    # Off by SQL, as a worker turning it off around a row it held would leave it.
    Destination.objects.filter(supplier=cole, channel="sftp").update(
        enabled=False, disabled_reason="host key changed"
    )

    off, _ = command_run("set_channel", "cole", "sftp", "--off")

    assert "sftp was already off (host key changed)." in off and "nothing changed" not in off
    assert "Cancelled 1 pending sftp deliveries" in off
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED
    assert Destination.objects.get(supplier=cole, channel="sftp").disabled_reason == (
        "host key changed"
    )


def test_turning_sftp_off_cancels_its_waiting_files_and_turning_it_on_does_not_send_them(
    cole, retailer, storage
):
    destination_disable(supplier=cole, channel="email")
    destination = destination_set_sftp(supplier=cole, hosted=True)
    order = _placed(retailer)
    row = Delivery.objects.get(channel="sftp")
    assert row.status == DeliveryStatus.PENDING

    off, _ = command_run("set_channel", "cole", "sftp", "--off")
    assert "Cancelled 1 pending sftp deliveries" in off and "redeliver --supplier cole" in off
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED and TURNED_OFF in row.last_error

    destination_set_sftp(supplier=cole, hosted=True)  # on again
    sftp_run(destination_id=destination.pk)
    assert _files(storage) == []  # what was cancelled stays cancelled
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED

    out, _ = command_run("redeliver", "--supplier", "cole", "--channel", "sftp")
    assert "Queued 1 deliveries again" in out
    sftp_run(destination_id=destination.pk)
    assert _files(storage) == [f"{order.number}.csv"]
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DELIVERED


def test_turning_email_off_in_the_portal_cancels_a_retry_and_says_how_to_send_it(
    cole,
    retailer,
    client,
    email_via_smtp,
    tasks_inline,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 3600]
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    row = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert row.status == DeliveryStatus.PENDING
    email_via_smtp.fail_data = False

    client.force_login(make_supplier_user(supplier=cole, username="ann"))
    response = client.post("/settings/email/off/", follow=True)
    page = response.content.decode()
    assert "1 delivery not sent yet by it was cancelled" in page
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED and TURNED_OFF in row.last_error
    assert delivery_send(delivery_id=row.pk).startswith("nothing to send")
    assert email_via_smtp.messages == []

    # Redelivering while it is off is refused, and changes nothing.
    response = client.post(f"/deliveries/{row.pk}/redeliver/", follow=True)
    assert "Its channel is off; turn it on first" in response.content.decode()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED and row.redelivered_at is None

    destination_set_email(supplier=cole, addresses=["po@cole.example"])  # on again
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=row, by_supplier=True)
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.message_id == row.identity and mail.rcpt_tos == ["po@cole.example"]


def test_a_row_being_sent_when_the_channel_goes_off_finishes_its_try_and_the_sweep_ends_it(
    cole, retailer, http_receiver, settings
):
    """The turn-off leaves a row a worker holds; that try fails and would leave the row a next
    try, which the sweep cancels (no worker is queued for a channel that is off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_disable(supplier=cole, channel="email")
    hook, _ = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    _placed(retailer)
    row = Delivery.objects.get(channel="webhook")
    held_until = timezone.now() + timezone.timedelta(minutes=5)
    Delivery.objects.filter(pk=row.pk).update(claimed_until=held_until)  # a worker has it

    destination_disable(supplier=cole, channel="webhook")
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.claimed_until == held_until

    # Its try failed; the worker left it a next try, due now.
    Delivery.objects.filter(pk=row.pk).update(claimed_until=None, next_attempt_at=timezone.now())
    deliveries_sweep()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED and TURNED_OFF in row.last_error
    assert http_receiver.requests == []


def test_the_sweep_cancels_rows_of_a_destination_turned_off_behind_the_services_back(
    cole, retailer, storage
):
    destination_disable(supplier=cole, channel="email")
    destination = destination_set_sftp(supplier=cole, hosted=True)
    _placed(retailer)
    Destination.objects.filter(pk=destination.pk).update(enabled=False)
    deliveries_sweep()
    row = Delivery.objects.get(channel="sftp")
    assert (
        row.status == DeliveryStatus.CANCELLED and "sftp channel was turned off" in row.last_error
    )
    assert _files(storage) == []


def test_unticking_enabled_in_admin_cancels_the_pending_rows(cole, retailer, client, storage):
    destination_disable(supplier=cole, channel="email")
    destination = destination_set_sftp(supplier=cole, hosted=True)
    _placed(retailer)
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    response = client.post(
        f"/admin/delivery/destination/{destination.pk}/change/",
        {
            "supplier": cole.pk,
            "channel": "sftp",
            "enabled": "",
            "event_types": "[]",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "1 pending deliveries of this sftp channel were cancelled" in response.content.decode()
    row = Delivery.objects.get(channel="sftp")
    assert row.status == DeliveryStatus.CANCELLED


def test_shipment_emails_off_cancels_those_waiting_but_never_a_cancellation_email(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 3600]
    destination_disable(supplier=cole, channel="email")
    (shipped, cancelled) = (
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(2)
    )
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=shipped, status="processing", actor="ops")
        order_set_status(order=shipped, status="shipped", actor="ops", carrier="DPD")
        order_set_status(order=cancelled, status="cancelled", actor="ops", reason="other", note="n")
    shipment = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_SHIPMENT)
    cancellation = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert shipment.status == cancellation.status == DeliveryStatus.PENDING

    out, _ = command_run("set_retailer_channel", retailer.slug, "shipment-email", "--off")
    assert "Cancelled 1 shipment emails not sent yet" in out
    shipment.refresh_from_db()
    cancellation.refresh_from_db()
    assert shipment.status == DeliveryStatus.CANCELLED
    assert cancellation.status == DeliveryStatus.PENDING  # no setting touches it

    email_via_smtp.fail_data = False
    Delivery.objects.filter(pk=cancellation.pk).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=cancellation.pk) == "delivered"
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.message_id == cancellation.identity
    assert retailer_shipment_email_set(retailer=retailer, on=True).pending_cancelled == 0


def test_redeliver_leaves_rows_of_a_channel_that_is_off_alone_and_says_so(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0]
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    row = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert row.status == DeliveryStatus.FAILED
    email_via_smtp.fail_data = False
    destination_disable(supplier=cole, channel="email")

    out, _ = command_run("redeliver", "--supplier", "cole", "--channel", "email")
    # Queued: the failure notice, which has no destination (notices go whatever the channel).
    assert "Queued 1 deliveries again" in out
    assert "Left 1 alone: their channel is off" in out
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.redelivered_at is None
    assert email_via_smtp.messages == []


def test_the_printed_way_to_send_the_cancelled_rows_again_sends_nothing_delivered_twice(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    """`set_channel cole email --off` cancels the order email still retrying and prints how
    to send it again. Run as printed, it sends that email, and not every email of the
    channel delivered since (found in review: the retailer got its cancellation email
    twice, the hint had no --cancelled-only)."""
    from django.utils import timezone

    from orders.services import order_set_status

    settings.DELIVERY_RETRY_SCHEDULE = [0, 3600]
    since = timezone.now().isoformat()
    email_via_smtp.fail_data = True
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    stuck = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert stuck.status == DeliveryStatus.PENDING
    email_via_smtp.fail_data = False

    (other,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=other, status="cancelled", actor="ops", reason="other", note="n")
    notice = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert notice.status == DeliveryStatus.DELIVERED
    assert len(email_via_smtp.to(retailer.email)) == 1

    out, _ = command_run("set_channel", "cole", "email", "--off")
    assert "redeliver --supplier cole --channel email --cancelled-only --since ISO" in out
    command_run("set_channel", "cole", "email", "--to", "po@cole.example")  # on again
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = command_run(
            "redeliver",
            "--supplier",
            "cole",
            "--channel",
            "email",
            "--cancelled-only",
            "--since",
            since,
        )
    assert "Queued 1 deliveries again" in out
    stuck.refresh_from_db()
    assert stuck.status == DeliveryStatus.DELIVERED  # what the hint was for
    to_retailer = email_via_smtp.to(retailer.email)
    assert len(to_retailer) == 1, (
        f"the retailer got its cancellation email {len(to_retailer)} times "
        f"(Message-IDs {[m.message_id for m in to_retailer]})"
    )


@pytest.mark.django_db(transaction=True)
def test_the_sweeps_backstop_cancels_a_row_a_worker_claimed_meanwhile(
    on_postgres, cole, retailer, storage
):
    """The backstop never cancels a row a worker has just claimed. Through a join
    (`destination__enabled`) Django wrote `UPDATE ... WHERE id IN (SELECT ...)`, whose
    conditions PostgreSQL does not check again after waiting on the worker's lock: it
    cancelled the claimed row and wiped its lease (found in review)."""

    from django.db import connection, transaction
    from django.utils import timezone

    from delivery.services.channel_off import off_destinations_pending_cancel

    destination_disable(supplier=cole, channel="email")
    destination = destination_set_sftp(supplier=cole, hosted=True)
    _placed(retailer)
    row = Delivery.objects.get(channel="sftp")
    Destination.objects.filter(pk=destination.pk).update(enabled=False)  # off
    token = timezone.now() + timedelta(minutes=5)

    claimed, go = threading.Event(), threading.Event()
    cancelled = {}

    def worker_claims():
        try:
            with transaction.atomic():
                Delivery.objects.filter(
                    pk=row.pk, status=DeliveryStatus.PENDING, claimed_until__isnull=True
                ).update(claimed_until=token)
                claimed.set()
                go.wait(30)
        finally:
            connection.close()

    def sweep_backstop():
        try:
            cancelled["n"] = off_destinations_pending_cancel()
        finally:
            connection.close()

    worker = threading.Thread(target=worker_claims)
    worker.start()
    assert claimed.wait(30)
    sweep = threading.Thread(target=sweep_backstop)
    sweep.start()

    try:
        wait_until(
            lambda: a_session_waits_on_a_lock(query_prefix='UPDATE "delivery_delivery"'),
            timeout=20,
            message="the sweep's UPDATE never waited",
        )
    finally:
        go.set()
    worker.join(30)
    sweep.join(30)

    row.refresh_from_db()
    assert (row.status, row.claimed_until) == (DeliveryStatus.PENDING, token), (
        f"the sweep cancelled {cancelled.get('n')} row(s) a worker held: status {row.status}, "
        f"claimed_until {row.claimed_until}, last_error {row.last_error!r}"
    )
