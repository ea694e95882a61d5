"""Cancel items and Ship carry the order's version: two people on one order cannot both
commit against what they saw; the second, stale submit is refused and changes nothing. The
edit page, Cancel items and Ship say it in one wording (OrderChangedError.for_order)."""

import re

import pytest

from orders.models import Order
from testsupport.factories import make_supplier_user, place_order

from .test_portal import _Committed
from .test_portal_fulfilment import TWO_LINES, _state


def says_it_changed(body: str, number: str, status: str) -> bool:
    """The stale form's message as the supplier reads it, and its link back to a fresh form."""
    text = re.sub(r"\s+", " ", body)
    message = (
        f"Order {number} changed since you opened this page (someone else updated it, or "
        f"this form was sent twice): it is now {status}. Nothing was saved. Look at the order "
        "again and, if your change still applies, submit it again."
    )
    return (
        message in text
        and ">Look at the order again</a>" in text
        and "Nothing was changed" not in text  # said once, not twice in other words
    )


PAGES = {
    "cancel-items": {"qty-1": "1", "reason": "out_of_stock", "note": "Only two left"},
    "ship": {"qty-1": "1", "qty-2": "0", "carrier": "DPD", "tracking_number": "TRK-1"},
}


@pytest.fixture
def order(acme, retailer):
    return place_order(retailer=retailer, lines=TWO_LINES)[0]


@pytest.fixture
def committed(email_via_smtp, tasks_inline, django_capture_on_commit_callbacks):
    return _Committed(email_via_smtp, django_capture_on_commit_callbacks)


@pytest.fixture
def ann(client, acme):
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


@pytest.fixture
def bob(acme):
    from django.test import Client

    other = Client()
    other.force_login(make_supplier_user(supplier=acme, username="bob"))
    return other


def _opened_version(client, order, page: str) -> str:
    """The version the page's form carries, as a browser would post it back."""
    form = client.get(f"/orders/{order.number}/{page}/").context["form"]
    assert f'name="version" value="{order.version}"' in form["version"].as_widget()
    return str(form["version"].value())


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("first", PAGES)
def test_the_second_stale_submit_changes_nothing(ann, bob, order, committed, page, first):
    ann_version = _opened_version(ann, order, page)
    bob_version = _opened_version(bob, order, first)
    assert ann_version == bob_version

    response = committed.post(
        bob, f"/orders/{order.number}/{first}/", {**PAGES[first], "version": bob_version}
    )
    assert response.status_code == 302

    before = _state(order)
    response = committed.post(
        ann, f"/orders/{order.number}/{page}/", {**PAGES[page], "version": ann_version}
    )
    assert response.status_code == 409
    now = Order.objects.get(pk=order.pk).get_status_display().lower()
    assert says_it_changed(response.content.decode(), order.number, now)
    assert f'<a href="/orders/{order.number}/{page}/">Look at the order again</a>' in (
        response.content.decode()
    )
    assert _state(order) == before
    committed.assert_nothing_sent()
    # What Ann typed is still there to submit again once she has reloaded.
    form = response.context["form"]
    assert form["qty-1"].value() == "1"


def test_a_change_landing_after_the_forms_read_is_refused_by_the_service(
    ann, order, committed, monkeypatch
):
    """The form read the current version; before the service locks the order someone else
    changes it: the service refuses (the page passes the version on), nothing changes."""
    from orders import fulfilment_views
    from orders.services import order_set_status

    real = fulfilment_views.order_shipment_create

    def someone_else_first(**kwargs):
        order_set_status(order=order, status="processing", actor="user:bob")
        return real(**kwargs)

    monkeypatch.setattr(fulfilment_views, "order_shipment_create", someone_else_first)
    version = _opened_version(ann, order, "ship")
    response = committed.post(
        ann, f"/orders/{order.number}/ship/", {**PAGES["ship"], "version": version}
    )
    assert response.status_code == 409
    # The service's refusal reads as the form's: the status is the one Bob left.
    assert says_it_changed(response.content.decode(), order.number, "processing")
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == "processing" and not fresh.shipments.exists()
    assert list(fresh.lines.values_list("quantity_shipped", flat=True)) == [0, 0]


