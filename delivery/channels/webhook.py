"""Webhook: a POST signed with the Standard Webhooks library, through the hardened client."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from orders.documents import iso, order_document
from orders.models import OrderEventType

from ..formats.models import DeliveryFile
from ..models import DeliveryPurpose
from ..netguard import AddressRefused, http_session, http_session_shared
from .base import (
    LEASE_SHORT,
    BaseChannel,
    DeliveryFailed,
    NotSent,
    SendResult,
    delivery_order,
    lease_running_out,
    subscribed_type,
)

RESPONSE_EXCERPT_BYTES = 4096
# The `format_name` of a kept webhook body (DeliveryFile): no file format renders it.
WEBHOOK_BODY = "webhook"


def webhook_body(delivery) -> bytes:
    """The message as the order is now; `webhook_bodies` keeps the first one a row sends."""
    event = delivery.event
    order = delivery_order(delivery)
    # A destination listing only the types of before issue 12 gets a status-changing
    # shipment as the `order.updated` it was then (channels/base.py `subscribed_type`).
    destination = delivery.destination
    shown = subscribed_type(destination=destination, event=event) if destination else None
    data = order_document(order)
    if delivery.purpose == DeliveryPurpose.RETAILER_WEBHOOK:
        # The retailer matches on its own reference (also at data.retailer.reference).
        data = {"reference": order.retailer_reference, **data}
    payload = {"type": shown or event.type, "timestamp": iso(event.created_at), "data": data}
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def webhook_bodies(deliveries: list) -> dict[int, bytes]:
    """Each row's body: the one made when the row was first taken for sending, kept as its
    `DeliveryFile`. Every retry and redelivery of a row then carries the same bytes under
    the same `webhook-id`, as Standard Webhooks expects of one message (receivers dedupe on
    the id), whatever changed on the order since; files work the same way
    (delivery/formats/files.py). A later change is a later event, with its own message.

    One statement whatever the rows: each body is made and offered, and the one kept (by an
    earlier try, or by another worker just now) is what comes back.
    """
    if not deliveries:
        return {}
    meta = DeliveryFile._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    names = ("delivery", "format_name", "file_name", "content_type", "content", "created_at")
    columns = ", ".join(q(meta.get_field(name).column) for name in names)
    key, content = q(meta.get_field("delivery").column), q(meta.get_field("content").column)
    kind = q(meta.get_field("format_name").column)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list = []
    for delivery in deliveries:
        params += [delivery.pk, WEBHOOK_BODY, "", "application/json", webhook_body(delivery), now]
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(deliveries))} "
        # A no-op update, so that RETURNING gives the kept row on a conflict too.
        f"ON CONFLICT ({key}) DO UPDATE SET {kind} = {table}.{kind} "
        f"RETURNING {key}, {content}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: bytes(body) for pk, body in cursor.fetchall()}


def _read_capped(response: requests.Response) -> str:
    try:
        data = response.raw.read(RESPONSE_EXCERPT_BYTES, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - the excerpt is informative only
        data = b""
    finally:
        response.close()
    return data.decode("utf-8", errors="replace")


def webhook_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, by the Standard Webhooks library.

    The library signs text; the body is our UTF-8 JSON, so decoding and its re-encoding give
    back the same bytes.
    """
    return Webhook(secret).sign(
        msg_id=msg_id,
        timestamp=datetime.fromtimestamp(timestamp, tz=UTC),
        data=body.decode("utf-8"),
    )


def webhook_post(*, url: str, secret: str, msg_id: str, body: bytes, session=None) -> SendResult:
    """POST one signed body; raise DeliveryFailed unless the answer is 2xx."""
    if not secret:
        # Never posted unsigned: a row the admin made without one (before it refused them)
        # failed with an internal error on every try, and its test event was a 500.
        raise DeliveryFailed(
            "the webhook has no signing secret; rotate it in the portal's settings or set "
            "it with set_channel",
            retryable=False,
        )
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(
            secret=secret, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    own_session = session is None
    session = session or http_session()
    try:
        return _post(session=session, url=url, body=body, headers=headers)
    finally:
        if own_session:
            session.close()


def _post(*, session, url: str, body: bytes, headers: dict) -> SendResult:
    try:
        response = session.post(url, data=body, headers=headers, stream=True, allow_redirects=False)
    except AddressRefused as exc:
        raise DeliveryFailed(str(exc), retryable=False) from None
    except requests.Timeout:
        raise DeliveryFailed("timed out", retryable=True) from None
    except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
        # The URL itself: no retry can send it (a row saved before webhook_url_clean
        # refused such URLs); failing now tells the supplier at once.
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500], retryable=False) from None
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500], retryable=True) from None
    excerpt = _read_capped(response)
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(status_code=status, response_excerpt=excerpt)
    if status == 410:
        raise DeliveryFailed(
            "410 Gone: the receiver asked us to stop",
            retryable=False,
            status_code=status,
            response_excerpt=excerpt,
            disable_destination=True,
        )
    if 300 <= status < 400:
        message = f"{status} redirect to {response.headers.get('Location', '?')} (not followed)"
    else:
        message = f"{status} {response.reason or ''}".strip()
    raise DeliveryFailed(message, retryable=True, status_code=status, response_excerpt=excerpt)


