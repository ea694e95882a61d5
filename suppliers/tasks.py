"""Celery tasks of the suppliers app: thin, by name; each calls one function."""

from celery import shared_task

from .password_reset import password_reset_send


@shared_task(name="suppliers.password_reset_send", acks_late=True, ignore_result=True)
def password_reset_email(email: str, domain: str, use_https: bool) -> int:
    return password_reset_send(email=email, domain=domain, use_https=use_https)
