"""The supplier portal's order pages: history, export, order page, edit; login and tenancy."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
from orders.models import Order, OrderEvent, OrderEventType, OrderStatus
from orders.services import order_set_status
from suppliers.models import ApiToken
from suppliers.services import api_token_create
from testsupport.factories import make_supplier_user, place_order

PASSWORD = "Corr3ct-Horse-Battery"


@pytest.fixture
def acme_user(acme):
    return make_supplier_user(supplier=acme, username="ann")


@pytest.fixture
def bolt_user(bolt):
    return make_supplier_user(supplier=bolt, username="bob")


@pytest.fixture
def acme_client(client, acme_user):
    client.force_login(acme_user)
    return client


@pytest.fixture
def acme_order(acme, retailer):
    return place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 2}])[0]


@pytest.fixture
def bolt_order(bolt, retailer):
    return place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])[0]


def _order_state(order):
    order = Order.objects.get(pk=order.pk)
    return (order.status, order.version, order.events.count())


class _Committed:
    """A POST run as if its transaction committed: its on-commit callbacks run, delivery tasks
    in process, email to a real SMTP server. What a refused POST would send, this sends (the
    test's own transaction never commits, so `mail.outbox` alone sees nothing either way)."""

    def __init__(self, smtp, capture):
        self.smtp, self.capture = smtp, capture

    def post(self, client, url, data):
        deliveries = list(Delivery.objects.values_list("pk", flat=True))
        mails = len(self.smtp.messages)
        with self.capture(execute=True) as callbacks:
            response = client.post(url, data)
        self.callbacks = callbacks
        self.deliveries = list(Delivery.objects.exclude(pk__in=deliveries))
        self.mails = self.smtp.messages[mails:]
        return response

    def assert_one_email_to_the_retailer(self, *, purpose: str, number: str):
        """The calibration: one delivery of `purpose`, delivered, and its email at the
        server, to the retailer, naming the order."""
        assert self.callbacks
        (delivery,) = self.deliveries
        assert delivery.purpose == purpose and delivery.status == DeliveryStatus.DELIVERED
        assert delivery.recipient == "buyers@shopco.example"
        (sent,) = self.mails
        assert sent.rcpt_tos == ["buyers@shopco.example"] and number in sent.subject

    def assert_nothing_sent(self):
        assert self.callbacks == []  # nothing announced, nothing queued
        assert self.deliveries == []
        assert self.mails == []


@pytest.fixture
def committed(email_via_smtp, tasks_inline, django_capture_on_commit_callbacks):
    return _Committed(email_via_smtp, django_capture_on_commit_callbacks)


# --- Login, lockout, CSP ------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_need_a_login(client):
    for url in ["/orders/", "/orders/PO-1/", "/orders/PO-1/edit/", "/settings/api-tokens/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_root_redirects_to_order_history(client):
    assert client.get("/")["Location"] == "/orders/"


def test_login_page_logs_in_and_lands_on_order_history(client, acme_user, acme_order):
    response = client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/orders/"
    page = client.get("/orders/")
    assert acme_order.number in page.content.decode()


def test_login_page_has_a_strict_content_security_policy(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    body = response.content.decode()
    assert 'for="id_username"' in body and 'for="id_password"' in body


def test_logout_is_a_post(acme_client):
    # A GET only asks (orders_portal/tests/test_portal_words.py): still logged in after it.
    assert acme_client.get("/accounts/logout/").status_code == 200
    assert acme_client.get("/orders/").status_code == 200
    response = acme_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert acme_client.get("/orders/").status_code == 302


def test_login_locks_out_after_the_configured_failures(client, acme_user):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = client.post("/accounts/login/", {"username": "ann", "password": "wrong"})
        assert response.status_code == 200
        assert "enter a correct username and password" in response.content.decode()
    response = client.post("/accounts/login/", {"username": "ann", "password": "wrong"})
    assert response.status_code == 429
    assert "Login locked for now" in response.content.decode()
    # Locked: even the right password is refused, and no session is made.
    response = client.post("/accounts/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/orders/").status_code == 302


def test_password_change(acme_client, acme_user):
    response = acme_client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "Brand-New-Pass-42",
            "new_password2": "Brand-New-Pass-42",
        },
    )
    assert response.status_code == 302
    acme_user.refresh_from_db()
    assert acme_user.check_password("Brand-New-Pass-42")


# --- Tenancy ------------------------------------------------------------------------------


def test_user_without_a_supplier_sees_no_data(client, acme_order):
    user = get_user_model().objects.create_user("loner", "l@example.com", PASSWORD)
    client.force_login(user)
    for url in [
        "/orders/",
        f"/orders/{acme_order.number}/",
        f"/orders/{acme_order.number}/edit/",
        "/orders/export.csv",
        "/settings/api-tokens/",
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert acme_order.number not in response.content.decode()
    before = _order_state(acme_order)
    response = client.post(
        f"/orders/{acme_order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "x", "version": acme_order.version},
    )
    assert response.status_code == 403
    assert _order_state(acme_order) == before


def test_another_suppliers_order_is_404_everywhere(acme_client, acme_order, bolt_order):
    for url in [f"/orders/{bolt_order.number}/", f"/orders/{bolt_order.number}/edit/"]:
        assert acme_client.get(url).status_code == 404, url
    history = acme_client.get("/orders/").content.decode()
    assert acme_order.number in history and bolt_order.number not in history
    assert _numbers(acme_client.get("/orders/", {"q": bolt_order.number})) == []
    export = b"".join(acme_client.get("/orders/export.csv").streaming_content).decode()
    assert acme_order.number in export and bolt_order.number not in export


def test_editing_another_suppliers_order_changes_nothing(acme_client, bolt_order, committed):
    before = _order_state(bolt_order)
    response = committed.post(
        acme_client,
        f"/orders/{bolt_order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "x", "version": bolt_order.version},
    )
    assert response.status_code == 404
    assert _order_state(bolt_order) == before
    committed.assert_nothing_sent()


def test_revoking_another_suppliers_token_changes_nothing(acme_client, bolt):
    token, _ = api_token_create(supplier=bolt, name="bolt erp")
    response = acme_client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    page = acme_client.get("/settings/api-tokens/").content.decode()
    assert "bolt erp" not in page


# --- ORDER HISTORY ------------------------------------------------------------------------


@pytest.fixture
def many_orders(acme, retailer):
    """Seven acme orders with different customers, SKUs, statuses and placed dates."""
    now = timezone.now()
    orders = []
    specs = [
        ("Ann Lee", "ann@example.com", "ACME-001", 1),
        ("Ben Okafor", "ben@example.com", "ACME-002", 2),
        ("Cara Jones", "cara@example.com", "ACME-003", 3),
        ("Dev Patel", "dev@example.com", "ACME-001", 10),
        ("Eve Smith", "eve@shop.example", "ACME-002", 20),
        ("Finn Kim", "finn@example.com", "ACME-003", 30),
        ("Gita Rossi", "gita@example.com", "ACME-001", 40),
    ]
    for index, (name, email, sku, days_ago) in enumerate(specs):
        orders += place_order(
            retailer=retailer,
            reference=f"REF-{index}",
            lines=[{"sku": sku, "quantity": index + 1}],
            customer={"name": name, "email": email, "phone": ""},
            placed_at=(now - timedelta(days=days_ago)).isoformat(),
        )
    order_set_status(order=orders[1], status="processing", actor="ops")
    order_set_status(order=orders[2], status="cancelled", actor="ops", reason="other", note="n")
    return orders


def _numbers(response) -> list[str]:
    return re.findall(r'<a href="/orders/(PO-[^/"]+)/">', response.content.decode())


def test_history_lists_newest_first_with_columns(acme_client, many_orders):
    response = acme_client.get("/orders/")
    assert response.status_code == 200
    assert _numbers(response) == [o.number for o in reversed(many_orders)]
    body = response.content.decode()
    for text in ["Ann Lee", "Shopco", "9.50 GBP", "Cancelled", "Processing", "Placed"]:
        assert text in body
    stats = dict(
        (label, int(n))
        for n, label in re.findall(
            r'<span class="stat-n">(\d+)</span> <span class="stat-l">([^<]+)</span>', body
        )
    )
    # Six are open, unacknowledged and placed days ago: overdue (issue 13). All were placed
    # days ago (made now): none placed today, which is what the card's link lists (issue 16).
    assert stats == {
        "placed today": 0,
        "awaiting processing": 5,
        "overdue (not acknowledged)": 6,
        "failing deliveries": 0,
    }


@pytest.mark.parametrize(
    "params,expected_indexes",
    [
        ({"status": "cancelled"}, [2]),
        ({"status": "placed"}, [6, 5, 4, 3, 0]),
        ({"q": "okafor"}, [1]),
        ({"q": "shop.example"}, [4]),
        ({"q": "REF-3"}, [3]),
        ({"q": "acme-003"}, [5, 2]),
        ("number", [4]),
    ],
)
def test_history_filters(acme_client, many_orders, params, expected_indexes):
    if params == "number":
        params = {"q": many_orders[4].number.lower()}
    response = acme_client.get("/orders/", params)
    assert _numbers(response) == [many_orders[i].number for i in expected_indexes]


def test_history_placed_date_range(acme_client, many_orders):
    today = timezone.localdate()
    response = acme_client.get(
        "/orders/",
        {
            "placed_from": (today - timedelta(days=21)).isoformat(),
            "placed_to": (today - timedelta(days=9)).isoformat(),
        },
    )
    assert _numbers(response) == [many_orders[4].number, many_orders[3].number]


def test_history_bad_date_range_says_what_is_wrong(acme_client, many_orders):
    response = acme_client.get("/orders/", {"placed_from": "2026-02-01", "placed_to": "2026-01-01"})
    assert response.status_code == 200
    assert "must be on or after" in response.content.decode()


def test_history_keyset_pages_walk_older_and_newer_keeping_filters(acme_client, many_orders):
    expected = [o.number for o in reversed(many_orders)]
    seen, url, pages = [], "/orders/?size=2&q=example", []
    while url:
        response = acme_client.get(url)
        pages.append(response)
        seen += _numbers(response)
        match = re.search(r'href="([^"]*)" rel="next"', response.content.decode())
        url = "/orders/" + match.group(1).replace("&amp;", "&") if match else None
        if url:
            assert "q=example" in url and "size=2" in url
    assert seen == expected
    assert len(pages) == 4
    # And back: the newer link from the last page gives the page before it.
    back = re.search(r'href="([^"]*)" rel="prev"', pages[-1].content.decode()).group(1)
    response = acme_client.get("/orders/" + back.replace("&amp;", "&"))
    assert _numbers(response) == _numbers(pages[-2])


def test_history_ignores_a_forged_cursor(acme_client, many_orders):
    response = acme_client.get("/orders/", {"before": "not-a-cursor!!"})
    assert response.status_code == 200
    assert _numbers(response)[0] == many_orders[-1].number


def test_history_query_count_does_not_grow_with_page_size(
    acme_client, acme, retailer, django_assert_max_num_queries
):
    for _ in range(3):
        place_order(retailer=retailer)
    from django.db import connection

    # 9 queries, plus SAVEPOINT, SET LOCAL and RELEASE around the page read on PostgreSQL;
    # and how many match (issue 16): the search's SKU look-up and the capped count, on
    # PostgreSQL in a savepoint with its own time limit (SAVEPOINT, SET, SET, RELEASE).
    limit = 18 if connection.vendor == "postgresql" else 11
    with django_assert_max_num_queries(limit):
        small = acme_client.get("/orders/?q=Ann")
    for _ in range(40):
        place_order(retailer=retailer, lines=[{"sku": "ACME-002", "quantity": 1}])
    with django_assert_max_num_queries(limit):
        big = acme_client.get("/orders/?size=200&q=Ann")
    assert len(_numbers(small)) == 3 and len(_numbers(big)) == 43


# --- CSV export ---------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_of_a_filtered_list_equals_the_filtered_orders(acme_client, many_orders):
    params = {"status": "placed", "q": "example.com"}
    page = acme_client.get("/orders/", params)
    response = acme_client.get("/orders/export.csv", params)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"].split(", ")  # never_cache
    rows = _csv(response)
    assert [r["order_number"] for r in rows] == _numbers(page)
    assert [r["order_number"] for r in rows] == [many_orders[i].number for i in (6, 5, 3, 0)]
    first = rows[0]
    assert first["customer_name"] == "Gita Rossi" and first["status"] == "placed"
    assert first["total"] == str(many_orders[6].total) and first["items"] == "7"


def test_export_of_many_orders_streams_them_all(acme_client, acme, retailer, monkeypatch):
    import orders.views_export as views
    from orders.selectors import order_history_export_rows

    for _ in range(7):
        place_order(retailer=retailer)
    # Small chunks, so the keyset walk between chunks is exercised.
    monkeypatch.setattr(
        views,
        "order_history_export_rows",
        lambda **kw: order_history_export_rows(**kw, chunk_size=3),
    )
    rows = _csv(acme_client.get("/orders/export.csv"))
    assert [r["order_number"] for r in rows] == list(
        Order.objects.filter(supplier=acme)
        .order_by("-created_at", "-id")
        .values_list("number", flat=True)
    )


def test_export_makes_formulas_inert(acme_client, acme, retailer):
    evil = '=HYPERLINK("http://x","y")'
    place_order(
        retailer=retailer,
        customer={"name": evil, "email": "e@example.com", "phone": "+44 1"},
        reference="@SUM(A1)",
    )
    rows = _csv(acme_client.get("/orders/export.csv"))
    assert rows[0]["customer_name"] == "'" + evil
    assert rows[0]["retailer_reference"] == "'@SUM(A1)"
    # The SFTP files' rule (common/csv.py): a number-like cell cannot call a function.
    assert rows[0]["customer_phone"] == "+44 1"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "@", "\t", "\r", "\uff1d", "\uff20"))


