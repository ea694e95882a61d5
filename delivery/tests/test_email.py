"""Email through a real SMTP server (aiosmtpd): supplier orders and retailer cancellations."""

import re

import pytest

from delivery.models import Delivery, DeliveryAttempt, DeliveryPurpose, DeliveryStatus
from delivery.services import delivery_redeliver, destination_disable
from orders.services import order_set_status
from testsupport.factories import make_products, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole(cole):
    make_products(supplier=cole, skus={"COLE-2": "4.50"})
    return cole


def place(retailer, lines, capture):
    with capture(execute=True):
        return place_order(retailer=retailer, lines=lines, reference="R-77")


def test_supplier_email_holds_order_items_contact_and_address(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    (order,) = place(
        retailer,
        [{"sku": "COLE-1", "quantity": 3}, {"sku": "COLE-2", "quantity": 1}],
        django_capture_on_commit_callbacks,
    )
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["po@cole.example"]
    assert order.number in mail.subject
    for body in (mail.body("plain"), mail.body("html")):
        assert order.number in body
        assert "Shopco" in body
        assert "COLE-1" in body and "COLE-2" in body
        assert "Ann Lee" in body and "ann@example.com" in body and "+44 20 7946 0000" in body
        assert "1 High St" in body and "Leeds" in body and "LS1 1AA" in body and "GB" in body
    assert "x 3" in mail.body("plain") and "x 1" in mail.body("plain")
    assert re.search(r'<td class="qty"[^>]*>3</td>', mail.body("html"))
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert mail.message_id == delivery.identity
    assert DeliveryAttempt.objects.filter(delivery=delivery, success=True).count() == 1


def test_retailer_cancellation_email_even_with_every_channel_off(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    destination_disable(supplier=cole, channel="email")
    (order,) = place(
        retailer, [{"sku": "COLE-1", "quantity": 2}], django_capture_on_commit_callbacks
    )
    assert email_via_smtp.messages == []  # the supplier turned email off: nothing to it
    assert not Delivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(
            order=order,
            status="cancelled",
            actor="ops",
            reason="out_of_stock",
            note="Warehouse fire, sorry",
        )
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["buyers@shopco.example"]
    assert order.number in mail.subject and "cancelled" in mail.subject.lower()
    body = mail.body("plain")
    assert "Cole Candles" in body
    assert "Out of stock" in body
    assert "Warehouse fire, sorry" in body
    assert "COLE-1" in body and "x 2" in body
    (delivery,) = Delivery.objects.all()
    assert delivery.purpose == DeliveryPurpose.RETAILER_CANCELLATION
    assert delivery.status == DeliveryStatus.DELIVERED


def test_every_cancellation_emails_the_retailer(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    orders = [
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(3)
    ]
    for order in orders:
        with django_capture_on_commit_callbacks(execute=True):
            order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    mails = email_via_smtp.wait_for(6)
    to_retailer = [m for m in mails if m.rcpt_tos == ["buyers@shopco.example"]]
    assert sorted(o.number for o in orders) == sorted(
        next(o.number for o in orders if o.number in m.subject) for m in to_retailer
    )
    # Ops cancelled them, not the supplier: the supplier is told too.
    to_supplier = [m for m in mails if m.rcpt_tos == ["po@cole.example"]]
    assert len(to_supplier) == 3
    assert all("cancelled" in m.subject and "Do not ship" in m.body("plain") for m in to_supplier)


def test_smtp_down_is_retried_and_same_message_id(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 0]
    email_via_smtp.fail_data = True
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.FAILED  # three tries, all refused with 451
    assert delivery.attempts.count() == 3
    assert email_via_smtp.messages == []
    # The supplier's order email is told; it cannot arrive either while the server refuses.
    notice = Delivery.objects.get(purpose=DeliveryPurpose.FAILURE_NOTICE)
    assert notice.cause == delivery
    email_via_smtp.fail_data = False
    assert notice.status == DeliveryStatus.FAILED  # the notice hit the same refusing server
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=notice)
        delivery_redeliver(delivery=delivery)
    mails = email_via_smtp.wait_for(2)
    order_mail = next(m for m in mails if m.message_id == delivery.identity)
    assert order_mail.rcpt_tos == ["po@cole.example"]
    notice_mail = next(m for m in mails if m.message_id == notice.identity)
    assert "could not deliver" in notice_mail.body("plain")


# The relay stands in for one whose login we lack; TLS is beside the point here.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_relay_refusing_our_sender_is_retried_and_the_cancellation_email_then_goes(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    """Our relay answering 530 (authentication required: its credentials were rotated, say)
    refuses us, not the message: the retailer's cancellation email waits for its next try
    instead of failing for good, and goes once the relay takes mail again."""
    from aiosmtpd.controller import Controller

    from delivery.services import delivery_send
    from testsupport.waiting import free_port

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 ok"

    relay = Controller(
        Sink(), hostname="127.0.0.1", port=free_port(), auth_required=True, auth_require_tls=False
    )
    relay.start()
    try:
        settings.EMAIL_PORT = relay.port
        (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
        with django_capture_on_commit_callbacks(execute=True):
            order_set_status(order=order, status="cancelled", actor="ops", reason="other", note="n")
    finally:
        relay.stop()
    row = Delivery.objects.get(purpose=DeliveryPurpose.RETAILER_CANCELLATION)
    assert row.status == DeliveryStatus.PENDING and row.next_attempt_at is not None
    assert "530" in row.last_error and row.attempt_count == 1

    settings.EMAIL_PORT = email_via_smtp.port  # the relay mended
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    assert delivery_send(delivery_id=row.pk) == "delivered"
    (mail,) = email_via_smtp.to(retailer.email)
    assert order.number in mail.subject and mail.message_id == row.identity


def test_a_recipient_the_server_refuses_while_taking_the_others_fails_the_delivery_visibly(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """smtplib returns the recipients refused among accepted ones; Django's backend drops
    that answer. A 550 for one order address is a permanent failure of the delivery, named
    on its attempt and in ops' and the supplier's words, not "delivered"."""
    from delivery.labels import channel_error_words
    from delivery.services import destination_set_email

    destination_set_email(supplier=cole, addresses=["po@cole.example", "gone@cole.example"])
    email_via_smtp.refuse = {"gone@cole.example"}
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    (mail,) = [m for m in email_via_smtp.messages if m.message_id == delivery.identity]
    assert mail.rcpt_tos == ["po@cole.example"]
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 1
    assert "gone@cole.example" in delivery.last_error and "550" in delivery.last_error
    assert "po@cole.example" not in delivery.last_error
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert not attempt.success and "gone@cole.example" in attempt.error
    assert "refused some of the addresses" in channel_error_words(delivery.last_error)


def test_a_recipient_refused_for_now_while_the_others_take_it_is_retried(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    from delivery.services import destination_set_email

    destination_set_email(supplier=cole, addresses=["po@cole.example", "busy@cole.example"])
    email_via_smtp.defer = {"busy@cole.example"}
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    assert delivery.last_error.startswith("partly delivered") and "450" in delivery.last_error
    assert not Delivery.objects.filter(purpose=DeliveryPurpose.FAILURE_NOTICE).exists()


def _due_again(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)


def test_a_retry_of_a_partly_refused_email_goes_only_to_the_addresses_that_refused_it(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """The first try is taken by po@ and refused for now by busy@; the retries go to busy@
    alone, the same message, until it takes it: each address holds exactly one copy."""
    from delivery.services import delivery_send, destination_set_email

    destination_set_email(supplier=cole, addresses=["po@cole.example", "busy@cole.example"])
    email_via_smtp.defer = {"busy@cole.example"}
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.accepted_recipients == ["po@cole.example"]
    (first,) = email_via_smtp.messages
    assert first.rcpt_tos == ["po@cole.example"]

    # Still busy: the try goes to busy@ only, is refused, and po@ gets nothing more.
    _due_again(delivery)
    assert delivery_send(delivery_id=delivery.pk) == "retry"
    assert len(email_via_smtp.messages) == 1
    delivery.refresh_from_db()
    assert delivery.accepted_recipients == ["po@cole.example"] and delivery.attempt_count == 2
    assert "busy@cole.example" in delivery.last_error

    email_via_smtp.defer = set()
    _due_again(delivery)
    assert delivery_send(delivery_id=delivery.pk) == "delivered"
    first, second = email_via_smtp.wait_for(2)
    assert second.rcpt_tos == ["busy@cole.example"]
    assert len(email_via_smtp.to("po@cole.example")) == 1
    assert len(email_via_smtp.to("busy@cole.example")) == 1
    # The same message: its Message-ID, subject, body and To (naming both) unchanged.
    assert first.message_id == second.message_id == delivery.identity
    assert first.subject == second.subject and first.body("plain") == second.body("plain")
    assert str(first.message["To"]) == str(second.message["To"])
    assert "po@cole.example" in str(second.message["To"])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.accepted_recipients == []
    attempts = DeliveryAttempt.objects.filter(delivery=delivery).order_by("started_at", "id")
    assert [a.success for a in attempts] == [False, False, True]


def test_a_retry_refused_by_the_rest_for_good_still_says_the_others_got_it(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """po@ took the first try, busy@ deferred it; the retry goes to busy@ alone, which now
    refuses it for good: the row fails as partly delivered, in ops' and the supplier's words
    "the others got the message", not as if the one address it was sent to were all."""
    from delivery.labels import channel_error_words
    from delivery.services import delivery_send, destination_set_email

    destination_set_email(supplier=cole, addresses=["po@cole.example", "busy@cole.example"])
    email_via_smtp.defer = {"busy@cole.example"}
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.PENDING

    email_via_smtp.defer, email_via_smtp.refuse = set(), {"busy@cole.example"}
    _due_again(delivery)
    assert delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("partly delivered")
    assert "busy@cole.example" in delivery.last_error and "550" in delivery.last_error
    assert delivery.accepted_recipients == ["po@cole.example"]
    assert "the others got the message" in channel_error_words(delivery.last_error)
    assert len(email_via_smtp.to("po@cole.example")) == 1
    assert not email_via_smtp.to("busy@cole.example")


@pytest.mark.parametrize(
    "corrected",
    [
        # gone@ refused for good (failed); new@ is put in its place.
        ["po@cole.example", "new@cole.example"],
        # The same, with po@ typed again in capitals: a mailbox's address is the same in any
        # case, so PO@ does not get a second copy.
        ["PO@Cole.Example", "new@cole.example"],
    ],
)
def test_a_redelivery_after_an_address_refused_for_good_is_corrected_skips_those_that_have_it(
    cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, corrected
):
    """po@ took it, gone@ refused it for good; the supplier corrects the addresses and
    redelivers: only new@ gets it, po@ keeps its one copy, gone@ never gets one."""
    from delivery.services import delivery_redeliver, destination_set_email

    destination_set_email(supplier=cole, addresses=["po@cole.example", "gone@cole.example"])
    email_via_smtp.refuse = {"gone@cole.example"}
    place(retailer, [{"sku": "COLE-1", "quantity": 1}], django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(purpose=DeliveryPurpose.SUPPLIER_ORDER)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.accepted_recipients == ["po@cole.example"]

    destination_set_email(supplier=cole, addresses=corrected)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=delivery, by_supplier=True)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    mine = [m for m in email_via_smtp.messages if m.message_id == delivery.identity]
    assert [m.rcpt_tos for m in mine] == [["po@cole.example"], ["new@cole.example"]]
    assert email_via_smtp.to("gone@cole.example") == []
