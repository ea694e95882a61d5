"""Webhooks to a real HTTP server: signatures, retries, 410, redirects, refused addresses."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus, Destination
from delivery.services import (
    deliveries_sweep,
    delivery_redeliver,
    destination_disable,
    destination_set_webhook,
    webhook_send_test,
)
from orders.services import order_set_status
from suppliers.services import supplier_create
from testsupport.factories import make_products, place_order
from testsupport.http import Answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole(cole):
    """Cole with only the channels a test turns on: its email channel is off."""
    destination_disable(supplier=cole, channel="email")
    return cole


@pytest.fixture
def hook(cole, http_receiver, settings, tasks_inline):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, secret = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    assert secret.startswith("whsec_")
    return destination, secret


def place(retailer, capture):
    with capture(execute=True):
        return place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 2}])[0]


def test_signature_verifies_with_standardwebhooks(
    hook, retailer, http_receiver, django_capture_on_commit_callbacks
):
    destination, secret = hook
    order = place(retailer, django_capture_on_commit_callbacks)
    (request,) = http_receiver.wait_for(1)
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "order.created"
    assert payload["data"]["number"] == order.number
    assert payload["data"]["lines"][0]["sku"] == "COLE-1"
    assert payload["data"]["lines"][0]["quantity"] == 2
    # A wrong secret does not verify.
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=").verify(
            request.body, request.headers
        )
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.DELIVERED
    assert request.headers["webhook-id"] == delivery.identity
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code == 200 and attempt.response_excerpt == "ok"


def test_500s_then_200_one_row_several_attempts_same_id(
    hook, retailer, http_receiver, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 0, 0, 0]
    http_receiver.script(500, 503, Answer(status=500, body=b"x" * 10000))
    order = place(retailer, django_capture_on_commit_callbacks)
    requests = http_receiver.wait_for(4)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempt_count == 4
    codes = list(delivery.attempts.values_list("status_code", flat=True))
    assert codes == [500, 503, 500, 200]
    assert len(delivery.attempts.all()[2].response_excerpt) == 4096  # capped
    assert {r.headers["webhook-id"] for r in requests} == {delivery.identity}
    assert all(json.loads(r.body)["data"]["number"] == order.number for r in requests)
    assert Delivery.objects.filter(event__order=order, channel="webhook").count() == 1


def test_retries_and_redeliveries_send_the_first_bytes_whatever_changed_since(
    hook, retailer, http_receiver, settings, django_capture_on_commit_callbacks
):
    """One webhook-id, one message: a retry after the order changed, and a redelivery days
    later, carry exactly the body the first try sent (receivers dedupe on the id); the change
    is its own event with its own message."""
    destination, secret = hook
    http_receiver.script(500)
    order = place(retailer, django_capture_on_commit_callbacks)
    (first,) = http_receiver.wait_for(1)
    created = Delivery.objects.get(channel="webhook", event__type="order.created")
    assert created.status == DeliveryStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="processing", actor="ops:test")
    (_, update) = http_receiver.wait_for(2)
    assert json.loads(update.body)["type"] == "order.updated"
    assert json.loads(update.body)["data"]["status"] == "processing"

    Delivery.objects.filter(pk=created.pk).update(next_attempt_at=timezone.now())
    deliveries_sweep()
    (_, _, retry) = http_receiver.wait_for(3)
    assert retry.headers["webhook-id"] == first.headers["webhook-id"] == created.identity
    assert retry.body == first.body
    assert Webhook(secret).verify(retry.body, retry.headers)["data"]["status"] == "placed"

    created.refresh_from_db()
    assert created.status == DeliveryStatus.DELIVERED
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=created)
    again = http_receiver.wait_for(4)[3]
    assert again.headers["webhook-id"] == created.identity and again.body == first.body
    assert created.file.format_name == "webhook" and bytes(created.file.content) == first.body


def test_retry_waits_for_its_time(
    hook, retailer, http_receiver, settings, django_capture_on_commit_callbacks
):
    """With the real schedule the second try is 5 s later: nothing is sent early."""
    http_receiver.script(500)
    place(retailer, django_capture_on_commit_callbacks)
    http_receiver.wait_for(1)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 1
    assert 4 <= (delivery.next_attempt_at - delivery.updated_at).total_seconds() <= 6
    deliveries_sweep()  # not due yet
    assert len(http_receiver.requests) == 1


def test_410_turns_the_webhook_off_and_tells_the_supplier(
    hook, retailer, http_receiver, email_via_smtp, django_capture_on_commit_callbacks
):
    http_receiver.script(410)
    order = place(retailer, django_capture_on_commit_callbacks)
    http_receiver.wait_for(1)
    destination = Destination.objects.get(channel="webhook")
    assert destination.enabled is False
    assert "410" in destination.disabled_reason
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 1
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["po@cole.example"]
    assert "turned off" in mail.subject
    # Later events make no webhook delivery and nothing more is posted.
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=order, status="processing", actor="ops")
    assert Delivery.objects.filter(channel="webhook").count() == 1
    assert len(http_receiver.requests) == 1
    assert Delivery.objects.filter(purpose=DeliveryPurpose.FAILURE_NOTICE).count() == 1


def test_410_leaves_a_row_another_worker_is_sending_to_finish_its_try(
    hook, retailer, http_receiver, email_via_smtp, django_capture_on_commit_callbacks
):
    """410 Gone turns the webhook off and cancels its pending rows, but not one another
    worker holds at that moment: it was marked cancelled under that worker, which then
    delivered it (a delivered order shown "cancelled"). As when ops turn a channel off, the
    held row finishes its try, and the sweep's backstop cancels it only if that try fails."""
    from delivery.services.channel_off import off_destinations_pending_cancel

    http_receiver.script(500, 410)
    place(retailer, django_capture_on_commit_callbacks)
    held = Delivery.objects.get(channel="webhook")
    assert held.status == DeliveryStatus.PENDING
    Delivery.objects.filter(pk=held.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60)
    )  # a worker is sending it now
    place(retailer, django_capture_on_commit_callbacks)
    http_receiver.wait_for(2)
    assert Destination.objects.get(channel="webhook").enabled is False

    held.refresh_from_db()
    assert held.status == DeliveryStatus.PENDING, held.last_error
    Delivery.objects.filter(pk=held.pk).update(claimed_until=timezone.now())  # its try failed
    off_destinations_pending_cancel()
    held.refresh_from_db()
    assert held.status == DeliveryStatus.CANCELLED


