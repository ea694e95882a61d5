"""Login lockout is per user name AND address: nobody can lock everyone (or someone else) out."""

import pytest
from django.conf import settings

from testsupport.factories import make_supplier_user

PASSWORD = "Corr3ct-Horse-Battery"
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"


@pytest.fixture
def bea(acme):
    return make_supplier_user(supplier=acme, username="bea")


def _login(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def _logs_in(client, username, **extra) -> bool:
    response = _login(client, username, PASSWORD, **extra)
    logged_in = response.status_code == 302 and "_auth_user_id" in client.session
    client.logout()
    return logged_in


def _fail_until_locked(client, username, **extra):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, username, "wrong", **extra).status_code == 200
    response = _login(client, username, "wrong", **extra)
    assert response.status_code == 429
    return response


def test_failures_on_unknown_names_from_one_address_lock_no_known_user_out(client, ann):
    for index in range(settings.AXES_FAILURE_LIMIT * 2):
        response = _login(client, f"nobody{index}", "wrong", REMOTE_ADDR=HOME)
        assert response.status_code == 200
    # Even with many failures on one unknown name, from the same address.
    _fail_until_locked(client, "nobody", REMOTE_ADDR=HOME)
    assert _logs_in(client, "ann", REMOTE_ADDR=HOME)


def test_a_known_user_is_locked_from_that_address_only(client, ann, bea):
    page = _fail_until_locked(client, "ann", REMOTE_ADDR=HOME).content.decode()
    # The page tells which account is locked, from where, and for how long.
    assert "Login locked for now" in page
    assert "<strong>ann</strong>" in page and HOME in page
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert "Other user names, and this user name from other addresses" in page

    # The right password from that address is refused, and no session is made.
    response = _login(client, "ann", PASSWORD, REMOTE_ADDR=HOME)
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    # The same user from another address, and another user from that address, log in.
    assert _logs_in(client, "ann", REMOTE_ADDR=ELSEWHERE)
    assert _logs_in(client, "bea", REMOTE_ADDR=HOME)


def test_without_proxies_a_forwarded_for_header_is_ignored(client, ann):
    # PROXY_COUNT is 0: the header is the client's own say, so changing it changes nothing.
    for index in range(settings.AXES_FAILURE_LIMIT - 1):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"192.0.2.{index}"}
        assert _login(client, "ann", "wrong", REMOTE_ADDR=HOME, **forwarded).status_code == 200
    response = _login(client, "ann", "wrong", REMOTE_ADDR=HOME, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429
    assert not _logs_in(client, "ann", REMOTE_ADDR=HOME, HTTP_X_FORWARDED_FOR="192.0.2.100")


def test_behind_one_proxy_the_forwarded_address_is_the_clients(client, ann, settings):
    settings.PROXY_COUNT = 1
    proxy = "192.0.2.250"
    # What the client put in the header itself (left of our proxy's entry) is not trusted.
    spoofed = f"192.0.2.1, {HOME}"
    page = _fail_until_locked(
        client, "ann", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=spoofed
    ).content.decode()
    assert HOME in page and proxy not in page
    assert not _logs_in(client, "ann", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=HOME)
    # Another client behind the same proxy is another address: not locked.
    assert _logs_in(client, "ann", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "192.0.2.1", "198.51.100.7"),
        (1, "192.0.2.250", "192.0.2.1", "192.0.2.1"),
        (1, "192.0.2.250", "203.0.113.66, 192.0.2.1", "192.0.2.1"),
        (2, "192.0.2.250", "203.0.113.66, 192.0.2.1, 192.0.2.251", "192.0.2.1"),
        (2, "192.0.2.250", "192.0.2.1", "192.0.2.250"),  # fewer hops than proxies: not trusted
        (1, "192.0.2.250", "not-an-address", "192.0.2.250"),
        (1, "192.0.2.250", "", "192.0.2.250"),
        (1, "192.0.2.250", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_address(rf, settings, count, remote, forwarded, expected):
    from common.http import client_address

    settings.PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
