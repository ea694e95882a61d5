"""Review of webhooks and email delivery: what a supplier, retailer or ops would hit."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from delivery.models import Delivery, DeliveryStatus, Destination
from delivery.services import destination_disable, destination_set_webhook
from testsupport.factories import make_supplier_user, place_order
from testsupport.http import Answer
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db


class DrippingReceiver:
    """A real HTTP receiver on 127.0.0.1 that answers a byte at a time, slower than anyone
    should wait but each piece within the per-read timeout: its status line at once, then
    a header line (or, with `body=True`, a byte of a 4 KB body) every `every` seconds for
    `lasts` seconds, then the rest. Records how many requests it read."""

    def __init__(self, *, body: bool = False, every: float = 0.2, lasts: float = 12.0):
        self.body, self.every, self.lasts = body, every, lasts
        self.requests = 0
        self.stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                self.requests += 1
                end = time.monotonic() + self.lasts
                if self.body:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n")
                    sent = 0
                    while time.monotonic() < end and sent < 4095 and not self.stop.is_set():
                        conn.sendall(b"x")
                        sent += 1
                        self.stop.wait(self.every)
                    conn.sendall(b"x" * (4096 - sent))
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    while time.monotonic() < end and not self.stop.is_set():
                        conn.sendall(b"X-Still-Thinking: yes\r\n")
                        self.stop.wait(self.every)
                    conn.sendall(b"Content-Length: 2\r\n\r\nok")
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self._thread.join()
        self._server.close()


@pytest.fixture
def dripping():
    receivers = []

    def make(**kwargs):
        receivers.append(DrippingReceiver(**kwargs))
        return receivers[-1]

    yield make
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def cole_hooked(cole, settings, tasks_inline):
    """Cole with only its webhook on (email off); private addresses allowed for 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    destination_disable(supplier=cole, channel="email")
    return cole


# --- A receiver that drips its answer holds no worker past the timeout ----------------------


def test_send_a_test_event_to_a_receiver_dripping_its_headers_times_out(
    cole_hooked, client, dripping
):
    """The portal's "Send a test event" holds a web worker while it waits: a receiver
    sending a header line every 0.2 s kept the page waiting 12 s with a 1 s timeout, and
    the page then said "delivered"."""
    receiver = dripping()
    destination_set_webhook(supplier=cole_hooked, url=receiver.url)
    client.force_login(make_supplier_user(supplier=cole_hooked, username="cora"))
    t0 = time.monotonic()
    response = client.post("/settings/webhook/test/", follow=True)
    took = time.monotonic() - t0
    page = response.content.decode()
    assert receiver.requests == 1
    assert "Test event failed" in page and "timed out" in page
    assert "Test event delivered" not in page
    assert took < 5, f"the page took {took:.1f} s with a 1 s webhook timeout"
    assert not Delivery.objects.exists()


def test_a_webhook_whose_receiver_drips_its_headers_is_a_timeout_retried_later(
    cole_hooked, retailer, dripping, django_capture_on_commit_callbacks
):
    """A worker sending an order to a receiver that never finishes its headers gives up at
    the timeout and retries later, instead of being held (every worker, in the end, by one
    supplier's endpoint) and then counting the half-answer as delivered."""
    receiver = dripping()
    destination_set_webhook(supplier=cole_hooked, url=receiver.url)
    t0 = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    took = time.monotonic() - t0
    delivery = Delivery.objects.get(channel="webhook")
    assert receiver.requests == 1
    assert took < 5, f"the worker was held {took:.1f} s with a 1 s webhook timeout"
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 1
    assert delivery.last_error == "timed out"
    (attempt,) = delivery.attempts.all()
    assert not attempt.success and attempt.status_code is None


def test_a_webhook_whose_receiver_drips_its_body_holds_the_worker_no_longer_than_the_timeout(
    cole_hooked, retailer, dripping, django_capture_on_commit_callbacks
):
    """The 2xx came at once, so the order is delivered; the 4 KB excerpt, a byte every 0.2 s,
    is not worth a worker for 13 minutes: it stops at the timeout."""
    receiver = dripping(body=True)
    destination_set_webhook(supplier=cole_hooked, url=receiver.url)
    t0 = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    took = time.monotonic() - t0
    wait_until(lambda: receiver.requests == 1, timeout=5, message="no request came")
    delivery = Delivery.objects.get(channel="webhook")
    assert took < 5, f"the worker was held {took:.1f} s with a 1 s webhook timeout"
    assert delivery.status == DeliveryStatus.DELIVERED
    (attempt,) = delivery.attempts.all()
    assert attempt.success and attempt.status_code == 200
    assert set(attempt.response_excerpt) <= {"x"} and len(attempt.response_excerpt) < 4096


# --- A webhook is never without its signing secret --------------------------------------


@pytest.fixture
def staff_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


def test_ops_cannot_turn_a_suppliers_webhook_on_in_admin_without_its_signing_secret(
    cole_hooked, staff_client, retailer, http_receiver, django_capture_on_commit_callbacks
):
    """A supplier's webhook added in the admin had no secret (only `set_channel` and the
    portal make one): the supplier had none to reveal, every order to it failed with an
    internal error for three days, and "Send a test event" was a server error. The admin
    refuses it, as it refuses a retailer's, and points to what makes the secret."""
    response = staff_client.post(
        "/admin/delivery/destination/add/",
        {
            "supplier": cole_hooked.pk,
            "channel": "webhook",
            "enabled": "on",
            "event_types": "[]",
            "webhook_url": http_receiver.url + "/hook",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
        },
    )
    assert response.status_code == 200  # the form again, with the reason
    errors = " ".join(response.context["adminform"].form.errors["channel"])
    assert "set_channel" in errors and "signing secret" in errors
    assert not Destination.objects.filter(channel="webhook").exists()
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    assert not Delivery.objects.filter(channel="webhook").exists()
    assert http_receiver.requests == []