@pytest.mark.parametrize("page", PAGES)
def test_a_form_sent_twice_changes_the_order_once(ann, order, committed, page):
    """A double click: the second POST carries the version the first one used up."""
    data = {**PAGES[page], "version": _opened_version(ann, order, page)}
    assert committed.post(ann, f"/orders/{order.number}/{page}/", data).status_code == 302
    after_first = _state(order)
    response = committed.post(ann, f"/orders/{order.number}/{page}/", data)
    assert response.status_code == 409
    now = Order.objects.get(pk=order.pk).get_status_display().lower()
    assert says_it_changed(response.content.decode(), order.number, now)
    assert _state(order) == after_first
    committed.assert_nothing_sent()
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.cancellations.count() + fresh.shipments.count() == 1


def test_the_edit_page_says_it_in_the_same_words(ann, order, committed):
    """The edit page's stale refusal (the service's version check) reads as the other two."""
    from orders.services import order_set_status

    version = _opened_version(ann, order, "edit")
    order_set_status(order=order, status="processing", actor="user:bob")
    before = _state(order)
    response = committed.post(
        ann,
        f"/orders/{order.number}/edit/",
        {"status": "cancelled", "reason": "other", "note": "too late", "version": version},
    )
    assert response.status_code == 409
    assert says_it_changed(response.content.decode(), order.number, "processing")
    assert f'<a href="/orders/{order.number}/edit/">Look at the order again</a>' in (
        response.content.decode()
    )
    assert _state(order) == before
    committed.assert_nothing_sent()


# --- Acknowledge carries the version too ---------------------------------------------------


@pytest.fixture
def retailer_hook(retailer, http_receiver, settings):
    """The retailer's webhook (it hears order.acknowledged) at a real HTTP receiver."""
    from delivery.services.retailers import retailer_webhook_set

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on 127.0.0.1
    retailer_webhook_set(retailer=retailer, url=http_receiver.url + "/rh")
    return http_receiver


def _acknowledge_version(client, order) -> str:
    """The version the order page's Acknowledge button carries."""
    page = client.get(f"/orders/{order.number}/").content.decode()
    button = re.search(r'<form [^>]*action="/orders/[^"]+/acknowledge/".*?</form>', page, re.S)
    return re.search(r'name="version" value="(\d+)"', button[0])[1]


def test_a_stale_acknowledge_changes_nothing_and_the_fresh_one_is_delivered(
    ann, order, committed, retailer_hook
):
    """Ann opened the order; ops then cancelled a unit of it. Her Acknowledge is refused (she
    has not seen the order she would take on): no event, no email, no webhook queued. From
    the order page as it now is, it goes through, and the retailer's webhook hears it."""
    from orders.services import LineQuantity, order_lines_cancel

    stale = _acknowledge_version(ann, order)
    order_lines_cancel(
        order=order,
        actor="ops",
        reason="retailer_request",
        note="Customer changed their mind",
        lines=[LineQuantity(line=2, quantity=1)],
    )
    before = _state(order)
    response = committed.post(ann, f"/orders/{order.number}/acknowledge/", {"version": stale})
    assert response.status_code == 409
    body = response.content.decode()
    assert says_it_changed(body, order.number, "placed")
    assert f'<a href="/orders/{order.number}/">Look at the order again</a>' in body
    assert 'id="acknowledge"' in body  # the order as it now is, still to acknowledge
    assert _state(order) == before
    assert Order.objects.get(pk=order.pk).acknowledged_at is None
    assert not order.events.filter(type="order.acknowledged").exists()
    committed.assert_nothing_sent()
    assert retailer_hook.requests == []

    current = _acknowledge_version(ann, order)
    assert current != stale
    response = committed.post(ann, f"/orders/{order.number}/acknowledge/", {"version": current})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).acknowledged_via == "portal"
    (request,) = retailer_hook.wait_for(1)
    assert b"order.acknowledged" in request.body


