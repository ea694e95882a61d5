"""Portal password reset: limited per client address and per email, sent by a Celery task.

The request does the same work whether or not a login has the address: it counts the
request against both limits and queues one task after commit. Only the task looks the
address up and sends, so neither the response nor its timing tells whether the address is
registered. Over a limit the request queues nothing; the page is the same "check your email".
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from common.email_html import email_context, email_html_inline
from common.ratelimit import rate_parse, window_count

logger = logging.getLogger(__name__)

TASK_NAME = "suppliers.password_reset_send"


def _within(key: str, rate: str) -> bool:
    limit, seconds = rate_parse(rate)
    count, _ = window_count(key, seconds)
    return count <= limit


def password_reset_request(*, email: str, address: str, domain: str, use_https: bool) -> bool:
    """Queue the reset email for `email` (after commit) unless a limit is reached.

    Returns whether it was queued. The address is counted first; a request refused for its
    address does not use up the email's allowance.
    """
    if not _within(f"pwreset:addr:{address}", settings.PASSWORD_RESET_ADDRESS_RATE):
        logger.info("password reset refused: address over PASSWORD_RESET_ADDRESS_RATE")
        return False
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    if not _within(f"pwreset:email:{digest}", settings.PASSWORD_RESET_EMAIL_RATE):
        logger.info("password reset refused: email over PASSWORD_RESET_EMAIL_RATE")
        return False
    args = [email, domain, use_https]
    transaction.on_commit(lambda: _publish(args))
    return True


def _publish(args: list) -> None:
    """Send the task by name; log instead of raising when the broker cannot take it."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        from . import tasks  # noqa: F401  (registers the task in this process)

        current_app.tasks[TASK_NAME].apply(args=args)
        return
    try:
        current_app.send_task(TASK_NAME, args=args, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the user may ask again
        logger.warning("could not queue the password reset email: %r", exc)


def _same_address(one: str, other: str) -> bool:
    """As Django's reset form compares them: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", one).casefold() == (
        unicodedata.normalize("NFKC", other).casefold()
    )


class _ResetForm(PasswordResetForm):
    """Django's form, whose email is text and HTML in the emails' layout, CSS inlined."""

    def get_users(self, email):
        """Django's (active logins with a usable password), and also an active login made
        without a password that has never logged in: `create_supplier_user` without
        --password, whose user sets the first one here (Django's form skips every unusable
        password, so no link ever came). A password disabled after use stays disabled."""
        yield from super().get_users(email)
        User = get_user_model()
        field = User.get_email_field_name()
        first_timers = User._default_manager.filter(
            **{f"{field}__iexact": email, "is_active": True, "last_login__isnull": True}
        )
        for user in first_timers:
            if not user.has_usable_password() and _same_address(email, getattr(user, field)):
                yield user

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        context = email_context() | context
        subject = " ".join(render_to_string(subject_template_name, context).split())
        message = EmailMultiAlternatives(
            subject, render_to_string(email_template_name, context), from_email, [to_email]
        )
        if html_email_template_name is not None:
            html = email_html_inline(render_to_string(html_email_template_name, context))
            message.attach_alternative(html, "text/html")
        try:
            message.send()
        except Exception:  # noqa: BLE001 - as Django's own form: logged, the user may ask again
            logger.exception("Failed to send password reset email to %s", context["user"].pk)


def password_reset_send(*, email: str, domain: str, use_https: bool) -> int:
    """Email a reset link to each active login with this address; return how many were sent.

    The link is built from SITE_URL, never from the request's Host header (which a client
    chooses); `domain` and `use_https` are kept for tasks queued before that.
    """
    form = _ResetForm({"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    if not users:
        return 0
    form.save(
        domain_override=domain,
        use_https=use_https,
        email_template_name="registration/password_reset_email.txt",
        html_email_template_name="registration/password_reset_email.html",
    )
    return len(users)
