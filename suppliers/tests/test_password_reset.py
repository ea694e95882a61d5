"""Portal password reset: the email goes out from a task, to a real SMTP server; the request
itself sends nothing and looks the same for a known address, an unknown one, and over a limit."""

import re
import time

import pytest
from django.core import mail
from django.core.cache import cache

from suppliers.password_reset import password_reset_send
from testsupport.processes import celery_broker_down

PAGE = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """The limits count in the shared cache (Redis in CI): each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


def _ask(client, capture, email, **extra):
    """POST the form; return the response and the callbacks it left for after commit."""
    with capture(execute=False) as callbacks:
        response = client.post(PAGE, {"email": email}, **extra)
    return response, callbacks


def _assert_check_your_email(response):
    assert response.status_code == 302 and response["Location"] == DONE


def test_a_known_address_gets_a_link_from_the_task_that_sets_a_new_password(
    client, ann, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "http://testserver"
    response, callbacks = _ask(client, django_capture_on_commit_callbacks, ann.email)
    _assert_check_your_email(response)
    # The request sent nothing itself: it left one task to queue after commit.
    assert len(callbacks) == 1
    assert mail.outbox == [] and email_via_smtp.messages == []

    callbacks[0]()  # commit: the task runs (eagerly here) and sends
    (message,) = email_via_smtp.wait_for(1)
    assert message.rcpt_tos == [ann.email]
    assert message.subject == "Reset your Orders portal password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body("plain")).group(1)
    form_page = client.get(link, follow=True)
    assert "Set a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "An0ther-Long-Pass", "new_password2": "An0ther-Long-Pass"},
    )
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.check_password("An0ther-Long-Pass")


def test_an_unknown_address_does_the_same_work_and_sends_nothing(
    client, ann, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    response, callbacks = _ask(client, django_capture_on_commit_callbacks, "nobody@example.com")
    _assert_check_your_email(response)
    assert len(callbacks) == 1  # a task is queued, as for a known address
    callbacks[0]()
    assert password_reset_send(email="nobody@example.com", domain="testserver", use_https=True) == 0
    assert email_via_smtp.messages == [] and mail.outbox == []


def test_over_the_email_limit_the_page_is_the_same_and_nothing_is_sent(
    client, ann, settings, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_EMAIL_RATE = "3/hour"
    settings.PASSWORD_RESET_ADDRESS_RATE = "100/hour"
    queued = []
    for index in range(5):
        # From different addresses: only the per-email limit applies.
        response, callbacks = _ask(
            client, django_capture_on_commit_callbacks, ann.email, REMOTE_ADDR=f"192.0.2.{index}"
        )
        _assert_check_your_email(response)
        queued.append(len(callbacks))
    assert queued == [1, 1, 1, 0, 0]
    assert email_via_smtp.messages == [] and mail.outbox == []


def test_over_the_address_limit_the_page_is_the_same_and_nothing_is_sent(
    client, ann, settings, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_ADDRESS_RATE = "5/hour"
    settings.PASSWORD_RESET_EMAIL_RATE = "100/hour"
    queued = []
    for index in range(6):
        response, callbacks = _ask(
            client, django_capture_on_commit_callbacks, f"someone{index}@example.com"
        )
        _assert_check_your_email(response)
        queued.append(len(callbacks))
    assert queued == [1, 1, 1, 1, 1, 0]
    # The known address from that address is refused too now; from another it is not.
    response, callbacks = _ask(client, django_capture_on_commit_callbacks, ann.email)
    _assert_check_your_email(response)
    assert callbacks == []
    response, callbacks = _ask(
        client, django_capture_on_commit_callbacks, ann.email, REMOTE_ADDR="198.51.100.20"
    )
    assert len(callbacks) == 1
    callbacks[0]()
    (message,) = email_via_smtp.wait_for(1)
    assert message.rcpt_tos == [ann.email]


def test_a_bad_address_is_the_forms_error_and_queues_nothing(
    client, db, django_capture_on_commit_callbacks
):
    for bad in ["not-an-address", "a\x00b@example.com"]:
        response, callbacks = _ask(client, django_capture_on_commit_callbacks, bad)
        assert response.status_code == 200 and callbacks == []


def test_with_the_broker_unreachable_the_page_still_answers_at_once_and_sends_nothing(
    client, ann, email_via_smtp, django_capture_on_commit_callbacks, caplog
):
    # A real broker that is down: a Redis URL on a loopback port nothing listens on.
    with celery_broker_down():
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(PAGE, {"email": ann.email})
        elapsed = time.monotonic() - started
    _assert_check_your_email(response)
    assert len(callbacks) == 1  # it tried to queue, failed, logged, and answered anyway
    assert elapsed < 5
    assert "could not queue the password reset email" in caplog.text
    assert email_via_smtp.messages == [] and mail.outbox == []


def test_the_reset_email_has_an_html_part_whose_link_is_built_from_site_url(
    client, ann, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks, settings
):
    """The link comes from SITE_URL, not from the Host header the client sent."""
    from testsupport.htmlcheck import links_of

    settings.SITE_URL = "https://orders.example.test/"
    settings.PLATFORM_NAME = "Dropship Hub"
    settings.ALLOWED_HOSTS = ["*"]
    response, callbacks = _ask(
        client, django_capture_on_commit_callbacks, ann.email, HTTP_HOST="evil.example"
    )
    _assert_check_your_email(response)
    callbacks[0]()
    (message,) = email_via_smtp.wait_for(1)
    assert message.subject == "Reset your Dropship Hub password"
    html, text = message.body("html"), message.body("plain")
    assert "evil.example" not in html + text
    (link,) = re.findall(r"https://orders\.example\.test/accounts/reset/\S+/", text)
    hrefs = links_of(html)
    assert link in hrefs and all(h.startswith("https://orders.example.test/") for h in hrefs)
    assert "Choose a new password" in html and "Dropship Hub" in html and "ann" in html
    assert (
        client.get(link.removeprefix("https://orders.example.test"), follow=True).status_code == 200
    )
