"""Review of the admin and the delivery engine: what ops can do in admin goes through the same
checks as the portal and `set_channel`, and one bad row stops nobody else's orders."""

import pytest
from django.contrib.auth import get_user_model

from delivery.models import Delivery, Destination
from delivery.services import destination_set_webhook
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


def _destination_post(staff_client, destination, **fields):
    owner = (
        {"supplier": destination.supplier_id}
        if destination.supplier_id
        else {"retailer": destination.retailer_id}
    )
    data = {
        **owner,
        "channel": destination.channel,
        "enabled": "on",
        "event_types": "[]",
        "webhook_url": destination.webhook_url,
        "email_addresses": destination.email_addresses,
        "sftp_interval_minutes": 15,
        "sftp_format": "csv",
        "sftp_updates_path": "updates",
        "csv_neutralise": "on",
    } | fields
    return staff_client.post(f"/admin/delivery/destination/{destination.pk}/change/", data)


# --- A supplier's event types in admin are checked as `set_channel --events` checks them ----


@pytest.mark.parametrize("event_types", ["5", '{"order.created": 1}', '["order.create"]'])
def test_a_suppliers_event_types_that_set_channel_refuses_are_refused_in_admin(
    staff_client, cole, settings, event_types
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = destination_set_webhook(supplier=cole, url="https://hooks.cole.example/in")
    response = _destination_post(staff_client, destination, event_types=event_types)
    assert response.status_code == 200  # the form again, naming the field
    assert response.context["adminform"].form.errors["event_types"]
    destination.refresh_from_db()
    assert destination.event_types == []


def test_one_destinations_bad_event_types_stop_no_other_suppliers_orders(
    staff_client, cole, acme, retailer, settings, django_capture_on_commit_callbacks
):
    """Had the admin saved `5`, the dispatcher's check of that row raised for every batch of
    events holding one of its supplier's: nobody's orders went out (nor the sweep's)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = destination_set_webhook(supplier=cole, url="https://hooks.cole.example/in")
    _destination_post(staff_client, destination, event_types="5")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(
            retailer=retailer,
            lines=[{"sku": "COLE-1", "quantity": 1}, {"sku": "ACME-001", "quantity": 1}],
        )
    assert Delivery.objects.filter(supplier=acme, channel="email").count() == 1
    assert Delivery.objects.filter(supplier=cole, channel="webhook").count() == 1


@pytest.mark.parametrize("event_types", ["5", "[[1]]"])
def test_a_retailers_odd_event_types_are_the_forms_error_not_a_500(
    staff_client, retailer, settings, event_types
):
    from delivery.services import retailer_webhook_set

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = retailer_webhook_set(retailer=retailer, url="https://hooks.shopco.example/")
    response = _destination_post(staff_client, destination, event_types=event_types)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["event_types"]
    destination.refresh_from_db()
    assert destination.event_types == []
    assert Destination.objects.filter(retailer=retailer, event_types=5).count() == 0


# --- Redelivering in admin takes a permission, as resending a monthly summary does ----------


def _failed_supplier_email(retailer, django_capture_on_commit_callbacks) -> Delivery:
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    delivery = Delivery.objects.get(purpose="supplier_order", channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempt_count=10)
    return Delivery.objects.get(pk=delivery.pk)


def _staff_with(client, *codenames):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        "viewer", "viewer@example.com", "View-Pass-2026!", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def test_staff_who_may_only_view_deliveries_cannot_redeliver_them(
    client, cole, retailer, django_capture_on_commit_callbacks, email_via_smtp, tasks_inline
):
    delivery = _failed_supplier_email(retailer, django_capture_on_commit_callbacks)
    viewer = _staff_with(client, "view_delivery")
    listing = viewer.get("/admin/delivery/delivery/")
    assert listing.status_code == 200
    assert 'value="redeliver"' not in listing.text
    before = Delivery.objects.filter(pk=delivery.pk).values().get()
    sent = len(email_via_smtp.messages)  # the order's email, delivered before it "failed"
    viewer.post(
        "/admin/delivery/delivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert Delivery.objects.filter(pk=delivery.pk).values().get() == before
    assert len(email_via_smtp.messages) == sent


def test_staff_with_the_change_permission_may_redeliver(
    client, cole, retailer, django_capture_on_commit_callbacks, tasks_inline
):
    delivery = _failed_supplier_email(retailer, django_capture_on_commit_callbacks)
    ops = _staff_with(client, "view_delivery", "change_delivery")
    assert 'value="redeliver"' in ops.get("/admin/delivery/delivery/").text
    page = ops.post(
        "/admin/delivery/delivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    ).text
    assert "Queued 1 deliveries again" in page
    delivery.refresh_from_db()
    assert delivery.redelivered_at is not None


# --- Changelists: query counts do not grow with the rows on the page -----------------------


def test_the_destination_list_does_not_query_per_row(
    staff_client, retailer, settings, django_assert_max_num_queries
):
    from delivery.services import retailer_webhook_set
    from testsupport.factories import make_retailer, make_supplier

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    for n in range(12):
        supplier = make_supplier(slug=f"s{n}", name=f"S {n}", emails=f"po@s{n}.example")
        destination_set_webhook(supplier=supplier, url=f"https://hooks.s{n}.example/in")
        other, _key = make_retailer(slug=f"r{n}", rate="0.10", email=f"buy@r{n}.example")
        retailer_webhook_set(retailer=other, url=f"https://hooks.r{n}.example/")
    staff_client.get("/admin/delivery/destination/")  # session, content types
    with django_assert_max_num_queries(12):
        response = staff_client.get("/admin/delivery/destination/")
    assert response.status_code == 200
    assert "s11:webhook" in response.text or "s11" in response.text


# --- Whose a destination or a token is, and what a token may do, are not edited in admin ----


def test_a_destination_is_not_moved_to_another_supplier_in_admin(
    staff_client, cole, acme, retailer, settings, django_capture_on_commit_callbacks
):
    """Moving cole's webhook row to acme sent acme's orders to cole's URL, signed with cole's
    secret (and an SFTP row, to cole's server with cole's password)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, secret = destination_set_webhook(
        supplier=cole, url="https://hooks.cole.example/in"
    )
    response = _destination_post(staff_client, destination, supplier=acme.pk)
    assert response.status_code in (200, 302)
    _destination_post(staff_client, destination, channel="sftp")
    destination.refresh_from_db()
    assert (destination.supplier_id, destination.channel) == (cole.pk, "webhook")
    assert destination.webhook_secret == secret
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    assert not Delivery.objects.filter(supplier=acme, channel="webhook").exists()
    assert not Delivery.objects.filter(destination=destination).exists()


def test_a_retailers_row_is_still_checked_as_a_retailers_in_admin(staff_client, retailer, settings):
    from delivery.services import retailer_webhook_set

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = retailer_webhook_set(retailer=retailer, url="https://hooks.shopco.example/")
    response = _destination_post(staff_client, destination, event_types='["order.created"]')
    assert "order.created" in " ".join(response.context["adminform"].form.errors["event_types"])
    response = _destination_post(
        staff_client, destination, event_types='["order.cancelled"]', enabled=""
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    destination.refresh_from_db()
    assert destination.event_types == ["order.cancelled"] and destination.enabled is False


def _token_post(staff_client, token, **fields):
    data = {
        "supplier": token.supplier_id,
        "name": token.name,
        "scope": token.scope,
        "revoked_at_0": "",
        "revoked_at_1": "",
    } | fields
    return staff_client.post(f"/admin/suppliers/apitoken/{token.pk}/change/", data)


def test_an_api_token_keeps_its_supplier_and_scope_in_admin(staff_client, cole, acme):
    from rest_framework.test import APIClient

    from suppliers.services import api_token_create

    token, plain = api_token_create(supplier=cole, name="erp")
    response = _token_post(staff_client, token, supplier=acme.pk, scope="read_update")
    assert response.status_code in (200, 302)
    token.refresh_from_db()
    assert (token.supplier_id, token.scope) == (cole.pk, "read")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    answer = api.post("/api/v1/orders/PO-1/acknowledgement", {}, format="json")
    assert answer.status_code == 403  # still read-only


def test_a_revoked_api_token_is_not_brought_back_in_admin(staff_client, cole):
    from rest_framework.test import APIClient

    from suppliers.services import api_token_create, api_token_revoke

    token, plain = api_token_create(supplier=cole, name="leaked")
    api_token_revoke(token=token)
    revoked_at = token.revoked_at
    _token_post(staff_client, token)  # the date and time boxes cleared
    token.refresh_from_db()
    assert token.revoked_at == revoked_at
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/orders/PO-1").status_code == 401


def test_api_tokens_are_revoked_in_admin_by_an_action(
    staff_client, cole, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from suppliers.models import ApiToken
    from suppliers.services import api_token_create

    token, plain = api_token_create(supplier=cole, name="erp")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/orders/PO-1").status_code == 404  # a working token
    with django_capture_on_commit_callbacks(execute=True):  # every process forgets it
        page = staff_client.post(
            "/admin/suppliers/apitoken/",
            {"action": "revoke_tokens", "_selected_action": [token.pk]},
            follow=True,
        ).text
    assert "Revoked 1 API token" in page
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert api.get("/api/v1/orders/PO-1").status_code == 401


# --- The date drill-down of a list takes any date typed into its URL ----------------------


@pytest.mark.parametrize(
    "page",
    [
        "/admin/orders/order/?placed_at__year=9999",
        "/admin/orders/order/?placed_at__year=9999&placed_at__month=12",
        "/admin/orders/order/?placed_at__year=9999&placed_at__month=12&placed_at__day=31",
        "/admin/orders/order/?placed_at__year=99999999999999999999",
        "/admin/delivery/delivery/?created_at__year=9999",
        "/admin/statements/monthlysummary/?month__year=9999",
        # django-axes' lists of login attempts and lockouts (suppliers/admin.py bounds them)
        "/admin/axes/accessattempt/?attempt_time__year=9999",
        "/admin/axes/accesslog/?attempt_time__year=99999999999999999999",
        "/admin/axes/accessfailurelog/?attempt_time__year=9999&attempt_time__month=12",
    ],
)
def test_a_date_out_of_range_in_a_lists_drill_down_is_a_bad_filter_not_a_500(staff_client, page):
    response = staff_client.get(page)
    assert response.status_code == 302
    assert response.url.endswith("?e=1")  # the list's "bad filter" notice, as Django's own
    assert staff_client.get(response.url).status_code == 200


# --- Addresses and formats saved in admin are checked as `set_channel` and the portal do ----


def test_a_suppliers_email_addresses_are_checked_in_admin(staff_client, cole):
    destination = Destination.objects.get(supplier=cole, channel="email")
    response = _destination_post(
        staff_client, destination, email_addresses="po@cole.example, not-an-address"
    )
    assert response.status_code == 200
    assert "not-an-address" in " ".join(
        response.context["adminform"].form.errors["email_addresses"]
    )
    destination.refresh_from_db()
    assert destination.email_addresses == "po@cole.example"
    response = _destination_post(
        staff_client, destination, email_addresses=" po@cole.example , ops@cole.example "
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.email_addresses == "po@cole.example,ops@cole.example"


def test_another_suppliers_own_format_is_refused_in_admin(staff_client, cole, acme):
    from django.urls import reverse

    from delivery.tests.test_file_formats import admin_form

    staff_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="acme-own", availability="own", owner=str(acme.pk)),
    )
    destination = Destination.objects.get(supplier=cole, channel="email")
    for field, name in (("email_attach_format", "acme-own"), ("sftp_format", "nope")):
        response = _destination_post(staff_client, destination, **{field: name})
        assert response.status_code == 200, field
        assert name in " ".join(response.context["adminform"].form.errors[field])
    destination.refresh_from_db()
    assert (destination.email_attach_format, destination.sftp_format) == ("", "csv")
    mine = Destination.objects.get(supplier=acme, channel="email")
    assert _destination_post(staff_client, mine, email_attach_format="acme-own").status_code == 302
    mine.refresh_from_db()
    assert mine.email_attach_format == "acme-own"


def test_a_suppliers_order_emails_are_checked_in_admin(staff_client, cole):
    data = {"name": cole.name, "order_emails": "nobody", "is_active": "on"}
    data |= {
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = staff_client.post(f"/admin/suppliers/supplier/{cole.pk}/change/", data)
    assert response.status_code == 200
    assert "nobody" in " ".join(response.context["adminform"].form.errors["order_emails"])
    cole.refresh_from_db()
    assert cole.order_emails == "po@cole.example"


# --- What a receiver answers is recorded whatever bytes it holds --------------------------


@pytest.mark.parametrize("status", [200, 503])
def test_a_webhook_answer_holding_a_nul_is_recorded_and_the_row_moves_on(
    cole,
    retailer,
    http_receiver,
    settings,
    tasks_inline,
    django_capture_on_commit_callbacks,
    status,
):
    """PostgreSQL refuses a NUL in text: the attempt's insert failed, so a webhook the
    receiver had taken stayed pending and claimed, and went again after every lease, with
    no attempt on record and no end to its schedule."""
    from datetime import timedelta

    from django.utils import timezone

    from delivery.services import deliveries_sweep, destination_disable
    from testsupport.http import Answer

    destination_disable(supplier=cole, channel="email")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    http_receiver.script(Answer(status=status, body=b"ok\x00fine"))
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 2}])
    http_receiver.wait_for(1)
    delivery = Delivery.objects.get(channel="webhook")
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code == status
    assert attempt.response_excerpt == "ok\ufffdfine"
    assert delivery.claimed_until is None
    assert delivery.status == ("delivered" if status == 200 else "pending")
    if status == 200:
        # A lease that lapsed (a worker gone) and the sweep: nothing goes again.
        Delivery.objects.filter(pk=delivery.pk, status="pending").update(
            claimed_until=timezone.now() - timedelta(seconds=1), queued_at=None
        )
        with django_capture_on_commit_callbacks(execute=True):
            deliveries_sweep()
        assert len(http_receiver.requests) == 1
    else:
        assert delivery.next_attempt_at is not None and delivery.last_error.startswith("503")


