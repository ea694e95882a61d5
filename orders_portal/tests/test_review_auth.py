"""Review of authentication, sessions and credentials: each test here failed before its fix."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.utils import get_random_secret_key

from suppliers.models import SupplierMembership
from testsupport.factories import make_supplier_user

BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="


@pytest.fixture
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


# --- A login made without a password sets its first one by password reset ------------------


def test_a_user_created_without_a_password_gets_a_reset_link_and_sets_one(
    client,
    acme,
    email_via_smtp,
    tasks_inline,
    settings,
    _fresh_limits,
    django_capture_on_commit_callbacks,
):
    """README: `create_supplier_user SLUG USERNAME --email E` without --password: "the user
    sets one by password reset". Django's reset form skips a login whose password is
    unusable, so no email ever came and the new user could never log in."""
    settings.SITE_URL = "http://testserver"
    call_command("create_supplier_user", acme.slug, "newbie", "--email", "newbie@acme.example")
    membership = SupplierMembership.objects.select_related("user").get(user__username="newbie")
    assert not membership.user.has_usable_password()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": "newbie@acme.example"})
    assert response.status_code == 302

    (message,) = email_via_smtp.wait_for(1)
    assert message.rcpt_tos == ["newbie@acme.example"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body("plain")).group(1)
    form_page = client.get(link, follow=True)
    assert "Set a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "An0ther-Long-Pass", "new_password2": "An0ther-Long-Pass"},
    )
    assert response.status_code == 302
    response = client.post(LOGIN, {"username": "newbie", "password": "An0ther-Long-Pass"})
    assert response.status_code == 302 and response["Location"] == "/orders/"


def test_a_login_whose_password_was_disabled_after_use_gets_no_reset_link(
    client,
    acme,
    email_via_smtp,
    tasks_inline,
    _fresh_limits,
    django_capture_on_commit_callbacks,
):
    """The other side: a login that has logged in and whose password ops then disabled
    (admin's "password-based authentication: disabled") stays disabled."""
    user = make_supplier_user(supplier=acme, username="gone")
    response = client.post(LOGIN, {"username": "gone", "password": "Corr3ct-Horse-Battery"})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    user.refresh_from_db()
    user.set_unusable_password()
    user.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/accounts/password_reset/", {"email": user.email})
    assert len(callbacks) == 1  # the task ran, and sent nothing
    assert response.status_code == 302
    assert email_via_smtp.messages == [] and mail.outbox == []


# --- The login page, asked by a logged-in user to come back to itself ---------------------


@pytest.mark.parametrize("next_url", ["/accounts/login/", "/accounts/login/?next=/accounts/login/"])
def test_a_logged_in_user_sent_to_the_login_page_with_next_pointing_at_it_lands_on_orders(
    client, acme, next_url
):
    """`redirect_authenticated_user` raised ValueError ("Redirection loop ...") for a logged-in
    user whose `?next=` is the login page itself: a 500 for a link anyone can send."""
    make_supplier_user(supplier=acme, username="sam")
    response = client.post(LOGIN, {"username": "sam", "password": "Corr3ct-Horse-Battery"})
    assert response.status_code == 302
    response = client.get(LOGIN, {"next": next_url}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/orders/"
    assert "ORDER HISTORY" in response.content.decode().upper()


# --- Production's encryption key: the development key is refused however it is written ---


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "field_key",
    [
        f" {DEV_FIELD_KEY}",  # the development key alone, as the key that encrypts
        f"{DEV_FIELD_KEY} ",
        "{real}, " + DEV_FIELD_KEY,  # "NEW, OLD" as rotation is often written
    ],
)
def test_production_refuses_the_development_field_key_written_with_spaces(tmp_path, field_key):
    """Production refused FIELD_ENCRYPTION_KEY=DEV but took ' DEV' or 'REAL, DEV': the check
    compared the unstripped parts, while the field encryption strips them, so the secrets
    stored at rest were encrypted (or readable) with the key published in the source."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "orders_portal.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "orders.example.com",
        "SECRET_KEY": get_random_secret_key(),
        "FIELD_ENCRYPTION_KEY": field_key.replace("{real}", Fernet.generate_key().decode()),
    }
    code = (
        "import django; django.setup(); from delivery.fields import encrypt; "
        "print(encrypt('sftp-password'))"
    )
    result = _python(code, env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "FIELD_ENCRYPTION_KEY" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "var").exists()


# --- A login attempt with a user name longer than any login's -----------------------------


@pytest.mark.parametrize("page", [LOGIN, "/admin/login/"])
def test_a_login_with_a_300_character_user_name_is_refused_as_a_wrong_login(client, acme, page):
    """Django's login form does not enforce the user name's length, so the name reached
    axes, which stored it in a 255-character column: PostgreSQL refused it (DataError) and
    the login page (the portal's and the admin's) answered 500. Now it is a wrong login, and
    counted: the same name from the same address is locked after AXES_FAILURE_LIMIT."""
    from axes.models import AccessAttempt
    from django.conf import settings

    name = "a" * 300
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(page, {"username": name, "password": "wrong"})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
    assert "correct username and password" in response.content.decode()
    response = client.post(page, {"username": name, "password": "wrong"})
    assert response.status_code == 429
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT
