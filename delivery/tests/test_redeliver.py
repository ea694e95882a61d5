"""Redelivery on request is bounded: a cooldown per delivery, and no resending retailer mail."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from delivery.models import Delivery, DeliveryAttempt, DeliveryPurpose, DeliveryStatus
from delivery.services import delivery_redeliver
from testsupport.factories import make_supplier_user, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole_client(client, cole):
    client.force_login(make_supplier_user(supplier=cole, username="cora"))
    return client


def place(retailer, capture):
    with capture(execute=True):
        return place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]


def test_ten_redeliver_posts_send_one_message(
    cole_client, cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    place(retailer, django_capture_on_commit_callbacks)
    (first,) = email_via_smtp.wait_for(1)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.DELIVERED
    pages = []
    for _ in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            response = cole_client.post(
                f"/deliveries/{delivery.pk}/redeliver/", {"next": "/deliveries/"}, follow=True
            )
        assert response.status_code == 200
        pages.append(response.content.decode())
    # Every send ran inline before its POST answered: what the server has now is all there is.
    mails = email_via_smtp.wait_for(2)
    assert len(email_via_smtp.messages) == 2
    assert mails[1].message_id == first.message_id == delivery.identity
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 2
    assert "Redelivery queued" in pages[0]
    assert all("redelivered moments ago; nothing was changed" in p for p in pages[1:])


def test_cooldown_over_the_delivery_can_be_redelivered_again(
    cole, retailer, email_via_smtp, tasks_inline, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS = 0
    place(retailer, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            delivery_redeliver(delivery=delivery)
    assert len(email_via_smtp.wait_for(3)) == 3


def test_a_supplier_cannot_resend_the_delivered_retailer_cancellation(
    cole_client, cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    from orders.services import order_set_status

    order = place(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    mail = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert mail.status == DeliveryStatus.DELIVERED
    sent = len(email_via_smtp.wait_for(3))  # order, cancellation to supplier, to retailer
    before = Delivery.objects.filter(pk=mail.pk).values().get()

    # Not offered...
    for url in ("/deliveries/", f"/orders/{order.number}/"):
        assert f"/deliveries/{mail.pk}/redeliver/" not in cole_client.get(url).content.decode()
    # ...and refused when asked for anyway.
    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post(f"/deliveries/{mail.pk}/redeliver/", follow=True)
    assert response.status_code == 200
    assert "message to the retailer was delivered; it is not sent again" in (
        response.content.decode()
    )
    assert Delivery.objects.filter(pk=mail.pk).values().get() == before
    assert len(email_via_smtp.messages) == sent
    # Ops may still resend it (admin, command): the rule binds the supplier.
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=mail)
    assert len(email_via_smtp.wait_for(sent + 1)) == sent + 1


def test_redeliver_command_respects_the_cooldown(
    cole, retailer, email_via_smtp, django_capture_on_commit_callbacks
):
    place(retailer, django_capture_on_commit_callbacks)
    Delivery.objects.update(status=DeliveryStatus.FAILED)

    def run() -> str:
        out = io.StringIO()
        call_command("redeliver", "--supplier", "cole", stdout=out)
        return out.getvalue()

    assert "Queued 1 deliveries" in run()
    Delivery.objects.update(status=DeliveryStatus.FAILED)  # it failed again at once
    before = list(Delivery.objects.values())
    out = run()
    assert "Queued 0 deliveries" in out and "Left 1 alone" in out
    assert list(Delivery.objects.values()) == before


def test_admin_redeliver_respects_the_cooldown(cole, retailer, admin_client):
    from delivery.dispatcher import events_dispatch
    from orders.models import OrderEvent

    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=10)

    def action():
        return admin_client.post(
            "/admin/delivery/delivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
            follow=True,
        ).content.decode()

    assert "Queued 1 deliveries again" in action()
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=10)
    before = Delivery.objects.filter(pk=delivery.pk).values().get()
    page = action()
    assert "Queued 0 deliveries again" in page and "redelivered moments ago" in page
    assert Delivery.objects.filter(pk=delivery.pk).values().get() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_redelivers_reset_the_row_once(on_postgres, retailer):
    """Ten requests at the same moment: the conditional UPDATE lets exactly one through."""
    from django.db import connection

    from delivery.dispatcher import events_dispatch
    from orders.models import OrderEvent
    from suppliers.services import supplier_create
    from testsupport.factories import make_products

    supplier = supplier_create(slug="cole", name="Cole", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", queued_at=None)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def click():
        try:
            barrier.wait(timeout=30)
            try:
                delivery_redeliver(delivery=Delivery.objects.get(pk=delivery.pk))
                outcome = "reset"
            except ValidationError:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused"] * 9 + ["reset"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.redelivered_at is not None


def test_a_retailer_message_delivered_after_the_check_read_it_is_not_sent_again(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """The supplier's check reads the row before the reset: a worker delivering the message
    in between must not make the reset send it again (the reset's own UPDATE decides)."""
    from orders.services import order_set_status

    order = place(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    sent = len(email_via_smtp.wait_for(3))
    Delivery.objects.filter(purpose=DeliveryPurpose.RETAILER_CANCELLATION).update(
        status=DeliveryStatus.FAILED
    )
    read_before = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert read_before.supplier_may_redeliver  # a failed message: the supplier may resend it
    # Meanwhile a worker delivers it.
    Delivery.objects.filter(pk=read_before.pk).update(status=DeliveryStatus.DELIVERED)
    before = Delivery.objects.filter(pk=read_before.pk).values().get()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError, match="delivered; it is not sent again"):
            delivery_redeliver(delivery=read_before, by_supplier=True)

    assert callbacks == []
    assert Delivery.objects.filter(pk=read_before.pk).values().get() == before
    assert len(email_via_smtp.messages) == sent


def _two_failed(retailer, capture):
    for _ in range(2):
        place(retailer, capture)
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    return list(Delivery.objects.order_by("pk").values())


def test_redeliver_without_a_filter_is_refused_and_queues_nothing(
    cole, retailer, email_via_smtp, django_capture_on_commit_callbacks
):
    from django.core.management.base import CommandError

    before = _two_failed(retailer, django_capture_on_commit_callbacks)
    with pytest.raises(CommandError, match="--all") as refused:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("redeliver", stdout=io.StringIO())
    assert "\n" not in str(refused.value) and "nothing was queued" in str(refused.value)
    assert list(Delivery.objects.order_by("pk").values()) == before
    assert not DeliveryAttempt.objects.exists()
    assert email_via_smtp.messages == []

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("redeliver", "--all", stdout=out)
    assert "Queued 2 deliveries" in out.getvalue()


def test_redeliver_matching_more_than_the_limit_is_refused_whole(
    cole, retailer, email_via_smtp, django_capture_on_commit_callbacks
):
    from django.core.management.base import CommandError

    before = _two_failed(retailer, django_capture_on_commit_callbacks)
    # A number past the database's bigint (a typo) is a line naming --limit, not a traceback.
    past_bigint = str(2**63)
    for argv in (
        ["--supplier", "cole", "--limit", "1"],
        ["--all", "--limit", "0"],
        ["--all", "--limit", past_bigint],
    ):
        with pytest.raises(CommandError, match="^limit"):
            with django_capture_on_commit_callbacks(execute=True):
                call_command("redeliver", *argv, stdout=io.StringIO())
    assert list(Delivery.objects.order_by("pk").values()) == before
    assert email_via_smtp.messages == []

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("redeliver", "--supplier", "cole", "--limit", "2", stdout=out)
    assert "Queued 2 deliveries" in out.getvalue()


def test_redeliver_help_says_what_all_and_limit_do():
    """`manage.py redeliver --help`, as ops read it (the two guards beyond contract.md's list)."""
    from delivery.management.commands.redeliver import Command

    text = " ".join(Command().create_parser("manage.py", "redeliver").format_help().split())
    assert "[--all] [--limit N]" in text
    assert "With no filter at all it refuses unless --all is given" in text
    assert "--all Allow a run with no filter: every delivery not pending" in text
    assert "--limit N When more than N deliveries match" in text
    assert "refuse the whole run and queue none (default 10,000; at least 1)" in text


def test_redeliver_resets_more_deliveries_than_a_statement_takes_parameters(
    on_postgres, cole, settings, tmp_path, django_capture_on_commit_callbacks
):
    """With server-side binding a statement takes at most 65,535 parameters, and `redeliver`
    reset every match in one UPDATE ... IN (ids): past that, a database error, nothing queued.
    Hosted SFTP rows (a scheduled channel: the next run sends them, no task is published)."""
    from django.db import connection

    from delivery.services import destination_set_sftp

    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    settings.HOSTED_SFTP_ROOT = str(tmp_path)
    destination = destination_set_sftp(supplier=cole, hosted=True)
    count = 70_000
    Delivery.objects.bulk_create(
        [
            Delivery(
                supplier=cole,
                destination=destination,
                channel="sftp",
                purpose=DeliveryPurpose.SUPPLIER_ORDER,
                target_key=f"bulk:{i}",
                identity=f"bulk-{i}",
                status=DeliveryStatus.FAILED,
            )
            for i in range(count)
        ],
        batch_size=5000,
    )
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "redeliver", "--supplier", "cole", "--failed-only", "--limit", "100000", stdout=out
        )
    assert f"Queued {count} deliveries" in out.getvalue()
    assert Delivery.objects.filter(identity__startswith="bulk-", status="pending").count() == count
