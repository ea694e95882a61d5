"""A wrong current password on /accounts/password_change/ counts as a failed login: a stolen
session cannot try passwords there without limit, and the lockout is the login's own."""

from axes.models import AccessAttempt
from django.conf import settings

from testsupport.factories import make_supplier_user

from .test_login_lockout import ELSEWHERE, HOME, PASSWORD, _login, _logs_in

NEW = "Brand-New-Pass-42"


def _change(client, old: str, new: str = NEW, **extra):
    return client.post(
        "/accounts/password_change/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        **extra,
    )


def _password_is_still_the_old_one(user) -> bool:
    user.refresh_from_db()
    return user.check_password(PASSWORD) and not user.check_password(NEW)


def test_wrong_current_passwords_lock_the_page_and_the_login(ann_client, ann, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _change(ann_client, "wrong", REMOTE_ADDR=HOME)
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.content.decode()
    response = _change(ann_client, "wrong", REMOTE_ADDR=HOME)
    assert response.status_code == 429
    page = response.content.decode()
    assert "<strong>ann</strong>" in page and HOME in page
    assert "changing it" in page

    # Now even the right current password is refused there, and nothing changes.
    response = _change(ann_client, PASSWORD, REMOTE_ADDR=HOME)
    assert response.status_code == 429
    assert _password_is_still_the_old_one(ann)
    # The session is kept (it was not the attempt), but logging in from there is locked too;
    # from another address it is not.
    client.logout()
    assert _login(client, "ann", PASSWORD, REMOTE_ADDR=HOME).status_code == 429
    assert _logs_in(client, "ann", REMOTE_ADDR=ELSEWHERE)


def test_failures_on_either_page_add_up(ann_client, ann, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _change(ann_client, "wrong", REMOTE_ADDR=HOME).status_code == 200
    other = type(client)()
    assert _login(other, "ann", "wrong", REMOTE_ADDR=HOME).status_code == 429
    assert _change(ann_client, PASSWORD, REMOTE_ADDR=HOME).status_code == 429
    assert _password_is_still_the_old_one(ann)


def test_other_errors_of_the_form_are_not_failures(ann_client, ann):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = ann_client.post(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": "other"},
            REMOTE_ADDR=HOME,
        )
        assert response.status_code == 200
    assert not AccessAttempt.objects.exists()
    assert _change(ann_client, PASSWORD, REMOTE_ADDR=HOME).status_code == 302
    ann.refresh_from_db()
    assert ann.check_password(NEW)


def test_the_failures_stored_do_not_hold_the_passwords(ann_client):
    secret_old, secret_new = "Wrong-Guess-1234", "Never-Stored-5678"
    _change(ann_client, secret_old, new=secret_new, REMOTE_ADDR=HOME)
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.username == "ann" and attempt.failures_since_start == 1
    assert secret_old not in attempt.post_data and secret_new not in attempt.post_data
    assert "old_password=" in attempt.post_data


def test_the_admins_password_change_counts_too(client, acme):
    staff = make_supplier_user(supplier=acme, username="ops")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    assert client.get("/admin/password_change/").status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/admin/password_change/",
            {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
            REMOTE_ADDR=HOME,
        )
        assert response.status_code == 200
    response = client.post(
        "/admin/password_change/",
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR=HOME,
    )
    assert response.status_code == 429 and "<strong>ops</strong>" in response.content.decode()
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR=HOME,
    )
    assert response.status_code == 429
    assert _password_is_still_the_old_one(staff)
    # From another address the right one still works, and lands on the admin's done page.
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        REMOTE_ADDR=ELSEWHERE,
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/password_change/done/"
    staff.refresh_from_db()
    assert staff.check_password(NEW)


def test_the_admins_password_change_needs_a_staff_login(client, ann):
    client.force_login(ann)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert _password_is_still_the_old_one(ann)