class WebhookChannel(BaseChannel):
    name = "webhook"
    default_event_types = frozenset(OrderEventType.values)
    allowed_event_types = frozenset(OrderEventType.values)
    batched = True
    signed = True

    def identity(self, *, destination, event) -> str:
        return f"msg_{event.pk}_{destination.pk}"

    def target(self, destination) -> str:
        return destination.webhook_url

    def recipient(self, *, destination, order) -> str:
        return destination.webhook_url

    def row_timeout_seconds(self) -> float:
        return float(settings.WEBHOOK_TIMEOUT_SECONDS)

    def send(self, delivery) -> SendResult:
        destination = delivery.destination
        if destination is None or not destination.webhook_url:
            raise DeliveryFailed("the webhook destination is gone", retryable=False)
        return webhook_post(
            url=destination.webhook_url,
            secret=destination.webhook_secret,
            msg_id=delivery.identity,
            body=webhook_bodies([delivery])[delivery.pk],
            session=http_session_shared(),
        )

    def send_batch(self, deliveries: list, *, stop_at=None) -> dict:
        """One session (kept-alive connections); after a failure, that destination's rest waits."""
        results: dict = {}
        failed_destinations: set[int] = set()
        bodies = webhook_bodies([d for d in deliveries if d.destination_id is not None])
        with http_session() as session:
            for delivery in deliveries:
                destination = delivery.destination
                if lease_running_out(stop_at):
                    results[delivery.pk] = NotSent(LEASE_SHORT)
                    continue
                if delivery.destination_id in failed_destinations:
                    results[delivery.pk] = NotSent("an earlier delivery there failed just now")
                    continue
                try:
                    if destination is None or not destination.webhook_url:
                        raise DeliveryFailed("the webhook destination is gone", retryable=False)
                    results[delivery.pk] = webhook_post(
                        url=destination.webhook_url,
                        secret=destination.webhook_secret,
                        msg_id=delivery.identity,
                        body=bodies[delivery.pk],
                        session=session,
                    )
                except DeliveryFailed as exc:
                    results[delivery.pk] = exc
                    failed_destinations.add(delivery.destination_id)
        return results


@dataclass
class WebhookTestResult:
    ok: bool
    status_code: int | None
    error: str
    response_excerpt: str
    duration_ms: int


def webhook_send_test(*, destination) -> WebhookTestResult:
    """POST a signed `webhook.test` message now; nothing is stored."""
    if destination.channel != WebhookChannel.name or not destination.webhook_url:
        raise ValidationError({"channel": ["This destination is not a webhook."]})
    now = timezone.now()
    body = json.dumps(
        {
            "type": "webhook.test",
            "timestamp": iso(now),
            "data": {"supplier": destination.supplier.slug},
        },
        separators=(",", ":"),
    ).encode()
    t0 = time.monotonic()
    try:
        result = webhook_post(
            url=destination.webhook_url,
            secret=destination.webhook_secret,
            msg_id=f"msg_test_{destination.pk}_{int(now.timestamp() * 1000)}",
            body=body,
        )
        return WebhookTestResult(
            ok=True,
            status_code=result.status_code,
            error="",
            response_excerpt=result.response_excerpt,
            duration_ms=int((time.monotonic() - t0) * 1000),
        )
    except DeliveryFailed as exc:
        return WebhookTestResult(
            ok=False,
            status_code=exc.status_code,
            error=str(exc),
            response_excerpt=exc.response_excerpt,
            duration_ms=int((time.monotonic() - t0) * 1000),
        )