def test_a_stale_acknowledge_of_an_order_already_acknowledged_is_harmless(
    ann, bob, order, committed
):
    """Two people click Acknowledge on one order (or one clicks twice): the second button is
    stale, but the only change is the acknowledgement, so it is no refusal: it says so and
    changes nothing."""
    version = _acknowledge_version(ann, order)
    assert _acknowledge_version(bob, order) == version
    first = committed.post(bob, f"/orders/{order.number}/acknowledge/", {"version": version})
    assert first.status_code == 302
    before = _state(order)
    response = committed.post(ann, f"/orders/{order.number}/acknowledge/", {"version": version})
    assert response.status_code == 302
    committed.assert_nothing_sent()
    assert _state(order) == before
    assert order.events.filter(type="order.acknowledged").count() == 1
    page = ann.get(response["Location"]).content.decode()
    assert f"Order {order.number} was already acknowledged." in page
    assert "changed since you opened" not in page


@pytest.mark.parametrize("version", [None, "", "x", "0"])
def test_an_acknowledge_without_a_version_is_refused(ann, order, committed, version):
    data = {} if version is None else {"version": version}
    before = _state(order)
    response = committed.post(ann, f"/orders/{order.number}/acknowledge/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "The form lost track of the order&#x27;s version" in body
    assert "Nothing was changed." in body
    assert _state(order) == before and Order.objects.get(pk=order.pk).acknowledged_at is None
    committed.assert_nothing_sent()


# --- One text for a form without its version; a 409 page that can be sent again -----------

VERSION_LOST = "The form lost track of the order&#x27;s version; reload the order and try again."
FORMS = {
    "edit": {"status": "processing"},
    **PAGES,
    "acknowledge": {},
}


@pytest.mark.parametrize("page", FORMS)
@pytest.mark.parametrize("version", [None, "", "x", "0"])
def test_every_form_without_its_version_says_so_in_one_text(ann, order, committed, page, version):
    data = dict(FORMS[page]) if version is None else {**FORMS[page], "version": version}
    before = _state(order)
    response = committed.post(ann, f"/orders/{order.number}/{page}/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert body.count(VERSION_LOST) == 1
    assert "Nothing was changed." in body
    assert "Please correct the fields marked below" not in body  # no field is marked
    assert "This field is required" not in body
    assert _state(order) == before
    assert Order.objects.get(pk=order.pk).acknowledged_at is None
    committed.assert_nothing_sent()


def _carried_version(body: str, page: str) -> str:
    """The version the page's form (the Acknowledge button's, on the order page) carries."""
    if page == "acknowledge":
        body = re.search(r'<form [^>]*action="/orders/[^"]+/acknowledge/".*?</form>', body, re.S)[0]
    (version,) = re.findall(r'name="version" value="(\d+)"', body)
    return version


@pytest.mark.parametrize("page", FORMS)
def test_the_409_page_carries_the_version_now_and_sent_again_applies_once(
    ann, order, committed, page
):
    """Ann's form is stale (ops cancelled a unit meanwhile): 409, the message, nothing saved.
    The page shows the order as it now is and its form carries the order's version now, so
    having read it, she sends that page again: it applies. Sent a third time, it is stale."""
    opened = str(order.version)
    _cancel_one_unit_of_line_2(order)
    before = _state(order)
    response = committed.post(
        ann, f"/orders/{order.number}/{page}/", {**FORMS[page], "version": opened}
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert says_it_changed(body, order.number, "placed")
    assert _state(order) == before
    committed.assert_nothing_sent()
    carried = _carried_version(body, page)
    assert carried == str(Order.objects.get(pk=order.pk).version) != opened

    again = {**FORMS[page], "version": carried}
    assert committed.post(ann, f"/orders/{order.number}/{page}/", again).status_code == 302
    applied = _state(order)
    assert applied != before
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.cancellations.count() == (2 if page == "cancel-items" else 1)
    assert fresh.shipments.count() == (1 if page == "ship" else 0)
    assert fresh.status == ("placed" if page in ("cancel-items", "acknowledge") else "processing")
    assert fresh.acknowledged_via == "portal"  # each of them acknowledges the order

    response = committed.post(ann, f"/orders/{order.number}/{page}/", again)
    if page == "acknowledge":  # acknowledging again changes nothing and is no refusal
        assert response.status_code == 302
    else:
        assert response.status_code == 409
    assert _state(order) == applied


def _cancel_one_unit_of_line_2(order) -> None:
    from orders.services import LineQuantity, order_lines_cancel

    order_lines_cancel(
        order=order,
        actor="ops",
        reason="retailer_request",
        note="Customer changed their mind",
        lines=[LineQuantity(line=2, quantity=1)],
    )
