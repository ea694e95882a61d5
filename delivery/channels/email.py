"""Email: Django's email framework; one SMTP connection per batch; Message-ID from the row."""

from __future__ import annotations

import smtplib
import socket

from django.core.mail import get_connection

from ..emails import email_prepare, email_render
from .base import BaseChannel, DeliveryFailed, SendResult


def _failure(exc: Exception) -> DeliveryFailed:
    """Permanent SMTP refusals (5xx for every recipient) cannot be helped by a retry."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryFailed(f"recipients refused: {exc.recipients}", retryable=not permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryFailed(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
            retryable=not (500 <= exc.smtp_code < 600),
            status_code=exc.smtp_code,
        )
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout)):
        return DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True)
    raise exc


class EmailChannel(BaseChannel):
    name = "email"

    def send(self, delivery) -> SendResult:
        return self._send_all([delivery])[delivery.pk]

    def send_batch(self, deliveries: list) -> dict:
        return self._send_all(deliveries)

    def _send_all(self, deliveries: list) -> dict:
        results: dict = {}
        messages = {}
        email_prepare(deliveries)
        for delivery in deliveries:
            try:
                messages[delivery.pk] = email_render(delivery)
            except DeliveryFailed as exc:
                results[delivery.pk] = exc
        if not messages:
            return results
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001 - every delivery of the batch failed alike
            failure = _failure(exc)
            for pk in messages:
                results[pk] = failure
            return results
        try:
            for pk, message in messages.items():
                message.connection = connection
                try:
                    message.send(fail_silently=False)
                    results[pk] = SendResult()
                except Exception as exc:  # noqa: BLE001
                    results[pk] = _failure(exc)
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
        return results