def test_redeliver_in_admin_refuses_more_rows_than_it_can_do_in_one_request(
    staff_client, cole, retailer, monkeypatch, django_capture_on_commit_callbacks, tasks_inline
):
    import delivery.admin

    monkeypatch.setattr(delivery.admin, "REDELIVER_ADMIN_MAX", 2, raising=False)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    Delivery.objects.update(status="failed", attempt_count=10)
    before = list(Delivery.objects.order_by("pk").values())
    for chosen in (
        {"_selected_action": list(Delivery.objects.values_list("pk", flat=True))},
        {"_selected_action": [before[0]["id"]], "select_across": "1"},
    ):
        page = staff_client.post(
            "/admin/delivery/delivery/", {"action": "redeliver", **chosen}, follow=True
        ).text
        assert "Select at most 2 deliveries" in page and "Nothing was changed" in page
        assert "Queued" not in page
    assert list(Delivery.objects.order_by("pk").values()) == before
    page = staff_client.post(
        "/admin/delivery/delivery/",
        {"action": "redeliver", "_selected_action": [before[0]["id"], before[1]["id"]]},
        follow=True,
    ).text
    assert "Queued 2 deliveries again" in page


# --- The dispatcher's query count, with enough events that a query a row would show -------


def test_dispatching_many_events_takes_as_many_queries_as_one(
    cole, acme, retailer, settings, django_assert_max_num_queries
):
    """test_processing's test_no_query_storm_in_dispatch dispatches one event and checks
    nothing was made: a query per event or per row could not fail it."""
    from delivery.dispatcher import events_dispatch
    from orders.models import OrderEvent

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination_set_webhook(supplier=cole, url="https://hooks.cole.example/in")
    for _ in range(10):  # not dispatched: no commit runs in this test
        place_order(
            retailer=retailer,
            lines=[{"sku": "COLE-1", "quantity": 1}, {"sku": "ACME-001", "quantity": 1}],
        )
    ids = list(OrderEvent.objects.values_list("pk", flat=True))
    assert len(ids) == 20
    with django_assert_max_num_queries(10):
        events_dispatch(event_ids=ids)
    assert Delivery.objects.filter(supplier=cole, channel="webhook").count() == 10
    assert Delivery.objects.filter(channel="email", purpose="supplier_order").count() == 20
    assert not OrderEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_an_event_that_cannot_be_dispatched_stops_no_other_event(cole, acme, retailer, settings):
    """A destination row saved before the admin checked event types (`5`) made every pass of
    the sweep and of `dispatch_events` raise (the process died): nobody's orders went out,
    and the sweep queued no lost delivery either."""
    from delivery.services import deliveries_sweep
    from orders.models import OrderEvent

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.DELIVERY_DISPATCH_GRACE_SECONDS = 0
    destination, _ = destination_set_webhook(supplier=cole, url="https://hooks.cole.example/in")
    Destination.objects.filter(pk=destination.pk).update(event_types=5)  # old data
    for sku in ("COLE-1", "ACME-001", "ACME-002"):  # not dispatched: no commit runs here
        place_order(retailer=retailer, lines=[{"sku": sku, "quantity": 1}])
    result = deliveries_sweep()
    assert result.events_dispatched == 3  # looked at
    assert Delivery.objects.filter(supplier=acme, channel="email").count() == 2
    assert not Delivery.objects.filter(supplier=cole).exists()
    left = OrderEvent.objects.filter(dispatched_at__isnull=True)
    assert [e.order.supplier_id for e in left] == [cole.pk]  # for the next pass, once fixed
    Destination.objects.filter(pk=destination.pk).update(event_types=[])
    deliveries_sweep()
    assert Delivery.objects.filter(supplier=cole, channel="webhook").count() == 1
    assert not OrderEvent.objects.filter(dispatched_at__isnull=True).exists()