# --- Order page ---------------------------------------------------------------------------


def test_order_page_shows_lines_customer_address_and_timeline(acme_client, acme, retailer):
    order = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
    )[0]
    order_set_status(order=order, status="processing", actor="ops", note="picking now")
    body = acme_client.get(f"/orders/{order.number}/").content.decode()
    for text in ["ACME-001", "ACME-003", "Ann Lee", "ann@example.com", "1 High St", "LS1 1AA"]:
        assert text in body
    assert "retailer:shopco" in body and "picking now" in body
    assert "Placed → Processing" in body


def test_order_page_query_count_does_not_grow_with_lines(
    acme_client, acme, retailer, django_assert_max_num_queries
):
    from testsupport.factories import make_products

    make_products(supplier=acme, skus={f"ACME-1{i:02d}": "1.00" for i in range(12)})
    small = place_order(retailer=retailer)[0]
    big = place_order(
        retailer=retailer, lines=[{"sku": f"ACME-1{i:02d}", "quantity": 1} for i in range(12)]
    )[0]
    for order in (small, big):
        for status in ("processing", "shipped"):
            order_set_status(order=order, status=status, actor="ops", user=None)
    with django_assert_max_num_queries(12):
        assert acme_client.get(f"/orders/{small.number}/").status_code == 200
    with django_assert_max_num_queries(12):
        response = acme_client.get(f"/orders/{big.number}/")
    assert response.content.decode().count("ACME-1") >= 12


