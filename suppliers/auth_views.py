"""The portal's login pages beyond Django's own: the lockout page, the logout's question and
the password reset.

The lockout page says exactly what is locked: axes locks one user name from one address
(AXES_LOCKOUT_PARAMETERS), so the page names both, and how long the pause lasts. A wrong
current password on the password change page counts as a failed login of that user name
from that address, so a stolen session cannot try passwords there without limit.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render

from common.http import client_address

from .password_reset import password_reset_request


def login_username(request, credentials=None) -> str | None:
    """AXES_USERNAME_CALLABLE: the user name tried, as axes reads it, cut to the longest a
    login can have. Django's login form does not enforce that length, and axes stores the name
    in a 255-character column: a longer one made PostgreSQL refuse the write, a 500 on the
    login pages (the admin's too). No login's name is longer, so no real lockout changes."""
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials if credentials else getattr(request, "data", request.POST)
    username = source.get(field)
    if not isinstance(username, str):
        return username
    User = get_user_model()
    return username[: User._meta.get_field(User.USERNAME_FIELD).max_length]


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the page a locked-out login gets (HTTP 429)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {
            "username": get_client_username(request, credentials) or "",
            "address": client_address(request),
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_minutes": minutes,
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


class LoginView(auth_views.LoginView):
    """Django's login; a logged-in user is sent on to `next` (or ORDER HISTORY).

    A `next` that is the login page itself is no destination: Django raised ValueError
    ("Redirection loop") for a logged-in user sent there, a 500 for a link anyone can make.
    """

    redirect_authenticated_user = True

    def get_redirect_url(self):
        url = super().get_redirect_url()
        return "" if url and urlsplit(url).path == self.request.path else url


class LogoutView(auth_views.LogoutView):
    """Django's logout, by POST. A GET (the address typed or bookmarked) was a blank 405: it
    now asks, with the POST button, and one not logged in is sent to the login page. A GET
    never logs out, so no link or image on another site can end a session."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(settings.LOGIN_URL)
        return render(request, "registration/logout_confirm.html")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; a wrong current password is a failed login (axes counts it
    with the login page's failures of this user name from this address), and while that name
    is locked from this address the page refuses with the lockout page, as login does."""

    def _credentials(self) -> dict[str, str]:
        return {settings.AXES_USERNAME_FORM_FIELD: self.request.user.get_username()}

    def post(self, request, *args, **kwargs):
        credentials = self._credentials()
        if AxesProxyHandler.is_locked(request, credentials):
            # Not even checked: the right password now is refused too, nothing changes.
            return login_locked_out(request, credentials=credentials)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            # The form's POST holds passwords: AXES_SENSITIVE_PARAMETERS masks them in the
            # attempt axes stores.
            user_login_failed.send(
                sender=type(self), credentials=self._credentials(), request=self.request
            )
            if getattr(self.request, "axes_locked_out", False):
                return login_locked_out(self.request, credentials=self._credentials())
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page; the email is queued (suppliers/password_reset.py), never sent here,
    and every valid request gets the same "check your email" page, limited or not."""

    def form_valid(self, form):
        password_reset_request(
            email=form.cleaned_data["email"],
            address=client_address(self.request),
            domain=self.request.get_host(),
            use_https=self.request.is_secure(),
        )
        return HttpResponseRedirect(self.get_success_url())