def test_redirect_is_a_failure_and_not_followed(
    hook, retailer, http_receiver, django_capture_on_commit_callbacks
):
    http_receiver.script(
        Answer(status=302, headers={"Location": http_receiver.url + "/elsewhere"}),
        Answer(status=307, headers={"Location": http_receiver.url + "/elsewhere"}),
    )
    place(retailer, django_capture_on_commit_callbacks)
    http_receiver.wait_for(1)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempt_count == 1
    assert "302" in delivery.last_error and "not followed" in delivery.last_error
    assert [r.path for r in http_receiver.requests] == ["/hook"]  # /elsewhere never asked


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://100.64.0.1/",
        "http://0.0.0.0:{port}/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::1]/",
        "http://[::1%25lo]:{port}/",
        "http://[fe80::1%25eth0]:{port}/",
        "http://[fec0::1]/",
    ],
)
def test_private_addresses_are_refused(
    url,
    cole,
    http_receiver,
    settings,
    retailer,
    django_capture_on_commit_callbacks,
    tasks_inline,
    connections_to_loopback_only,
):
    """Refused when sending too, not only when saving: the URL was saved while private
    networks were allowed (or its name pointed elsewhere then)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = destination_set_webhook(supplier=cole, url=url.format(port=http_receiver.port))
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    result = webhook_send_test(destination=destination)
    assert not result.ok
    assert "not public" in result.error
    place(retailer, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED  # a retry cannot help
    assert "not public" in delivery.last_error
    assert http_receiver.requests == []


def test_send_test_reaches_an_allowed_receiver(hook, http_receiver):
    destination, secret = hook
    result = webhook_send_test(destination=destination)
    assert result.ok and result.status_code == 200
    (request,) = http_receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
    assert not Delivery.objects.exists()


def test_timeout_is_a_retryable_failure(
    hook, retailer, http_receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    http_receiver.script(Answer(status=200, delay=5))
    place(retailer, django_capture_on_commit_callbacks)
    http_receiver.wait_for(1)
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 1
    assert delivery.last_error == "timed out"
    (attempt,) = delivery.attempts.all()
    assert not attempt.success and attempt.status_code is None and attempt.duration_ms < 4000


def test_due_rows_of_a_destination_go_together(hook, retailer, http_receiver, settings):
    """After a success, a worker takes its destination's other due rows along."""
    from delivery.dispatcher import events_dispatch
    from delivery.services import delivery_send
    from orders.models import OrderEvent

    orders = [
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])[0]
        for _ in range(4)
    ]
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    first, second, third, fourth = Delivery.objects.filter(channel="webhook").order_by("pk")
    # The fourth is held by another worker: it is left alone.
    Delivery.objects.filter(pk=fourth.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert delivery_send(delivery_id=first.pk) == "delivered"
    http_receiver.wait_for(3)
    assert [r.headers["webhook-id"] for r in http_receiver.requests] == [
        first.identity,
        second.identity,
        third.identity,
    ]
    for row in (first, second, third):
        row.refresh_from_db()
        assert row.status == DeliveryStatus.DELIVERED and row.claimed_until is None
        assert row.attempts.get().success
    fourth.refresh_from_db()
    assert fourth.status == DeliveryStatus.PENDING and fourth.attempt_count == 0
    # Their own tasks find nothing left to do; nothing is sent twice.
    assert delivery_send(delivery_id=second.pk).startswith("nothing to send")
    assert delivery_send(delivery_id=fourth.pk).startswith("nothing to send")  # still held
    assert len(http_receiver.requests) == 3
    assert {json.loads(r.body)["data"]["number"] for r in http_receiver.requests} == {
        o.number for o in orders[:3]
    }


def test_after_a_failure_the_others_wait(hook, retailer, http_receiver):
    from delivery.dispatcher import events_dispatch
    from delivery.services import delivery_send
    from orders.models import OrderEvent

    for _ in range(3):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    first, second, third = Delivery.objects.filter(channel="webhook").order_by("pk")
    http_receiver.script(503)
    assert delivery_send(delivery_id=first.pk) == "retry"
    assert len(http_receiver.requests) == 1
    assert list(
        Delivery.objects.filter(pk__in=[second.pk, third.pk]).values_list("status", "attempt_count")
    ) == [("pending", 0), ("pending", 0)]


def test_batching_never_crosses_destinations(cole, retailer, http_receiver, settings):
    from delivery.dispatcher import events_dispatch
    from delivery.services import delivery_send, destination_set_email
    from orders.models import OrderEvent

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_set_email(supplier=cole, addresses="po@cole.example")
    destination_set_webhook(supplier=cole, url=http_receiver.url + "/cole")
    other = supplier_create(slug="dune", name="Dune", order_emails="po@dune.example")
    make_products(supplier=other, skus={"DUNE-1": "1.00"})
    destination_set_webhook(supplier=other, url=http_receiver.url + "/dune")
    place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    place_order(retailer=retailer, lines=[{"sku": "DUNE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    cole_row = Delivery.objects.get(channel="webhook", supplier=cole)
    assert delivery_send(delivery_id=cole_row.pk) == "delivered"
    assert [r.path for r in http_receiver.requests] == ["/cole"]
    assert Delivery.objects.get(channel="webhook", supplier=other).status == "pending"
    # Email rows of the same supplier are not taken along by a webhook send either.
    assert Delivery.objects.get(channel="email", supplier=cole).status == "pending"


def test_a_failure_inside_a_batch_releases_the_rest_untried(hook, retailer, http_receiver):
    from delivery.dispatcher import events_dispatch
    from delivery.services import delivery_send
    from orders.models import OrderEvent

    for _ in range(4):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    first, second, third, fourth = Delivery.objects.filter(channel="webhook").order_by("pk")
    http_receiver.script(200, 500)
    assert delivery_send(delivery_id=first.pk) == "delivered"
    assert [r.headers["webhook-id"] for r in http_receiver.requests] == [
        first.identity,
        second.identity,
    ]
    second.refresh_from_db()
    assert second.status == "pending" and second.attempt_count == 1 and "500" in second.last_error
    for row in (third, fourth):
        row.refresh_from_db()
        assert (row.status, row.attempt_count, row.claimed_until, row.queued_at) == (
            "pending",
            0,
            None,
            None,
        )
        assert not row.attempts.exists()


def test_signature_is_the_contract_v1_hmac_of_id_timestamp_body():
    """Byte for byte what the contract says, so receivers that check by hand keep working."""
    import base64
    import hashlib
    import hmac

    from delivery.channels.webhook import webhook_signature

    key = bytes(range(24))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = '{"type":"order.created","data":{"name":"Zoë"}}'.encode()
    expected = hmac.new(key, b"msg_1_2.1700000000." + body, hashlib.sha256).digest()
    signature = webhook_signature(secret=secret, msg_id="msg_1_2", timestamp=1700000000, body=body)
    assert signature == "v1," + base64.b64encode(expected).decode()


def test_a_cookie_one_receiver_sets_never_goes_out_with_another_suppliers_webhook(
    cole, hook, retailer, http_receiver, django_capture_on_commit_callbacks
):
    """Every webhook goes through one HTTP session per thread (kept for keep-alive): a cookie
    that Cole's receiver sets (a multi-tenant hook host's session, say) is not kept, so it
    is not sent with another supplier's orders to the same host, nor back to Cole's."""
    beta = supplier_create(slug="beta", name="Beta", order_emails="po@beta.example")
    make_products(supplier=beta, skus={"BETA-1": "1.00"})
    destination_disable(supplier=beta, channel="email")
    destination_set_webhook(supplier=beta, url=http_receiver.url + "/tenant-beta")
    http_receiver.script(
        Answer(status=200, headers={"Set-Cookie": "tenant_session=cole-secret; Path=/"})
    )
    place(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "BETA-1", "quantity": 1}])
    place(retailer, django_capture_on_commit_callbacks)

    first, second, third = http_receiver.wait_for(3)
    assert [first.path, second.path, third.path] == ["/hook", "/tenant-beta", "/hook"]
    assert all("cookie" not in request.headers for request in (first, second, third))