# --- Edit ---------------------------------------------------------------------------------


def test_edit_offers_only_the_allowed_changes(acme_client, acme_order):
    body = acme_client.get(f"/orders/{acme_order.number}/edit/").content.decode()
    options = re.findall(
        r'<option value="(\w+)"', body.split('name="status"')[1].split("</select>")[0]
    )
    assert options == ["cancelled", "processing"]
    assert 'name="version"' in body and f'value="{acme_order.version}"' in body


def test_cancel_through_the_form(acme_client, acme_user, acme_order):
    response = acme_client.post(
        f"/orders/{acme_order.number}/edit/",
        {
            "status": "cancelled",
            "reason": "out_of_stock",
            "note": "Supplier ran out",
            "version": acme_order.version,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/orders/{acme_order.number}/"
    body = response.content.decode()
    assert "email to the retailer" in body
    order = Order.objects.get(pk=acme_order.pk)
    assert order.status == "cancelled" and order.cancellation_reason == "out_of_stock"
    event = order.events.order_by("-id").first()
    assert event.type == "order.cancelled" and event.actor == "user:ann"
    assert event.actor_user == acme_user and event.note == "Supplier ran out"
    assert "Supplier ran out" in body and "ann" in body


def test_a_cancel_emails_the_retailer_once_committed(acme_client, acme_order, committed):
    """The refusals' "nothing sent" is calibrated: the same setup catches a real cancel's."""
    response = committed.post(
        acme_client,
        f"/orders/{acme_order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "Gone", "version": acme_order.version},
    )
    assert response.status_code == 302
    committed.assert_one_email_to_the_retailer(
        purpose=DeliveryPurpose.RETAILER_CANCELLATION, number=acme_order.number
    )


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"status": "cancelled", "reason": "other", "note": " "}, "note", "A note is required"),
        ({"status": "cancelled", "reason": "", "note": "why"}, "reason", "Choose a cancellation"),
        ({"status": "shipped"}, "status", "cannot go from placed to shipped"),
        ({"status": "bogus"}, "status", "Select a valid choice"),
    ],
)
def test_edit_refusals_change_nothing(acme_client, acme_order, committed, data, field, message):
    before = _order_state(acme_order)
    response = committed.post(
        acme_client, f"/orders/{acme_order.number}/edit/", {**data, "version": acme_order.version}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert _order_state(acme_order) == before
    committed.assert_nothing_sent()


@pytest.mark.parametrize(
    "data,fields",
    [
        ({"status": "processing", "carrier": "DPD", "tracking_number": "TRK1"},
         {"carrier", "tracking_number"}),
        ({"status": "processing", "reason": "out_of_stock"}, {"reason"}),
        ({"status": "cancelled", "reason": "other", "note": "gone", "tracking_number": "TRK1"},
         {"tracking_number"}),
    ],
)  # fmt: skip
def test_edit_refuses_fields_its_status_does_not_take(
    acme_client, acme_order, committed, data, fields
):
    """A reason, carrier or tracking number typed with a status that does not take it is
    refused on its field, not dropped while the page says the order was updated."""
    before = _order_state(acme_order)
    response = committed.post(
        acme_client, f"/orders/{acme_order.number}/edit/", {**data, "version": acme_order.version}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == fields
    body = response.content.decode()
    assert "goes only with the status" in body and "Nothing was changed" in body
    assert _order_state(acme_order) == before
    committed.assert_nothing_sent()


def test_edit_of_a_shipped_order_is_refused(acme_client, acme_order, committed):
    order_set_status(order=acme_order, status="processing", actor="ops")
    order = order_set_status(order=acme_order, status="shipped", actor="ops")
    page = acme_client.get(f"/orders/{order.number}/edit/").content.decode()
    assert "which is final" in page and "Update" not in page
    before = _order_state(order)
    response = committed.post(
        acme_client,
        f"/orders/{order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "late", "version": order.version},
    )
    assert response.status_code == 400
    assert "cannot go from shipped to cancelled" in response.content.decode()
    assert _order_state(order) == before
    committed.assert_nothing_sent()


def test_stale_edit_form_is_refused_with_a_clear_message(acme_client, acme_order, committed):
    stale_version = acme_order.version
    order_set_status(order=acme_order, status="processing", actor="user:someone-else")
    before = _order_state(acme_order)
    response = committed.post(
        acme_client,
        f"/orders/{acme_order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "too late", "version": stale_version},
    )
    committed.assert_nothing_sent()
    assert response.status_code == 409
    body = response.content.decode()
    assert "changed since you opened this page" in body and "it is now processing" in body
    assert "Nothing was saved" in body and "submit it again" in body
    assert _order_state(acme_order) == before
    assert Order.objects.get(pk=acme_order.pk).status == OrderStatus.PROCESSING
    assert not OrderEvent.objects.filter(order=acme_order, note="too late").exists()


def test_ship_with_tracking(acme_client, acme_order):
    order = order_set_status(order=acme_order, status="processing", actor="ops")
    response = acme_client.post(
        f"/orders/{order.number}/edit/",
        {
            "status": "shipped",
            "carrier": "DPD",
            "tracking_number": "TRK1",
            "version": order.version,
        },
        follow=True,
    )
    assert "marked shipped" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.shipment_carrier, order.shipment_tracking_number) == (
        "shipped",
        "DPD",
        "TRK1",
    )
    assert "TRK1" in response.content.decode()


def test_the_edit_pages_note_goes_on_the_shipment_and_the_timeline(acme_client, acme_order):
    order = order_set_status(order=acme_order, status="processing", actor="ops")
    response = acme_client.post(
        f"/orders/{order.number}/edit/",
        {
            "status": "shipped",
            "carrier": "DPD",
            "note": "Left at the depot, signed by J.",
            "version": order.version,
        },
        follow=True,
    )
    event = OrderEvent.objects.get(order=order, type=OrderEventType.SHIPMENT_CREATED)
    assert event.note == "Left at the depot, signed by J."
    assert "Left at the depot, signed by J." in response.content.decode()


# --- API tokens ---------------------------------------------------------------------------


def test_api_token_is_shown_once_then_only_its_prefix(acme_client, acme):
    response = acme_client.post("/settings/api-tokens/", {"name": "ERP import"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"].split(", ")  # never_cache
    plain = re.search(r'<code id="token-value">([^<]+)</code>', response.content.decode()).group(1)
    token = ApiToken.objects.get(supplier=acme)
    assert token.name == "ERP import" and plain.startswith(token.prefix)
    again = acme_client.get("/settings/api-tokens/").content.decode()
    assert plain not in again and token.prefix in again and "ERP import" in again
    from suppliers.selectors import api_token_authenticate

    assert api_token_authenticate(plain=plain) == token


def test_api_token_needs_a_name(acme_client, acme):
    response = acme_client.post("/settings/api-tokens/", {"name": "  "})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.filter(supplier=acme).exists()


def test_api_token_revoke(acme_client, acme):
    token, plain = api_token_create(supplier=acme, name="old")
    response = acme_client.post(f"/settings/api-tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    api_token_create(supplier=acme, name="current")
    page = acme_client.get(reverse("suppliers:api-tokens")).content.decode()
    assert page.index("current") < page.index("Revoked")


def test_history_escapes_what_customers_typed(acme_client, acme, retailer):
    place_order(
        retailer=retailer,
        customer={"name": '<script>alert("x")</script>', "email": "a@example.com"},
        reference='R"><img src=x>',
    )
    body = acme_client.get("/orders/").content.decode()
    assert "<script>alert" not in body and "<img src=x>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "R&quot;&gt;&lt;img src=x&gt;" in body


def test_pages_with_customers_details_are_kept_by_no_cache(acme_client, acme_order):
    """ORDER HISTORY and an order's page hold customers' names and addresses: after a logout
    no cache (the browser's included) may give them back. Every portal page says no-store."""
    for url in ("/orders/", f"/orders/{acme_order.number}/", "/orders/updates/", "/settings/"):
        response = acme_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url
