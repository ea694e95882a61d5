"""Email: Django's email framework; one SMTP connection per batch; Message-ID from the row."""

from __future__ import annotations

import logging
import smtplib
import socket

from django.conf import settings
from django.core.mail import get_connection

from orders.models import OrderEventType

from ..emails import email_domain, email_prepare, email_render
from .base import (
    CANCELLATION_EVENT_TYPES,
    LEASE_SHORT,
    BaseChannel,
    DeliveryFailed,
    NotSent,
    SendResult,
    lease_running_out,
)

logger = logging.getLogger(__name__)


def _failure(exc: Exception) -> DeliveryFailed:
    """Permanent SMTP refusals of the message (5xx for every recipient, or for its content)
    cannot be helped by a retry. A 5xx refusal of us (our sender, our credentials, our
    greeting: a relay whose password was rotated answers 530 or 535) is the relay's setup,
    not the message's, and is retried: once the setup is mended the message goes (found in
    review: a retailer's cancellation email failed for good on one such try)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryFailed(f"recipients refused: {exc.recipients}", retryable=not permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        of_message = isinstance(exc, smtplib.SMTPDataError)
        return DeliveryFailed(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
            retryable=not (of_message and 500 <= exc.smtp_code < 600),
            status_code=exc.smtp_code,
        )
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout)):
        return DeliveryFailed(f"{type(exc).__name__}: {exc}", retryable=True)
    raise exc


def _unexpected(exc: Exception, *, delivery_id) -> DeliveryFailed:
    """A bug or an unforeseen error while rendering or sending one message: that row fails
    (retried, and logged with its traceback); the batch's other rows keep their own outcome.
    Before, it left the batch, and every row of it, those the server had already taken
    included, was marked failed and mailed again on the retry (found in review)."""
    logger.exception("email: unexpected error for delivery %s", delivery_id)
    return DeliveryFailed(f"internal error: {type(exc).__name__}: {exc}"[:500])


def _smtp_reset(connection) -> None:
    """After an unforeseen error the SMTP transaction may be half open (MAIL FROM sent, no
    DATA): RSET it, so the next message of the batch starts clean. A connection that cannot
    even do that fails the next message with an SMTP error of its own."""
    smtp = getattr(connection, "connection", None)
    if smtp is None:
        return
    try:
        smtp.rset()
    except Exception:  # noqa: BLE001, S110 - the next send says what is wrong
        pass


class _Answer:
    """What the SMTP server said to the latest message the connection sent: the envelope's
    recipients as smtplib got them, and those it refused among accepted ones."""

    def __init__(self) -> None:
        self.sent_to: list[str] = []
        self.refused: dict = {}

    def clear(self) -> None:
        self.sent_to, self.refused = [], {}

    def accepted(self, envelope: list[str]) -> list[str]:
        """The addresses of `envelope` (as the delivery names them) the server took; none
        when the envelope sent is not the one asked for (then a retry sends to all again)."""
        if len(self.sent_to) != len(envelope):
            return []
        return [mine for mine, sent in zip(envelope, self.sent_to) if sent not in self.refused]


def _answers_recorded(connection) -> _Answer:
    """Keep what the SMTP server refused of each message the connection sends.

    smtplib's sendmail returns the recipients refused while others were accepted, and
    Django's backend drops that answer: a delivery one of whose addresses never got it was
    marked delivered and nobody learned of it (found in review). The answer returned holds
    the latest message's envelope and refusals ({address: (code, reply)})."""
    answer = _Answer()
    smtp = getattr(connection, "connection", None)
    if isinstance(smtp, smtplib.SMTP):
        sendmail = smtp.sendmail

        def recording(from_addr, to_addrs, *args, **kwargs):
            answer.sent_to = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
            refused = sendmail(from_addr, to_addrs, *args, **kwargs)
            answer.refused.update(refused or {})
            return refused

        smtp.sendmail = recording
    return answer


def _partly_refused(refused: dict, *, accepted: list[str]) -> DeliveryFailed:
    """Some recipients took the message, these did not: a failure of the delivery, retried
    unless every refusal is permanent (5xx), as for a message every recipient refused.
    `accepted`: every address that has it now, which the next try leaves out."""
    failure = _failure(smtplib.SMTPRecipientsRefused(refused))
    failure.args = (f"partly delivered; {failure.args[0]}",)
    failure.accepted = accepted
    return failure


