"""The portal's /settings/ (channels) and /deliveries/ pages, against real servers."""

from __future__ import annotations

import re

import pytest
from standardwebhooks import Webhook

from delivery.models import Delivery, DeliveryStatus, Destination
from delivery.services import destination_set_email, destination_set_webhook
from suppliers.services import supplier_create
from testsupport.factories import make_products, make_supplier_user, place_order
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dune(db):
    supplier = supplier_create(slug="dune", name="Dune Dyes", order_emails="po@dune.example")
    make_products(supplier=supplier, skus={"DUNE-1": "3.00"})
    return supplier


@pytest.fixture
def cole_client(client, cole):
    client.force_login(make_supplier_user(supplier=cole, username="cora"))
    return client


@pytest.fixture
def dune_client(cole, dune):
    from django.test import Client

    client = Client()
    client.force_login(make_supplier_user(supplier=dune, username="dora"))
    return client


@pytest.fixture
def failing_hook(cole, http_receiver, settings, tasks_inline):
    """Cole's webhook answers 500; with no retries left each delivery fails for good."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.DELIVERY_RETRY_SCHEDULE = []
    http_receiver.default.status = 500
    destination, secret = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    return destination


def place(retailer, capture, sku="COLE-1"):
    with capture(execute=True):
        return place_order(retailer=retailer, lines=[{"sku": sku, "quantity": 1}])[0]


# --- Settings: email ----------------------------------------------------------------------


def test_settings_page_shows_the_channels(cole_client, cole):
    response = cole_client.get("/settings/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Order emails" in body and "Webhook" in body and "SFTP file drop" in body
    assert "po@cole.example" in body
    assert "no-store" in response["Cache-Control"].split(", ")  # never_cache


def test_email_addresses_are_validated_and_saved(cole_client, cole):
    response = cole_client.post("/settings/email/", {"addresses": "a@cole.example, nope"})
    assert response.status_code == 400
    assert "&#x27;nope&#x27; is not a valid email address." in response.content.decode()
    assert Destination.objects.get(supplier=cole, channel="email").email_addresses == (
        "po@cole.example"
    )
    response = cole_client.post("/settings/email/", {"addresses": "a@cole.example, b@cole.example"})
    assert response.status_code == 302
    assert Destination.objects.get(supplier=cole, channel="email").email_addresses == (
        "a@cole.example,b@cole.example"
    )


def test_turning_every_channel_off_warns(cole_client, cole):
    response = cole_client.post("/settings/email/off/", follow=True)
    body = response.content.decode()
    assert "Every channel is off" in body
    assert not Destination.objects.get(supplier=cole, channel="email").enabled


def test_unknown_channel_off_is_404(cole_client, cole):
    assert cole_client.post("/settings/fax/off/").status_code == 404


# --- Settings: webhook --------------------------------------------------------------------


def test_webhook_url_is_validated(cole_client, cole):
    response = cole_client.post("/settings/webhook/", {"url": "ftp://x"})
    assert response.status_code == 400
    assert "is not a valid http(s) URL" in response.content.decode()
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()


REFUSED_URLS = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1"),
    ("http://[::1]/hook", "::1"),
    ("https://10.0.0.1/hook", "10.0.0.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://0x7f000001/hook", "127.0.0.1"),
    ("http://2130706433/hook", "127.0.0.1"),
    ("http://localhost:9000/hook", "127.0.0.1"),
    # An address with a zone (an interface of this machine) is judged as written: it was
    # saved, as a name that did not resolve, and retried for three days.
    ("http://[::1%25lo]/hook", "::1%lo"),
    ("http://[fe80::1%25eth0]/hook", "fe80::1%eth0"),
    ("http://[fd00::1%25x]/hook", "fd00::1%x"),
    ("http://[2606:4700::1%25eth0]/hook", "2606:4700::1%eth0"),
    ("http://[fec0::1]/hook", "fec0::1"),  # site-local: is_global says global
]


@pytest.mark.parametrize("url, address", REFUSED_URLS)
def test_webhook_url_to_a_refused_address_is_refused_when_saved(
    cole_client, cole, settings, no_connections, url, address
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    destination, _ = destination_set_webhook(supplier=cole, url="https://hooks.cole.example/in")
    before = Destination.objects.filter(pk=destination.pk).values().get()
    response = cole_client.post("/settings/webhook/", {"url": url})
    assert response.status_code == 400
    page = response.content.decode()
    assert "not a public internet address" in page and address in page
    assert Destination.objects.filter(pk=destination.pk).values().get() == before
    assert Destination.objects.filter(supplier=cole, channel="webhook").count() == 1


def test_webhook_url_to_a_local_address_is_saved_when_private_networks_are_allowed(
    cole_client, cole, settings, no_connections
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = cole_client.post("/settings/webhook/", {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 200
    assert Destination.objects.get(supplier=cole, channel="webhook").webhook_url == (
        "http://127.0.0.1:9/hook"
    )


def test_webhook_on_reveal_rotate_and_test_event(cole_client, cole, http_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    url = http_receiver.url + "/hook"
    response = cole_client.post("/settings/webhook/", {"url": url})
    assert response.status_code == 200
    secret = re.search(r'<code id="secret-value">([^<]+)</code>', response.content.decode())[1]
    destination = Destination.objects.get(supplier=cole, channel="webhook")
    assert destination.webhook_url == url and destination.webhook_secret == secret
    # Not on the plain page...
    assert secret not in cole_client.get("/settings/").content.decode()
    # ...but revealed on request.
    assert secret in cole_client.post("/settings/webhook/reveal/").content.decode()

    response = cole_client.post("/settings/webhook/rotate/")
    new_secret = re.search(r'<code id="secret-value">([^<]+)</code>', response.content.decode())[1]
    assert new_secret != secret
    assert Destination.objects.get(pk=destination.pk).webhook_secret == new_secret

    response = cole_client.post("/settings/webhook/test/", follow=True)
    assert "Test event delivered" in response.content.decode()
    (request,) = http_receiver.wait_for(1)
    payload = Webhook(new_secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"


def test_webhook_test_event_failure_says_why(cole_client, cole, http_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    http_receiver.default.status = 503
    destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    response = cole_client.post("/settings/webhook/test/", follow=True)
    assert "Test event failed (HTTP 503)" in response.content.decode()
    assert "turns it off" not in response.content.decode()
    assert not Delivery.objects.exists()


def test_a_test_event_answered_410_says_the_webhook_stays_on_but_events_would_not(
    cole_client, cole, http_receiver, settings
):
    """410 Gone to a real event turns the webhook off; to a test it changes nothing, and the
    supplier reads both, rather than finding it off after the first order."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    http_receiver.default.status = 410
    destination, _ = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    response = cole_client.post("/settings/webhook/test/", follow=True)
    body = response.content.decode()
    assert "Test event failed (HTTP 410)" in body
    assert "The webhook stays on after a test; an order event answered 410 turns it off." in body
    destination.refresh_from_db()
    assert destination.enabled and not destination.disabled_reason
    assert not Delivery.objects.exists()


