"""Every portal page, and its refusals, is valid HTML by the Nu Html Checker (vnu), with no
warning either; before, only the emails were checked, and every `<time datetime>` of the
portal was invalid (Django's `date:'c'` writes microseconds; HTML allows at most three digits
of a second)."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.models import UpdateFile
from orders.services import order_set_status
from suppliers.services import api_token_create
from testsupport.factories import make_supplier_user, place_order
from testsupport.htmlcheck import vnu_errors

PASSWORD = "Corr3ct-Horse-Battery"


@pytest.fixture
def pages(client, acme, retailer):
    lines = [{"sku": "ACME-001", "quantity": 3}, {"sku": "ACME-003", "quantity": 1}]
    order = place_order(retailer=retailer, lines=lines)[0]
    cancelled = place_order(retailer=retailer, lines=lines)[0]
    order_set_status(order=cancelled, status="cancelled", actor="ops", reason="other", note="x")
    api_token_create(supplier=acme, name="ERP")
    ann = make_supplier_user(supplier=acme, username="ann")
    documents = {}
    anonymous = {
        "login": "/accounts/login/",
        "logged-out": "/accounts/logged-out/",
        "password-reset": "/accounts/password_reset/",
        "help": "/help/",
    }
    for name, url in anonymous.items():
        documents[name] = client.get(url)
    documents["login-refused"] = client.post(
        "/accounts/login/", {"username": "ann", "password": "wrong"}
    )
    documents["logout-when-logged-out"] = client.get("/accounts/logout/", follow=True)
    client.force_login(ann)
    n, c = order.number, cancelled.number
    for name, url in {
        "history": "/orders/",
        "history-filtered-empty": "/orders/?q=nobody&status=shipped",
        "history-bad-date": "/orders/?placed_from=31 Feb 2026",
        "order": f"/orders/{n}/",
        "order-cancelled": f"/orders/{c}/",
        "edit": f"/orders/{n}/edit/",
        "cancel-items": f"/orders/{n}/cancel-items/",
        "ship": f"/orders/{n}/ship/",
        "cancel-items-final": f"/orders/{c}/cancel-items/",
        "edit-final": f"/orders/{c}/edit/",
        "ship-final": f"/orders/{c}/ship/",
        "logout": "/accounts/logout/",
        "updates": "/orders/updates/",
        "settings": "/settings/",
        "tokens": "/settings/api-tokens/",
        "deliveries": "/deliveries/",
        "password-change": "/accounts/password_change/",
        "not-found": "/orders/PO-99999999/",
    }.items():
        documents[name] = client.get(url)
    version = str(order.version)
    for name, url, data in [
        ("edit-refused", f"/orders/{n}/edit/", {"status": "cancelled", "version": version}),
        ("edit-stale", f"/orders/{n}/edit/", {"status": "processing", "version": "999"}),
        ("cancel-refused", f"/orders/{n}/cancel-items/", {"qty-1": "9", "version": version}),
        ("cancel-stale", f"/orders/{n}/cancel-items/", {"qty-1": "1", "version": "999"}),
        ("ship-refused", f"/orders/{n}/ship/", {"qty-1": "9", "version": version}),
        # Not a number: an <input type=number> may not carry it back.
        ("ship-not-a-number", f"/orders/{n}/ship/", {"qty-1": "x", "version": version}),
        ("cancel-not-a-number", f"/orders/{n}/cancel-items/", {"qty-2": "1 ", "version": version}),
        ("tokens-refused", "/settings/api-tokens/", {"name": "", "can_update": "on"}),
        (
            "password-change-refused",
            "/accounts/password_change/",
            {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
        ),
        ("acknowledge-stale", f"/orders/{n}/acknowledge/", {"version": "999"}),
        ("acknowledge-refused", f"/orders/{n}/acknowledge/", {}),
    ]:
        documents[name] = client.post(url, data)
    # An update file's page while it waits to be applied, when it was, and while it is.
    files = {}
    for name, rows in [
        ("update-file-pending", f"order_number,action\n{n},acknowledge\n"),
        ("update-file-applied", f"order_number,action\n{c},acknowledge\n"),
        ("update-file-applying", f"order_number,action,note\n{n},acknowledge,x\n"),
    ]:
        upload = SimpleUploadedFile(f"{name}.csv", rows.encode(), "text/csv")
        assert client.post("/orders/updates/", {"file": upload}).status_code == 302
        files[name] = UpdateFile.objects.latest("pk")
    client.post(f"/orders/updates/{files['update-file-applied'].pk}/")
    UpdateFile.objects.filter(pk=files["update-file-applying"].pk).update(status="applying")
    for name, update_file in files.items():
        documents[name] = client.get(f"/orders/updates/{update_file.pk}/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        locked = client.post(
            "/accounts/password_change/",
            {"old_password": "wrong", "new_password1": "a", "new_password2": "a"},
        )
    documents["locked-out"] = locked
    return documents


def test_a_quantity_that_is_a_number_is_kept_and_one_that_is_not_is_emptied(pages):
    kept = pages["cancel-not-a-number"].content.decode()
    assert 'name="qty-2" id="id_qty-2" value="1"' in kept
    emptied = pages["ship-not-a-number"].content.decode()
    assert 'name="qty-1" id="id_qty-1" value=""' in emptied
    assert "Enter a whole number of units." in emptied


def test_every_page_is_valid_html(pages):
    statuses = {name: response.status_code for name, response in pages.items()}
    assert statuses["locked-out"] == 429 and statuses["cancel-stale"] == 409
    assert statuses["not-found"] == 404 and statuses["history"] == 200
    assert statuses["acknowledge-stale"] == 409 and statuses["acknowledge-refused"] == 400
    assert statuses["logout"] == 200 and statuses["logout-when-logged-out"] == 200
    pending = pages["update-file-pending"].content.decode()
    applied = pages["update-file-applied"].content.decode()
    applying = pages["update-file-applying"].content.decode()
    assert 'id="preview-summary"' in pending and 'id="result-summary"' in applied
    assert 'id="apply-status"' in applying
    problems = vnu_errors({name: r.content.decode() for name, r in pages.items()})
    assert problems == [], "\n".join(problems)