# --- Shipment emails turned off in admin stop as `set_retailer_channel --off` stops them ----


@pytest.fixture
def shipment_email_waiting(cole, retailer, django_capture_on_commit_callbacks):
    """A shipment's email to the retailer, made while shipment emails were on by default (no
    row, so the email has no destination), not sent yet."""
    from delivery.dispatcher import events_dispatch
    from orders.models import OrderEvent
    from orders.services import order_shipment_create

    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    order_shipment_create(order=order, actor="cole", carrier="DPD", tracking_number="T1")
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    waiting = Delivery.objects.get(purpose="retailer_shipment")
    assert waiting.status == "pending" and waiting.destination_id is None
    return waiting


def test_shipment_emails_added_off_in_admin_cancel_the_ones_not_sent(
    staff_client, retailer, shipment_email_waiting
):
    response = staff_client.post(
        "/admin/delivery/destination/add/",
        {
            "retailer": retailer.pk,
            "channel": "email",
            "event_types": "[]",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
            "sftp_updates_path": "updates",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Destination.objects.get(retailer=retailer, channel="email").enabled is False
    shipment_email_waiting.refresh_from_db()
    assert shipment_email_waiting.status == "cancelled"


def test_shipment_emails_turned_off_in_admin_cancel_the_ones_made_before_the_row(
    staff_client, retailer, shipment_email_waiting
):
    from delivery.services import retailer_shipment_email_set

    destination = retailer_shipment_email_set(retailer=retailer, on=True)
    response = _destination_post(staff_client, destination, enabled="")
    assert response.status_code == 302, response.context["adminform"].form.errors
    shipment_email_waiting.refresh_from_db()
    assert shipment_email_waiting.status == "cancelled"


def test_an_sftp_drop_without_a_server_is_not_turned_on_in_admin(
    staff_client, cole, retailer, django_capture_on_commit_callbacks
):
    """Its server, login and key are read-only in admin: one added there had none, and every
    order to it failed ('The SFTP host and username are not set.') for three days."""
    fields = {
        "supplier": cole.pk,
        "channel": "sftp",
        "enabled": "on",
        "event_types": "[]",
        "sftp_interval_minutes": 15,
        "sftp_format": "csv",
        "sftp_updates_path": "updates",
    }
    response = staff_client.post("/admin/delivery/destination/add/", fields)
    assert response.status_code == 200
    assert "set_channel" in " ".join(response.context["adminform"].form.errors["enabled"])
    assert not Destination.objects.filter(supplier=cole, channel="sftp").exists()
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    assert not Delivery.objects.filter(channel="sftp").exists()


def test_a_hosted_drop_is_still_edited_in_admin(staff_client, cole):
    from delivery.services import destination_set_sftp

    destination = destination_set_sftp(supplier=cole, hosted=True)
    response = _destination_post(staff_client, destination, sftp_interval_minutes=30)
    assert response.status_code == 302, response.context["adminform"].form.errors
    destination.refresh_from_db()
    assert destination.sftp_interval_minutes == 30 and destination.enabled