def test_ops_cannot_make_an_email_channel_a_webhook_in_admin(
    cole, staff_client, settings, http_receiver
):
    """Changing a destination's channel to webhook in the admin made one without a secret;
    a row's channel is now fixed once made (DestinationAdmin), so it stays email."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    email = Destination.objects.get(supplier=cole, channel="email")
    response = staff_client.post(
        f"/admin/delivery/destination/{email.pk}/change/",
        {
            "supplier": cole.pk,
            "channel": "webhook",
            "enabled": "on",
            "event_types": "[]",
            "email_addresses": "po@cole.example",
            "webhook_url": http_receiver.url + "/hook",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
        },
    )
    assert response.status_code in (200, 302)
    email.refresh_from_db()
    assert email.channel == "email"
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()


def test_a_webhook_left_without_a_secret_says_so_instead_of_a_server_error(
    cole_hooked, client, retailer, http_receiver, email_via_smtp, django_capture_on_commit_callbacks
):
    """A row the admin made before it refused them: "Send a test event" answered 500 and
    each order failed with an internal error for three days. It fails at once, saying why,
    and nothing unsigned is posted."""
    destination, _ = destination_set_webhook(supplier=cole_hooked, url=http_receiver.url + "/h")
    Destination.objects.filter(pk=destination.pk).update(webhook_secret="")
    client.force_login(make_supplier_user(supplier=cole_hooked, username="cora"))
    page = client.post("/settings/webhook/test/", follow=True).content.decode()
    assert "Test event failed" in page and "no signing secret" in page
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 1
    assert "no signing secret" in delivery.last_error
    assert http_receiver.requests == []
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["po@cole.example"] and "could not deliver" in mail.body("plain")


# --- A webhook URL the HTTP client can never send to is refused, not saved ----------------

# Names Python's IDNA 2003 codec encodes (so the URL looked valid) but the HTTP client
# (requests and urllib3, IDNA 2008 as registries apply it) refuses on every send.
UNSENDABLE_URLS = ["https://☃.net/hook", "https://i\u2764.ws/orders", "https://\u2168.com/in"]


@pytest.mark.parametrize("url", UNSENDABLE_URLS)
def test_a_webhook_url_the_client_cannot_send_to_is_refused_in_the_portal(cole, client, url):
    client.force_login(make_supplier_user(supplier=cole, username="cora"))
    response = client.post("/settings/webhook/", {"url": url})
    assert response.status_code == 400
    assert "is not a valid http(s) URL" in response.content.decode()
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()


def test_set_channel_refuses_a_webhook_url_the_client_cannot_send_to(cole, no_connections):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="not a valid http"):
        call_command("set_channel", "cole", "webhook", "--url", "https://☃.net/hook")
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()


def test_a_webhook_saved_with_such_a_url_before_fails_at_once_and_tells_the_supplier(
    cole_hooked, retailer, email_via_smtp, django_capture_on_commit_callbacks
):
    """A row saved before the check (or by the admin of old) is not retried for three days
    with a URL no retry can send to: it fails at the first try, and the supplier is told."""
    destination, _ = destination_set_webhook(supplier=cole_hooked, url="https://hooks.example/")
    Destination.objects.filter(pk=destination.pk).update(webhook_url="https://☃.net/hook")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == 1
    assert "InvalidURL" in delivery.last_error
    (mail,) = email_via_smtp.wait_for(1)
    assert mail.rcpt_tos == ["po@cole.example"] and "could not deliver" in mail.body("plain")


# --- A receiver's answer with a NUL in it is recorded, not a crashed task -------------------


@pytest.mark.parametrize(
    "status, body, state",
    [
        (200, b"ok\x00\x01binary", DeliveryStatus.DELIVERED),
        (503, b"down\x00", DeliveryStatus.PENDING),
    ],
)
def test_an_answer_holding_a_nul_is_recorded_and_the_webhook_is_not_sent_again(
    cole_hooked, retailer, http_receiver, django_capture_on_commit_callbacks, status, body, state
):
    """No text column stores NUL: the attempt holding the receiver's excerpt failed to save,
    the task crashed, and the row stayed claimed with no attempt shown, to be posted again
    when its lease ran out, and again, for ever. The excerpt is kept with the NUL replaced."""
    http_receiver.script(Answer(status=status, body=body))
    destination_set_webhook(supplier=cole_hooked, url=http_receiver.url + "/hook")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    assert len(http_receiver.wait_for(1)) == 1
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == state and delivery.claimed_until is None
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code == status and attempt.success == (status == 200)
    assert attempt.response_excerpt == body.decode().replace("\x00", "\ufffd")
    if state == DeliveryStatus.PENDING:
        assert delivery.next_attempt_at is not None and delivery.last_error.startswith("503")


def test_a_kept_alive_connection_gives_each_webhook_its_own_whole_timeout(
    cole_hooked, retailer, http_receiver, django_capture_on_commit_callbacks
):
    """Connections are kept alive between deliveries (http_session_shared); the exchange's
    deadline is each request's, not the connection's: the first order answered in 0.6 s, the
    second, sent next on the same connection, in 0.7 s (each inside its 1 s timeout), was cut
    at the first one's deadline and counted as timed out."""
    destination_set_webhook(supplier=cole_hooked, url=http_receiver.url)
    http_receiver.script(Answer(delay=0.6), Answer(delay=0.7))
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])

    assert len(http_receiver.requests) == 2
    deliveries = Delivery.objects.filter(channel="webhook")
    assert [d.status for d in deliveries] == [DeliveryStatus.DELIVERED] * 2, [
        d.last_error for d in deliveries
    ]
