"""Failed logins from one address are limited whatever the user name (suppliers/login_limit.py).

axes locks one user name from one address; a client trying a new made-up name each time was
never locked out, and each try cost a password hash in a web worker. Past the limit, the
address's logins (the portal's and the admin's) are refused before any password is checked.
Each test uses addresses of its own: the counts live in the shared cache for the whole run.
"""

import uuid

import pytest

from testsupport.factories import make_supplier_user

PASSWORD = "Corr3ct-Horse-Battery"
LIMIT = 4


@pytest.fixture
def limit(settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = LIMIT


def _address() -> str:
    """An address no other test (or earlier run) has counted: 2001:db8:<random>::1."""
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"


def _post(client, path, username, password, address):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_an_address_trying_new_user_names_is_paused_before_any_password_is_checked(
    client, db, limit, path, monkeypatch
):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("ann", "ann@example.com", PASSWORD)
    home, elsewhere = _address(), _address()
    for index in range(LIMIT):
        response = _post(client, path, f"nobody{index}", "wrong", home)
        assert response.status_code == 200 and "_auth_user_id" not in client.session

    # Every login form checks the password through this name (the admin's form is a subclass).
    from django.contrib.auth import forms

    checked = []
    real = forms.authenticate
    monkeypatch.setattr(forms, "authenticate", lambda *a, **k: checked.append(1) or real(*a, **k))
    # Past the limit: the right password from that address (another /64 member too) is refused
    # unchecked, with a page that says why and for how long; no session is made.
    neighbour = home.replace("::1", "::2")
    for address in (home, neighbour):
        response = _post(client, path, "ann", PASSWORD, address)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
        page = response.content.decode()
        assert "Logins from your address are paused" in page
        assert f"There were {LIMIT} failed logins from your address" in page
        assert "Try again in 15 minutes" in page
    assert checked == []

    # Another address logs in; a GET of the page is not refused.
    response = _post(client, path, "ann", PASSWORD, elsewhere)
    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert checked == [1]
    client.logout()
    assert client.get(path, REMOTE_ADDR=home).status_code == 200


def test_a_login_that_succeeds_does_not_count_nor_clear_the_count(client, acme, limit):
    make_supplier_user(supplier=acme, username="ann", password=PASSWORD)
    home = _address()
    for _ in range(LIMIT * 2):
        response = _post(client, "/accounts/login/", "ann", PASSWORD, home)
        assert response.status_code == 302
        client.logout()
    for index in range(LIMIT - 1):
        assert _post(client, "/accounts/login/", f"x{index}", "wrong", home).status_code == 200
        assert _post(client, "/accounts/login/", "ann", PASSWORD, home).status_code == 302
        client.logout()
    assert _post(client, "/accounts/login/", "y", "wrong", home).status_code == 200
    assert _post(client, "/accounts/login/", "ann", PASSWORD, home).status_code == 429
