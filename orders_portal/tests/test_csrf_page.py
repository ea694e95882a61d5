"""A refused form (CSRF) gets the portal's page saying why and what to do.

In production the cookies are https-only; a portal opened over plain http (a new deployment
without TLS, a proxy that drops X-Forwarded-Proto) kept no cookie, so signing in was refused
by Django's bare "CSRF verification failed" page, which looked like a broken login. The test
client stands in for a browser that kept no cookie: it sends the form without fetching the
page first (Chromium keeps Secure cookies on 127.0.0.1, so a real browser here would not
show the case).
"""

import pytest
from django.test import Client

from testsupport.browser import PASSWORD
from testsupport.htmlcheck import vnu_errors

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture
def https_only_cookies(settings):
    settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_SECURE = True


def _sign_in(secure: bool):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        LOGIN,
        {"username": "ann", "password": PASSWORD},
        secure=secure,
        HTTP_HOST="portal.example.com",
    )
    return browser, response


@pytest.mark.usefixtures("https_only_cookies")
def test_signing_in_over_plain_http_says_to_use_https_and_signs_nobody_in(ann, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    browser, response = _sign_in(secure=False)

    assert response.status_code == 403
    page = response.content.decode()
    assert "Form not accepted" in page and "over plain <code>http</code>" in page
    assert 'href="https://portal.example.com/accounts/login/"' in page
    assert "CSRF verification failed" not in page
    assert "_auth_user_id" not in browser.session
    assert browser.get("/orders/", HTTP_HOST="portal.example.com").status_code == 302


@pytest.mark.usefixtures("https_only_cookies")
def test_a_form_without_its_check_over_https_says_reload_and_try_again(ann, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    browser, response = _sign_in(secure=True)

    assert response.status_code == 403
    page = response.content.decode()
    assert "reload the page and send the form again" in page
    assert "plain <code>http</code>" not in page
    assert "_auth_user_id" not in browser.session


@pytest.mark.usefixtures("https_only_cookies")
def test_both_refusal_pages_are_valid_html(ann, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    pages = {f"secure={secure}": _sign_in(secure=secure)[1] for secure in (False, True)}
    assert vnu_errors({name: r.content.decode() for name, r in pages.items()}) == []


@pytest.mark.usefixtures("https_only_cookies")
def test_the_https_link_opens_the_page_the_form_was_on(ann, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/accounts/logout/",
        HTTP_HOST="portal.example.com",
        HTTP_REFERER="http://portal.example.com/orders/?status=placed",
    )
    assert response.status_code == 403
    assert 'href="https://portal.example.com/orders/?status=placed"' in response.content.decode()
