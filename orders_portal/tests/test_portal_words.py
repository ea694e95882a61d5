"""The portal as a person reads it (issue 16): codes in words, times with their zone, messages
by kind, ORDER HISTORY's count and what to loosen, the login's ?next=, the logged-out page, a
staff login without a supplier, and /help/."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from common.labels import label, when_day, when_text
from delivery.labels import channel_error_words
from orders.selectors import HistoryFilters, order_history_count, order_history_loosen
from orders.services import order_set_status
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db

PASSWORD = "Corr3ct-Horse-Battery"


# --- One place for words -------------------------------------------------------------------


def test_codes_read_as_words_everywhere_from_one_place():
    assert label("cancellation_reason", "out_of_stock") == "Out of stock"
    assert label("order_status", "processing") == "Processing"
    assert label("delivery_state", "failing") == "Failing (retrying)"
    assert label("delivery_purpose", "retailer_cancellation") == "Cancellation to retailer"
    assert label("channel", "sftp") == "SFTP"
    # Unknown codes and kinds still read as words, never snake_case; empty is empty.
    assert label("cancellation_reason", "lost_in_transit") == "Lost in transit"
    assert label("no_such_kind", "some_code") == "Some code"
    assert label("order_status", "") == ""


@pytest.mark.parametrize(
    "raw,words",
    [
        ("500 Internal Server Error", "The receiver answered with an error (HTTP 500)."),
        ("404 Not Found", "The receiver refused the message (HTTP 404)."),
        ("timed out", "The receiver did not answer in time."),
        ("ConnectionError: [Errno 111] Connection refused", "Could not connect to the receiver."),
        ("SMTP 550: b'no such user'", "The mail server refused the message (SMTP 550)."),
        (
            "410 Gone: the receiver asked us to stop",
            "The receiver said this address is gone; the channel was turned off.",
        ),  # fmt: skip
        ("the email channel is off", "Not sent: the channel is off."),
        ("", ""),
        ("a plain sentence already.", "A plain sentence already."),
    ],
)
def test_channel_errors_read_as_sentences(raw, words):
    assert channel_error_words(raw) == words
    if raw:
        assert label("channel_error", raw) == words


def test_times_show_in_the_portal_zone_with_the_zone_named(settings):
    settings.TIME_ZONE = "Europe/London"
    winter = datetime(2026, 12, 1, 9, 5, tzinfo=ZoneInfo("UTC"))
    summer = datetime(2026, 7, 1, 9, 5, 7, tzinfo=ZoneInfo("UTC"))
    assert when_text(winter) == "1 Dec 2026, 09:05 GMT"
    assert when_text(summer, seconds=True) == "1 Jul 2026, 10:05:07 BST"
    assert when_day(winter.date()) == "1 Dec 2026"
    assert when_text(None) == ""


def test_order_page_and_export_use_the_words(ann_client, acme, retailer):
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    order_set_status(
        order=order, status="cancelled", actor="ops", reason="out_of_stock", note="None left"
    )
    body = ann_client.get(f"/orders/{order.number}/").content.decode()
    assert "Out of stock" in body and "out_of_stock" not in body
    assert "Placed → Cancelled" in body
    zone = timezone.localtime(order.placed_at).tzname()
    assert f"{when_text(order.placed_at)}" in body and zone in body
    assert "Times are in Europe/London time." in body
    response = ann_client.get("/orders/export.csv")
    text = b"".join(response.streaming_content).decode()
    header, row = text.splitlines()[:2]
    assert header.endswith("status_label,cancellation_reason_label")
    assert row.endswith("Cancelled,Out of stock")


def test_messages_differ_by_kind_in_word_and_class(ann_client, acme, retailer):
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    response = ann_client.post(
        f"/orders/{order.number}/acknowledge/", {"version": order.version}, follow=True
    )
    body = response.content.decode()
    assert re.search(r'class="msg msg-success" role="status"><strong class="msg-kind">Done', body)
    # Acknowledging an order ops cancelled is refused: an error, in its own colour, word and
    # role, and nothing recorded. (A second acknowledgement is no refusal: it changes nothing.)
    gone = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    order_set_status(order=gone, status="cancelled", actor="ops", reason="other", note="Void")
    events = gone.events.count()
    gone.refresh_from_db()
    body = ann_client.post(
        f"/orders/{gone.number}/acknowledge/", {"version": gone.version}, follow=True
    ).content.decode()
    assert (
        '<p class="msg msg-error" role="alert"><strong class="msg-kind">Error</strong> '
        f'<span class="msg-text">Order {gone.number} is cancelled: nothing to acknowledge.'
        "</span></p>"
    ) in body
    assert "msg-success" not in body
    gone.refresh_from_db()
    assert gone.acknowledged_at is None and gone.events.count() == events


def test_cancellation_message_says_the_email_is_queued_and_the_page_says_sent(
    ann_client, acme, retailer, tasks_inline, django_capture_on_commit_callbacks
):
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            f"/orders/{order.number}/edit/",
            {
                "status": "cancelled",
                "reason": "out_of_stock",
                "note": "Gone",
                "version": order.version,
            },
        )
    assert response.status_code == 302
    body = ann_client.get(response["Location"]).content.decode()
    assert "An email to the retailer, Shopco, at buyers@shopco.example is queued" in body
    # Sent by the time the page is read (tasks run in process): the banner says so.
    banner = re.search(r'<p class="msg-inline[^"]*" id="retailer-email">(.*?)</p>', body, re.S)
    assert banner and "<strong>Sent:</strong>" in banner.group(1)


# --- ORDER HISTORY: how many match, the range shown, what to loosen ------------------------


def test_history_says_how_many_match_and_the_range_shown(ann_client, acme, retailer):
    now = timezone.now()
    for days in (1, 2, 3):
        place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-001", "quantity": 1}],
            placed_at=(now - timedelta(days=days)).isoformat(),
        )
    body = ann_client.get("/orders/").content.decode()
    said = re.search(r'id="result-count">(.*?)</p>', body, re.S).group(1)
    assert said.startswith("3 orders.")
    oldest, newest = now - timedelta(days=3), now - timedelta(days=1)
    assert f"Showing 3, placed {when_text(oldest)} to {when_text(newest)}." in said
    body = ann_client.get("/orders/?status=cancelled").content.decode()
    assert "0 orders match status Cancelled." in body


def test_an_empty_list_says_which_filter_to_loosen(ann_client, acme, retailer):
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    response = ann_client.get("/orders/?status=shipped&q=" + order.number)
    body = response.content.decode()
    assert "No orders match these filters." in body
    # Dropping the status shows the order; dropping the search alone shows nothing.
    assert re.search(r'<a href="\?q=' + order.number + r'">drop the status</a>', body)
    assert "drop the search" not in body


def test_history_count_is_exact_up_to_the_cap_then_an_estimate(acme, retailer, monkeypatch):
    from orders.selectors import history_count

    for _ in range(4):
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    exact = order_history_count(supplier=acme, filters=HistoryFilters())
    assert (exact.count, exact.exact) == (4, True)
    monkeypatch.setattr(history_count, "HISTORY_COUNT_CAP", 2)
    estimate = order_history_count(supplier=acme, filters=HistoryFilters())
    assert estimate.exact is False and estimate.count >= 2
    assert order_history_loosen(supplier=acme, filters=HistoryFilters(status="shipped")) == [
        "status"
    ]


def test_dates_are_typed_as_they_are_shown(ann_client, acme, retailer):
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    today = timezone.localdate()
    shown = when_day(today)
    body = ann_client.get("/orders/", {"placed_from": shown}).content.decode()
    assert order.number in body
    assert f'value="{shown}"' in body  # the box reads as the page writes dates
    # The links' ISO form reads the same way back.
    body = ann_client.get("/orders/", {"placed_from": today.isoformat()}).content.decode()
    assert f'value="{shown}"' in body
    response = ann_client.get("/orders/", {"placed_from": "31 Foo 2026"})
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()


# --- Login, logout, a login without a supplier, help ---------------------------------------


def test_next_is_kept_after_a_failed_login(client, ann):
    page = client.get("/accounts/login/?next=/deliveries/").content.decode()
    assert 'name="next" value="/deliveries/"' in page
    failed = client.post(
        "/accounts/login/", {"username": "ann", "password": "wrong", "next": "/deliveries/"}
    )
    assert failed.status_code == 200
    assert 'name="next" value="/deliveries/"' in failed.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/login/", {"username": "ann", "password": PASSWORD, "next": "/deliveries/"}
    )
    assert response.status_code == 302 and response["Location"] == "/deliveries/"


def test_logout_confirms_it(ann_client):
    response = ann_client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/logged-out/"
    body = response.content.decode()
    assert "You are logged out" in body and 'href="/accounts/login/"' in body
    assert ann_client.get("/orders/").status_code == 302


def test_logout_typed_as_an_address_asks_and_its_button_logs_out(ann):
    """/accounts/logout/ typed or bookmarked (a GET) was a blank 405: it asks, in the
    portal's layout, and only its POST button (with its CSRF token) logs out."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ann)
    response = browser.get("/accounts/logout/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Log out?</h1>" in body and "logged in as ann" in body
    assert '<header class="topbar">' in body and 'href="/help/"' in body
    form = re.search(r'<form method="post" action="/accounts/logout/">.*?</form>', body, re.S)
    assert form and '<button type="submit" class="btn primary">Log out</button>' in form[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form[0])[1]
    assert browser.get("/orders/").status_code == 200  # asking logged nobody out

    # Without the token the POST is refused and the session stays.
    assert browser.post("/accounts/logout/").status_code == 403
    assert browser.get("/orders/").status_code == 200

    response = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/logged-out/"
    assert "You are logged out" in response.content.decode()
    assert browser.get("/orders/").status_code == 302


def test_logout_typed_when_not_logged_in_goes_to_the_login_page(client, db):
    response = client.get("/accounts/logout/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "<h1>Log in</h1>" in response.content.decode()


def test_staff_without_a_supplier_sees_no_supplier_menu(client, db):
    staff = get_user_model().objects.create_user(username="olga", password=PASSWORD, is_staff=True)
    client.force_login(staff)
    response = client.get("/orders/")
    assert response.status_code == 403
    body = response.content.decode()
    nav = re.search(r"<header.*?</header>", body, re.S).group(0)
    assert "Order history" not in nav and "/deliveries/" not in nav and "/settings/" not in nav
    assert 'href="/admin/"' in nav and 'href="/help/"' in nav


def test_help_page(client, ann_client):
    for who in (client, ann_client):
        response = who.get("/help/")
        assert response.status_code == 200
        body = response.content.decode()
        for text in (
            "How orders reach you",
            "Order emails",
            "Webhook",
            "SFTP file drop",
            "Supplier API",
            'href="/orders/updates/template.csv"',
            'href="/api/docs/"',
            'href="/api/redoc/"',
            "portal/help/edit-order.png",
            "<code>tracking_number</code>",
            "Out of stock <code>out_of_stock</code>",
        ):
            assert text in body, text
    # Linked from the menu.
    assert 'href="/help/"' in ann_client.get("/orders/").content.decode()


def test_history_count_leaves_the_statement_timeout_as_it_was(acme, retailer, on_postgres):
    from django.db import connection

    place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    result = order_history_count(supplier=acme, filters=HistoryFilters(q="Lee"))
    assert result.exact and result.count >= 0
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before