# --- Settings: SFTP -----------------------------------------------------------------------


def _sftp_form(server, **overrides):
    data = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "private_key": server.private_key,
        "path": str(server.upload_root),
        "interval_minutes": 5,
        "file_format": "csv",
    }
    data.update(overrides)
    return data


def test_sftp_fetch_confirm_save_and_test_connection(cole_client, cole, sftp_server):
    # Step 1: fetch the server's key; the page shows its fingerprint and asks to confirm.
    response = cole_client.post("/settings/sftp/", {**_sftp_form(sftp_server), "action": "fetch"})
    assert response.status_code == 200
    body = response.content.decode()
    assert sftp_server.host_key_fingerprint in body
    assert sftp_server.host_key_line.split()[1] in body
    key_line = sftp_server.private_key.splitlines()[1]
    assert key_line not in body  # the key given is not written back into the page
    assert "no-store" in response.headers["Cache-Control"]
    assert not Destination.objects.filter(supplier=cole, channel="sftp").exists()

    # Saving without confirming is refused and pins nothing.
    form = {**_sftp_form(sftp_server), "host_key": sftp_server.host_key_line, "action": "save"}
    response = cole_client.post("/settings/sftp/", form)
    assert response.status_code == 400
    assert "Confirm that this fingerprint is your server" in response.content.decode()
    assert key_line not in response.content.decode()
    assert not Destination.objects.filter(supplier=cole, channel="sftp").exists()

    # Step 2: confirm and save.
    response = cole_client.post("/settings/sftp/", {**form, "host_key_confirmed": "on"})
    assert response.status_code == 302
    destination = Destination.objects.get(supplier=cole, channel="sftp")
    assert destination.sftp_host_key == sftp_server.host_key_line
    assert destination.sftp_interval_minutes == 5 and destination.enabled
    page = cole_client.get("/settings/").content.decode()
    assert sftp_server.host_key_fingerprint in page
    assert sftp_server.private_key.splitlines()[1] not in page  # never shown back

    # Saving again with the password fields blank keeps the stored key.
    response = cole_client.post(
        "/settings/sftp/", {**form, "private_key": "", "interval_minutes": 7}
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.sftp_interval_minutes == 7 and destination.sftp_private_key

    response = cole_client.post("/settings/sftp/test/", follow=True)
    body = response.content.decode()
    assert "the host key matches" in body and "is writable" in body


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"host": ""}, "Give the SFTP server&#x27;s host name."),
        # Saved before, each of these failed every run with "Cannot resolve" (found in review).
        ({"host": "sftp.example.com:2222"}, "is not a host name or IP address"),
        ({"host": "sftp://files.example.com"}, "is not a host name or IP address"),
        ({"host": "files..example.com"}, "is not a host name or IP address"),
        ({"host": "files example.com"}, "is not a host name or IP address"),
        ({"port": 70000}, "The port is between 1 and 65535."),
        ({"username": ""}, "Give the SFTP user name."),
        ({"private_key": "not a key"}, "Not a private key paramiko can read"),
        ({"path": ""}, "Give the directory files go to."),
        ({"host_key": "ssh-ed25519 !!!"}, "Not a valid SSH public key"),
        ({"interval_minutes": 0}, "The interval is 1 to 1440 minutes."),
    ],
)
def test_sftp_validation_says_exactly_what_is_wrong(cole_client, cole, overrides, message):
    class Server:
        host, port, username, upload_root = "127.0.0.1", 22, "u", "/in"
        private_key = ""

    data = {
        **_sftp_form(Server, password="pw"),
        "host_key": "ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        "host_key_confirmed": "on",
        "action": "save",
    }
    data.update(overrides)
    if "private_key" in overrides:
        data.pop("password")
    response = cole_client.post("/settings/sftp/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Destination.objects.filter(supplier=cole, channel="sftp").exists()


def test_sftp_fetch_from_a_closed_port_says_so(cole_client, cole, settings):
    import socket

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # 127.0.0.1 gets through the address check

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = cole_client.post(
        "/settings/sftp/",
        {"host": "127.0.0.1", "port": port, "file_format": "csv", "action": "fetch"},
    )
    assert response.status_code == 400
    assert "connection refused" in response.content.decode().lower()
    assert not Destination.objects.filter(supplier=cole, channel="sftp").exists()


# --- Deliveries ---------------------------------------------------------------------------


def test_deliveries_failures_first_filter_and_redeliver(
    cole_client, cole, retailer, failing_hook, http_receiver, django_capture_on_commit_callbacks
):
    first = place(retailer, django_capture_on_commit_callbacks)
    second = place(retailer, django_capture_on_commit_callbacks)
    failed = list(Delivery.objects.filter(channel="webhook").order_by("pk"))
    assert [d.status for d in failed] == [DeliveryStatus.FAILED] * 2
    assert (
        Delivery.objects.filter(
            channel="email", purpose="supplier_order", status="delivered"
        ).count()
    ) == 2

    body = cole_client.get("/deliveries/").content.decode()
    attention, recent = body.split('id="recent-h"')
    assert first.number in attention and second.number in attention
    assert "HTTP 500" in attention or "500" in attention
    assert "Redeliver all failed" in body

    only_email = cole_client.get("/deliveries/", {"channel": "email"}).content.decode()
    assert "Needs attention" not in only_email and "Email" in only_email

    # Redeliver one: the receiver now answers 200; same webhook-id as before.
    http_receiver.default.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post(
            f"/deliveries/{failed[0].pk}/redeliver/", {"next": "/deliveries/"}
        )
    assert response.status_code == 302 and response["Location"] == "/deliveries/"
    failed[0].refresh_from_db()
    assert failed[0].status == DeliveryStatus.DELIVERED
    assert http_receiver.requests[-1].headers["webhook-id"] == failed[0].identity

    # Redeliver all failed.
    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post("/deliveries/redeliver-failed/", follow=True)
    assert "1 failed delivery (all channels) queued again." in response.content.decode()
    assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()


@pytest.mark.parametrize("channel", ["fax", "webhook\x00", "x" * 5000])
def test_redeliver_all_failed_of_an_unknown_channel_is_a_400_naming_it_and_queues_nothing(
    cole_client, cole, retailer, failing_hook, django_capture_on_commit_callbacks, channel
):
    place(retailer, django_capture_on_commit_callbacks)
    before = list(Delivery.objects.order_by("pk").values())
    assert {row["status"] for row in before} >= {DeliveryStatus.FAILED}
    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post("/deliveries/redeliver-failed/", {"channel": channel})
    assert response.status_code == 400
    assert response.content.decode().startswith("channel: unknown channel; use ")
    assert channel not in response.content.decode()
    assert list(Delivery.objects.order_by("pk").values()) == before


def test_redeliver_all_failed_takes_a_bounded_batch_a_press_and_says_what_is_left(
    cole_client,
    cole,
    retailer,
    failing_hook,
    http_receiver,
    settings,
    django_capture_on_commit_callbacks,
):
    """One press resets and queues at most DELIVERY_PORTAL_REDELIVER_BATCH rows, the oldest:
    before, every failed delivery went in one request (ids in one IN list, each task
    published in the request), which a long outage's backlog could not get through."""
    settings.DELIVERY_PORTAL_REDELIVER_BATCH = 2
    orders = [place(retailer, django_capture_on_commit_callbacks) for _ in range(3)]
    failed = list(Delivery.objects.filter(channel="webhook").order_by("pk"))
    assert [d.event.order_id for d in failed] == [o.pk for o in orders]
    assert {d.status for d in failed} == {DeliveryStatus.FAILED}
    http_receiver.default.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post("/deliveries/redeliver-failed/", follow=True)
    body = response.content.decode()
    assert "2 failed deliveries (all channels) queued again." in body
    assert "1 more failed delivery was not queued yet (at most 2 a press" in body
    states = [Delivery.objects.get(pk=d.pk).status for d in failed]
    assert states == [DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    assert {r.headers["webhook-id"] for r in http_receiver.requests[-2:]} == {
        d.identity for d in failed[:2]
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post("/deliveries/redeliver-failed/", follow=True)
    body = response.content.decode()
    assert "1 failed delivery (all channels) queued again." in body and "not queued yet" not in body
    assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()


def test_redeliver_all_failed_pressed_again_at_once_does_not_say_there_were_none(
    cole_client, cole, retailer, failing_hook, django_capture_on_commit_callbacks
):
    """Pressed again within the cooldown, the failed delivery is left alone: the page says
    so, and no longer also says that there were no failed deliveries."""
    place(retailer, django_capture_on_commit_callbacks)
    (delivery,) = Delivery.objects.filter(channel="webhook")
    with django_capture_on_commit_callbacks(execute=True):
        cole_client.post("/deliveries/redeliver-failed/")  # the receiver still answers 500
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.redelivered_at is not None
    tried = delivery.attempts.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = cole_client.post("/deliveries/redeliver-failed/", follow=True)
    body = response.content.decode()
    assert "1 redelivered moments ago were left alone" in body
    assert "No failed delivery (all channels) was queued again." in body
    assert "There were no failed deliveries" not in body
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts.count() == tried


def test_order_page_lists_deliveries_with_attempts_and_redeliver(
    cole_client, cole, retailer, failing_hook, django_capture_on_commit_callbacks
):
    order = place(retailer, django_capture_on_commit_callbacks)
    body = cole_client.get(f"/orders/{order.number}/").content.decode()
    delivery = Delivery.objects.get(channel="webhook")
    assert f"/deliveries/{delivery.pk}/redeliver/" in body
    assert "1 try" in body and "Attempt log (1)" in body and "HTTP 500" in body
    assert "Webhook" in body and "Email" in body


def test_order_page_query_count_does_not_grow_with_deliveries(
    cole_client,
    cole,
    retailer,
    failing_hook,
    settings,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    from orders.services import order_set_status

    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 0]
    few = place(retailer, django_capture_on_commit_callbacks)
    many = place(retailer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=many, status="processing", actor="ops")
    with django_capture_on_commit_callbacks(execute=True):
        order_set_status(order=many, status="cancelled", actor="ops", reason="other", note="n")
    assert (
        Delivery.objects.filter(event__order=many).count()
        > 2 * Delivery.objects.filter(event__order=few).count()
    )
    with django_assert_max_num_queries(12):
        assert cole_client.get(f"/orders/{few.number}/").status_code == 200
    with django_assert_max_num_queries(12):
        response = cole_client.get(f"/orders/{many.number}/")
    rows = list(Delivery.objects.filter(event__order=many))
    # Every one offers Redeliver but the retailer's cancellation email, which was delivered.
    retailer_mail = [d for d in rows if d.purpose == "retailer_cancellation"]
    assert [d.status for d in retailer_mail] == [DeliveryStatus.DELIVERED]
    assert response.content.decode().count("Redeliver</button>") == len(rows) - 1


def test_history_shows_delivery_state_and_failing_count(
    cole_client, cole, retailer, failing_hook, django_capture_on_commit_callbacks
):
    order = place(retailer, django_capture_on_commit_callbacks)
    body = cole_client.get("/orders/").content.decode()
    assert 'class="badge dstate-failed">Failed<' in body
    assert re.search(r'<span class="stat-n">1</span> <span class="stat-l">failing deliveries', body)
    assert order.number in body


# --- Tenancy ------------------------------------------------------------------------------


def test_another_suppliers_delivery_cannot_be_seen_or_redelivered(
    cole_client, dune_client, cole, retailer, failing_hook, django_capture_on_commit_callbacks
):
    order = place(retailer, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(channel="webhook")
    before = (delivery.status, delivery.attempt_count, delivery.attempts.count())

    assert dune_client.post(f"/deliveries/{delivery.pk}/redeliver/").status_code == 404
    dune_client.post("/deliveries/redeliver-failed/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.attempts.count()) == before

    page = dune_client.get("/deliveries/").content.decode()
    assert order.number not in page and delivery.identity not in page
    assert dune_client.get(f"/orders/{order.number}/").status_code == 404


def test_another_suppliers_channels_are_not_shown_or_changed(
    cole_client, dune_client, cole, dune, failing_hook
):
    secret = Destination.objects.get(pk=failing_hook.pk).webhook_secret
    page = dune_client.get("/settings/").content.decode()
    assert failing_hook.webhook_url not in page and "po@cole.example" not in page
    # dune has no webhook or SFTP: reveal, rotate and test are 404 and never touch cole's.
    for action in ("reveal", "rotate", "test"):
        response = dune_client.post(f"/settings/webhook/{action}/")
        assert response.status_code == 404
        assert secret not in response.content.decode()
    assert dune_client.post("/settings/sftp/test/").status_code == 404
    assert Destination.objects.get(pk=failing_hook.pk).webhook_secret == secret
    dune_client.post("/settings/email/", {"addresses": "x@dune.example"})
    dune_client.post("/settings/webhook/off/")
    assert Destination.objects.get(supplier=cole, channel="email").email_addresses == (
        "po@cole.example"
    )
    assert Destination.objects.get(pk=failing_hook.pk).enabled
    destination_set_email(supplier=dune, addresses="y@dune.example")


def test_pages_need_a_supplier(client, db, cole):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("loner", "l@example.com", "x-Long-Pass-1")
    client.force_login(user)
    for url in ["/settings/", "/deliveries/"]:
        assert client.get(url).status_code == 403
    assert client.post("/settings/email/", {"addresses": "z@example.com"}).status_code == 403
    assert Destination.objects.get(supplier=cole, channel="email").email_addresses == (
        "po@cole.example"
    )


def test_format_preview_finds_an_order_number_typed_in_lower_case(
    cole_client, cole, retailer, django_capture_on_commit_callbacks
):
    order = place(retailer, django_capture_on_commit_callbacks)
    response = cole_client.get(
        "/settings/formats/", {"format": "csv", "order": order.number.lower()}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Order {order.number} as csv" in body and "You have no order" not in body