def _envelope_without(message, accepted: list[str]) -> list[str]:
    """Send the message to the addresses not yet accepted only, the message itself unchanged
    (its To and Cc still name everyone, its Message-ID is the row's): a retry of an email
    that some addresses took gave them a second copy (found in review). Django's backend
    takes the envelope from `recipients()`. Addresses compare in any case: one retyped in
    capitals after a try (the same mailbox) got a second copy."""
    taken = {address.strip().casefold() for address in accepted}
    envelope = [
        address for address in message.recipients() if address.strip().casefold() not in taken
    ]
    message.recipients = lambda: list(envelope)
    return envelope


def email_identity(*, key: str) -> str:
    """A Message-ID on our own domain; `key` makes it the row's for good."""
    return f"<{key}@{email_domain()}>"


class EmailChannel(BaseChannel):
    name = "email"
    default_event_types = frozenset({OrderEventType.CREATED})
    # An edit of an order, or a shipment the supplier made, is not mailed: the supplier works
    # from the first email and the portal.
    allowed_event_types = frozenset(
        set(OrderEventType.values) - {OrderEventType.UPDATED, OrderEventType.SHIPMENT_CREATED}
    )
    batched = True

    def wants(self, *, destination, event, cancelled_by_supplier: bool) -> bool:
        if super().wants(
            destination=destination, event=event, cancelled_by_supplier=cancelled_by_supplier
        ):
            return True
        # A cancellation, whole or partial, the supplier did not make itself (ops, the
        # retailer): tell it.
        return (
            not destination.event_types
            and event.type in CANCELLATION_EVENT_TYPES
            and not cancelled_by_supplier
        )

    def identity(self, *, destination, event) -> str:
        return email_identity(key=f"order-event-{event.pk}.d{destination.pk}")

    def target(self, destination) -> str:
        return destination.email_addresses

    def recipient(self, *, destination, order) -> str:
        return destination.email_addresses or order.supplier.order_emails

    def row_timeout_seconds(self) -> float:
        return float(settings.EMAIL_TIMEOUT or 60)

    def send(self, delivery) -> SendResult:
        return self._send_all([delivery])[delivery.pk]

    def send_batch(self, deliveries: list, *, stop_at=None) -> dict:
        return self._send_all(deliveries, stop_at=stop_at)

    def _send_all(self, deliveries: list, *, stop_at=None) -> dict:
        results: dict = {}
        messages = {}
        email_prepare(deliveries)
        for delivery in deliveries:
            try:
                messages[delivery.pk] = email_render(delivery)
            except DeliveryFailed as exc:
                results[delivery.pk] = exc
            except Exception as exc:  # noqa: BLE001 - this row's, not the batch's
                results[delivery.pk] = _unexpected(exc, delivery_id=delivery.pk)
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
        answer = _answers_recorded(connection)
        accepted_before = {d.pk: list(d.accepted_recipients or []) for d in deliveries}
        try:
            for pk, message in messages.items():
                if lease_running_out(stop_at):
                    results[pk] = NotSent(LEASE_SHORT)
                    continue
                envelope = _envelope_without(message, accepted_before[pk])
                if not envelope:  # every address took it on an earlier try
                    results[pk] = SendResult()
                    continue
                message.connection = connection
                answer.clear()
                try:
                    message.send(fail_silently=False)
                except smtplib.SMTPRecipientsRefused as exc:
                    # Every address tried refused it; those of an earlier try still have it.
                    results[pk] = (
                        _partly_refused(exc.recipients, accepted=accepted_before[pk])
                        if accepted_before[pk]
                        else _failure(exc)
                    )
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    results[pk] = _failure(exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - this row's, not the batch's
                    results[pk] = _unexpected(exc, delivery_id=pk)
                    _smtp_reset(connection)
                    continue
                if answer.refused:
                    accepted = accepted_before[pk] + answer.accepted(envelope)
                    results[pk] = _partly_refused(dict(answer.refused), accepted=accepted)
                else:
                    results[pk] = SendResult()
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
        return results
