"""Every write of the delivery app: destinations, onboarding, sending, retrying, redelivering."""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import paramiko
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from orders.documents import iso
from orders.models import OrderEventType, OrderLine
from suppliers.models import Supplier
from suppliers.services import emails_clean, supplier_create

from .channels import DeliveryFailed, SendResult, channel_get
from .channels.base import NotSent
from .db import bookkeeping_atomic
from .dispatcher import email_identity, events_dispatch, events_dispatch_pending
from .models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
    Destination,
    FileFormat,
    MonthlySummary,
)
from .queue import deliveries_queue, task_publish
from .signing import webhook_secret_clean, webhook_secret_generate

logger = logging.getLogger(__name__)

RESPONSE_EXCERPT_CHARS = 4096


# --- Suppliers and destinations ------------------------------------------------------------


@transaction.atomic
def supplier_onboard(*, slug: str, name: str, order_emails: str) -> Supplier:
    """A new supplier with its email channel on, in one transaction."""
    supplier = supplier_create(slug=slug, name=name, order_emails=order_emails)
    destination = Destination(
        supplier=supplier,
        channel=Channel.EMAIL,
        enabled=True,
        email_addresses=supplier.order_emails,
    )
    destination.full_clean()
    destination.save()
    return supplier


def destination_email_ensure(*, supplier: Supplier) -> Destination:
    """The supplier's email destination, made (on, to its order emails) if it is missing.

    Suppliers made by `supplier_onboard` have it already; this covers ones made otherwise.
    """
    destination, _ = Destination.objects.get_or_create(
        supplier=supplier,
        channel=Channel.EMAIL,
        defaults={"email_addresses": supplier.order_emails, "enabled": True},
    )
    return destination


def _destination_for_update(*, supplier: Supplier, channel: str) -> Destination:
    destination = (
        Destination.objects.select_for_update().filter(supplier=supplier, channel=channel).first()
    )
    return destination or Destination(supplier=supplier, channel=channel)


def _event_types_clean(event_types) -> list[str]:
    if not event_types:
        return []
    if isinstance(event_types, str):
        event_types = [t.strip() for t in event_types.split(",") if t.strip()]
    unknown = sorted(set(event_types) - set(OrderEventType.values))
    if unknown:
        raise ValidationError(
            {
                "event_types": [
                    f"Unknown event type {', '.join(unknown)}; use "
                    + ", ".join(OrderEventType.values)
                    + "."
                ]
            }
        )
    return sorted(set(event_types))


def _save(destination: Destination) -> Destination:
    # The URL was checked by webhook_url_clean, which also takes numeric hosts (2130706433):
    # where a URL may point is decided when connecting, by netguard.
    destination.full_clean(exclude=["webhook_url"], validate_unique=False)
    destination.save()
    return destination


@transaction.atomic
def destination_set_email(*, supplier: Supplier, addresses) -> Destination:
    if isinstance(addresses, (list, tuple)):
        addresses = ",".join(addresses)
    cleaned = emails_clean(value=addresses or "", field="to")
    destination = _destination_for_update(supplier=supplier, channel=Channel.EMAIL)
    destination.email_addresses = cleaned
    destination.enabled = True
    destination.disabled_reason = ""
    return _save(destination)


def webhook_url_clean(url: str) -> str:
    """An http(s) URL with a host. Where it may point is checked when connecting (netguard)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or any(c.isspace() for c in url)
    ):
        raise ValidationError({"url": [f"'{url}' is not a valid http(s) URL."]})
    return url


@transaction.atomic
def destination_set_webhook(
    *, supplier: Supplier, url: str, secret: str | None = None, event_types=None
) -> tuple[Destination, str | None]:
    """Turn the webhook on; return it and the secret when one was generated (shown once)."""
    url = webhook_url_clean(url)
    if len(url) > 2000:
        raise ValidationError({"url": ["The URL is longer than 2000 characters."]})
    types = _event_types_clean(event_types)
    destination = _destination_for_update(supplier=supplier, channel=Channel.WEBHOOK)
    generated = None
    if secret:
        destination.webhook_secret = webhook_secret_clean(value=secret, field="secret")
    elif not destination.webhook_secret:
        generated = webhook_secret_generate()
        destination.webhook_secret = generated
    destination.webhook_url = url
    destination.event_types = types
    destination.enabled = True
    destination.disabled_reason = ""
    return _save(destination), generated


@transaction.atomic
def webhook_secret_rotate(*, destination: Destination) -> str:
    """A new secret, effective at once; returned to be shown once."""
    if destination.channel != Channel.WEBHOOK:
        raise ValidationError({"channel": ["Only a webhook has a signing secret."]})
    secret = webhook_secret_generate()
    Destination.objects.filter(pk=destination.pk).update(
        webhook_secret=secret,  # encrypted by the field
        updated_at=timezone.now(),
    )
    destination.webhook_secret = secret
    return secret


def sftp_host_key_clean(value: str) -> str:
    """'TYPE BASE64' (as in known_hosts, without the host name), parsed by paramiko."""
    parts = (value or "").split()
    if len(parts) < 2:
        raise ValidationError({"host_key": ['Give the server key as "TYPE BASE64".']})
    key_type, data = parts[0], parts[1]
    try:
        blob = base64.b64decode(data, validate=True)
        key = paramiko.PKey.from_type_string(key_type, blob)
    except (binascii.Error, ValueError, paramiko.SSHException, TypeError) as exc:
        raise ValidationError({"host_key": [f"Not a valid SSH public key: {exc}"]})
    return f"{key.get_name()} {key.get_base64()}"


def sftp_private_key_clean(value: str) -> str:
    text = (value or "").strip()
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            key_class.from_private_key(io.StringIO(text))
            return text + "\n"
        except paramiko.PasswordRequiredException:
            raise ValidationError(
                {"private_key": ["The private key is encrypted; give one without a passphrase."]}
            )
        except (paramiko.SSHException, ValueError, IndexError, TypeError):
            continue
    raise ValidationError(
        {"private_key": ["Not a private key paramiko can read (Ed25519, ECDSA or RSA)."]}
    )


@transaction.atomic
def destination_set_sftp(
    *,
    supplier: Supplier,
    host: str = "",
    port: int = 22,
    username: str = "",
    password: str | None = None,
    private_key: str | None = None,
    path: str = "",
    host_key: str = "",
    interval_minutes: int = 15,
    file_format: str = FileFormat.CSV,
    hosted: bool = False,
) -> Destination:
    """Turn the file drop on; with hosted=True, on the platform's SFTP server."""
    if hosted:
        conf = settings.HOSTED_SFTP
        if not conf.get("HOST"):
            raise ValidationError(
                {"hosted": ["No hosted SFTP server is configured (HOSTED_SFTP_HOST)."]}
            )
        host, port, username = conf["HOST"], conf["PORT"], conf["USERNAME"]
        password = conf.get("PASSWORD") or None
        private_key = None
        if conf.get("KEY_FILE"):
            try:
                with open(conf["KEY_FILE"]) as handle:
                    private_key = handle.read()
            except OSError as exc:
                raise ValidationError({"hosted": [f"HOSTED_SFTP_KEY_FILE: {exc.strerror}"]})
        host_key = conf.get("HOST_KEY", "")
        path = f"{conf.get('ROOT', '/suppliers').rstrip('/')}/{supplier.slug}"
    host = (host or "").strip()
    username = (username or "").strip()
    path = (path or "").strip()
    if not host:
        raise ValidationError({"host": ["Give the SFTP server's host name."]})
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValidationError({"port": ["The port is a number."]})
    if not 1 <= port <= 65535:
        raise ValidationError({"port": ["The port is between 1 and 65535."]})
    if not username:
        raise ValidationError({"username": ["Give the SFTP user name."]})
    if bool(password) == bool(private_key):
        raise ValidationError(
            {"password": ["Give either a password or a private key (exactly one)."]}
        )
    if private_key:
        private_key = sftp_private_key_clean(private_key)
    if not path:
        raise ValidationError({"path": ["Give the directory files go to."]})
    host_key = sftp_host_key_clean(host_key)
    try:
        interval_minutes = int(interval_minutes)
    except (TypeError, ValueError):
        raise ValidationError({"every": ["The interval is a whole number of minutes."]})
    if not 1 <= interval_minutes <= 24 * 60:
        raise ValidationError({"every": ["The interval is 1 to 1440 minutes."]})
    if file_format not in FileFormat.values:
        raise ValidationError(
            {"format": [f"Unknown format '{file_format}'; use {', '.join(FileFormat.values)}."]}
        )
    destination = _destination_for_update(supplier=supplier, channel=Channel.SFTP)
    destination.sftp_hosted = hosted
    destination.sftp_host, destination.sftp_port = host, port
    destination.sftp_username = username
    destination.sftp_password = password or ""
    destination.sftp_private_key = private_key or ""
    destination.sftp_path = path
    destination.sftp_host_key = host_key
    destination.sftp_interval_minutes = interval_minutes
    destination.sftp_format = file_format
    destination.enabled = True
    destination.disabled_reason = ""
    return _save(destination)


@transaction.atomic
def destination_disable(
    *, supplier: Supplier, channel: str, reason: str = ""
) -> Destination | None:
    """Turn a channel off; its pending deliveries wait (and go if it is turned on again)."""
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": [f"Unknown channel '{channel}'; use {', '.join(Channel.values)}."]}
        )
    destination = (
        Destination.objects.select_for_update().filter(supplier=supplier, channel=channel).first()
    )
    if destination is None:
        return None
    destination.enabled = False
    destination.disabled_reason = (reason or "turned off")[:300]
    destination.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    return destination


# --- Sending -----------------------------------------------------------------------------


def retry_delay_seconds(*, attempt: int) -> float | None:
    """Delay before try `attempt + 1` after try `attempt` failed; None when none is left."""
    schedule = list(settings.DELIVERY_RETRY_SCHEDULE)
    if attempt >= len(schedule):
        return None
    delay = float(schedule[attempt])
    return delay * random.uniform(0.9, 1.1) if delay else 0.0  # noqa: S311 - jitter


def _claimable(now) -> Q:
    return Q(status=DeliveryStatus.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _due(now) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))


# Channels whose due rows for one destination go out together over one connection.
BATCHED_CHANNELS = (Channel.EMAIL, Channel.WEBHOOK)


def _claim(
    *,
    delivery_ids: list[int] | None = None,
    destination_id: int | None = None,
    limit: int = 0,
    lease_seconds: float | None = None,
    due_only: bool = False,
):
    """Take a lease on rows by one conditional UPDATE; return (token, rows won).

    The rows are `delivery_ids`, or up to `limit` due rows of one destination. The lease end
    is the token: a row is ours while its claimed_until equals it. A worker killed mid-send
    lets it lapse; a worker that outlived its lease finds the token changed and records its
    attempt without moving the row. The rows come back with their order and its lines (or
    their monthly summary and its retailer) loaded, so a channel needs no further query to
    render them.
    """
    now = timezone.now()
    token = now + timedelta(seconds=lease_seconds or settings.DELIVERY_CLAIM_SECONDS)
    if destination_id is not None:
        scope = Q(destination_id=destination_id, channel__in=BATCHED_CHANNELS)
        picked = (
            Delivery.objects.filter(_claimable(now), _due(now), scope)
            .order_by("next_attempt_at", "pk")
            .values("pk")[:limit]
        )
        wanted = Q(pk__in=picked)
    else:
        wanted = scope = Q(pk__in=delivery_ids or [])
    claimable = Delivery.objects.filter(_claimable(now)).filter(wanted)
    if due_only:
        claimable = claimable.filter(_due(now))
    with bookkeeping_atomic():
        won = claimable.update(
            attempt_count=F("attempt_count") + 1, claimed_until=token, updated_at=now
        )
    if not won:
        return token, []
    rows = list(
        Delivery.objects.select_related(
            "destination",
            "event__order__supplier",
            "event__order__retailer",
            "summary__retailer",
        )
        .filter(claimed_until=token, status=DeliveryStatus.PENDING)
        .filter(scope)
        .order_by(*(["pk"] if won > 1 else []))
    )
    _attach_order_lines(rows)
    return token, rows


def _attach_order_lines(deliveries: list[Delivery]) -> None:
    """Load the lines of every delivery's order in one query (a lean prefetch)."""
    orders = {d.event.order_id: d.event.order for d in deliveries if d.event_id is not None}
    if not orders:
        return
    lines: dict[int, list[OrderLine]] = {pk: [] for pk in orders}
    for line in OrderLine.objects.filter(order_id__in=list(orders)).order_by("order_id", "line_no"):
        lines[line.order_id].append(line)
    for pk, order in orders.items():
        order._prefetched_objects_cache = {"lines": _lines_queryset(order, lines[pk])}


def _lines_queryset(order, lines: list[OrderLine]):
    """A lines manager result that `order.lines.all()` serves from memory."""
    queryset = order.lines.all()
    queryset._result_cache = lines
    queryset._prefetch_done = True
    return queryset


def _skip_reason(delivery: Delivery) -> str | None:
    destination = delivery.destination
    if destination is not None and not destination.enabled:
        return f"the {destination.channel} channel is off"
    return None


def _outcome_of(func, *args):
    try:
        return func(*args)
    except DeliveryFailed as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a bug or unexpected error: retry, and log it
        logger.exception("delivery: unexpected error in %s", getattr(func, "__qualname__", func))
        return DeliveryFailed(f"internal error: {type(exc).__name__}: {exc}"[:500])


def _cancel_skipped(deliveries) -> list[Delivery]:
    """Drop (cancel) rows whose destination is off; return the rest."""
    keep = []
    for delivery in deliveries:
        skip = _skip_reason(delivery)
        if skip:
            _delivery_cancel(delivery=delivery, reason=skip)
        else:
            keep.append(delivery)
    return keep


def delivery_send(*, delivery_id: int) -> str:
    """Send one due delivery (if no other worker holds it); return what happened.

    After a success, the destination's other due rows (up to DELIVERY_DESTINATION_BATCH)
    go out too, over the same connection; their own tasks then find nothing to do.
    """
    nothing = "nothing to send (not due, not pending, held, or its channel is off)"
    now = timezone.now()
    # A plain read first: a row that went out with its destination's batch (the common
    # case for a task that finds nothing) costs one query, not a transaction.
    if not Delivery.objects.filter(_claimable(now), _due(now), pk=delivery_id).exists():
        return nothing
    token, rows = _claim(delivery_ids=[delivery_id], due_only=True)
    rows = _cancel_skipped(rows)
    if not rows:
        return nothing
    delivery = rows[0]
    started_at = timezone.now()
    t0 = time.monotonic()
    outcome = _outcome_of(channel_get(delivery.channel).send, delivery)
    duration_ms = int((time.monotonic() - t0) * 1000)
    result = _record(
        delivery=delivery,
        token=token,
        started_at=started_at,
        duration_ms=duration_ms,
        outcome=outcome,
    )
    batch = settings.DELIVERY_DESTINATION_BATCH
    if (
        result == "delivered"
        and batch > 1
        and delivery.destination_id is not None
        and delivery.channel in BATCHED_CHANNELS
    ):
        # The lease covers the whole batch at the channel's timeout for every row.
        per_row = (
            settings.WEBHOOK_TIMEOUT_SECONDS
            if delivery.channel == Channel.WEBHOOK
            else (settings.EMAIL_TIMEOUT or 60)
        )
        lease = settings.DELIVERY_CLAIM_SECONDS + batch * per_row
        token, more = _claim(
            destination_id=delivery.destination_id, limit=batch, lease_seconds=lease
        )
        more = _cancel_skipped(more)
        if more:
            _send_claimed(token=token, rows=more)
    return result


def deliveries_process_batch(*, deliveries) -> dict[int, str]:
    """Send several deliveries, one channel batch (one connection) per channel."""
    ids = [d.pk for d in deliveries]
    candidates = _cancel_skipped(
        Delivery.objects.select_related("destination").filter(
            pk__in=ids, status=DeliveryStatus.PENDING
        )
    )
    if not candidates:
        return {}
    lease = max(settings.DELIVERY_CLAIM_SECONDS, 600)
    token, rows = _claim(delivery_ids=[d.pk for d in candidates], lease_seconds=lease)
    return _send_claimed(token=token, rows=rows)


def _send_claimed(*, token, rows: list[Delivery]) -> dict[int, str]:
    """Send claimed rows, one channel batch per channel, and record every outcome."""
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in rows:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    outcomes: dict[int, str] = {}
    for channel_name, batch in by_channel.items():
        started_at = timezone.now()
        t0 = time.monotonic()
        results = _outcome_of(channel_get(channel_name).send_batch, batch)
        if isinstance(results, DeliveryFailed):
            results = {d.pk: results for d in batch}
        duration_ms = int((time.monotonic() - t0) * 1000 / max(len(batch), 1))
        skipped = [d for d in batch if isinstance(results.get(d.pk), NotSent)]
        if skipped:
            _release(deliveries=skipped, token=token)
            outcomes.update({d.pk: "released" for d in skipped})
        delivered = [d for d in batch if isinstance(results.get(d.pk), SendResult)]
        if delivered:
            outcomes.update(
                _record_delivered(
                    deliveries=delivered,
                    results=results,
                    token=token,
                    started_at=started_at,
                    duration_ms=duration_ms,
                )
            )
        for delivery in batch:
            if delivery.pk in outcomes:
                continue
            outcome = results.get(delivery.pk) or DeliveryFailed("the channel gave no result")
            outcomes[delivery.pk] = _record(
                delivery=delivery,
                token=token,
                started_at=started_at,
                duration_ms=duration_ms,
                outcome=outcome,
            )
    return outcomes


def _release(*, deliveries: list[Delivery], token) -> None:
    """Give claimed rows back untried: no attempt is counted, the sweeper queues them."""
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], claimed_until=token, status=DeliveryStatus.PENDING
    ).update(
        claimed_until=None,
        attempt_count=F("attempt_count") - 1,
        queued_at=None,
        updated_at=timezone.now(),
    )


def _delivery_cancel(*, delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        last_error=reason[:1000],
        claimed_until=None,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def _attempt(*, delivery: Delivery, started_at, duration_ms: int, outcome) -> DeliveryAttempt:
    ok = isinstance(outcome, SendResult)
    return DeliveryAttempt(
        delivery_id=delivery.pk,
        started_at=started_at,
        duration_ms=max(duration_ms, 0),
        success=ok,
        status_code=outcome.status_code,
        error="" if ok else str(outcome)[:2000],
        response_excerpt=(outcome.response_excerpt or "")[:RESPONSE_EXCERPT_CHARS],
    )


@bookkeeping_atomic()
def _record_delivered(*, deliveries, results, token, started_at, duration_ms) -> dict[int, str]:
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        [
            _attempt(
                delivery=d, started_at=started_at, duration_ms=duration_ms, outcome=results[d.pk]
            )
            for d in deliveries
        ]
    )
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], claimed_until=token, status=DeliveryStatus.PENDING
    ).update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
        claimed_until=None,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )
    _summaries_mark_sent(summary_ids=[d.summary_id for d in deliveries], now=now)
    return {d.pk: "delivered" for d in deliveries}


def _summaries_mark_sent(*, summary_ids: list, now) -> None:
    """A monthly summary counts as sent when its first email is delivered."""
    ids = [pk for pk in summary_ids if pk is not None]
    if ids:
        MonthlySummary.objects.filter(pk__in=ids, sent_at__isnull=True).update(sent_at=now)


def _record(
    *,
    delivery: Delivery,
    token,
    started_at,
    duration_ms: int,
    outcome: SendResult | DeliveryFailed,
) -> str:
    """Write the attempt and move the row on: delivered, next try, or failed for good."""
    now = timezone.now()
    ok = isinstance(outcome, SendResult)
    ours = Delivery.objects.filter(
        pk=delivery.pk, claimed_until=token, status=DeliveryStatus.PENDING
    )
    with bookkeeping_atomic():
        _attempt(
            delivery=delivery, started_at=started_at, duration_ms=duration_ms, outcome=outcome
        ).save()
        if ok:
            won = ours.update(
                status=DeliveryStatus.DELIVERED,
                delivered_at=now,
                claimed_until=None,
                next_attempt_at=None,
                last_error="",
                updated_at=now,
            )
            if won:
                _summaries_mark_sent(summary_ids=[delivery.summary_id], now=now)
            return "delivered"
        error = str(outcome)[:1000]
        delay = retry_delay_seconds(attempt=delivery.attempt_count) if outcome.retryable else None
        if delay is not None:
            countdown = delay if delay <= settings.DELIVERY_MAX_COUNTDOWN_SECONDS else None
            won = ours.update(
                next_attempt_at=now + timedelta(seconds=delay),
                claimed_until=None,
                last_error=error,
                queued_at=now + timedelta(seconds=delay) if countdown is not None else None,
                updated_at=now,
            )
            if won and countdown is not None and delivery.channel != Channel.SFTP:
                transaction.on_commit(
                    lambda: deliveries_queue(delivery_ids=[delivery.pk], countdown=countdown)
                )
            return "retry"
        won = ours.update(
            status=DeliveryStatus.FAILED,
            claimed_until=None,
            next_attempt_at=None,
            last_error=error,
            updated_at=now,
        )
        if won:
            delivery.last_error, delivery.status = error, DeliveryStatus.FAILED
            if outcome.disable_destination and delivery.destination_id:
                _destination_gone(delivery=delivery, error=error)
            _failure_notice_create(failed=delivery)
        return "failed"


def _destination_gone(*, delivery: Delivery, error: str) -> None:
    """The receiver said 410 Gone: turn that destination off; its other pending rows stop."""
    now = timezone.now()
    Destination.objects.filter(pk=delivery.destination_id).update(
        enabled=False, disabled_reason=f"{error} ({iso(now)})"[:300], updated_at=now
    )
    Delivery.objects.filter(
        destination_id=delivery.destination_id, status=DeliveryStatus.PENDING
    ).exclude(pk=delivery.pk).update(
        status=DeliveryStatus.CANCELLED,
        last_error="the destination was turned off after 410 Gone",
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
    )


def supplier_notice_addresses(*, supplier: Supplier) -> str:
    email = Destination.objects.filter(supplier=supplier, channel=Channel.EMAIL).first()
    return (email.email_addresses if email and email.email_addresses else "") or (
        supplier.order_emails
    )


def _failure_notice_create(*, failed: Delivery) -> Delivery | None:
    """Tell the supplier's order email that a delivery of theirs failed for good (once)."""
    if failed.supplier_id is None or failed.purpose != DeliveryPurpose.SUPPLIER_ORDER:
        return None  # retailer mail and notices themselves: ops sees them in the log
    supplier = failed.supplier
    now = timezone.now()
    notice = Delivery(
        event_id=failed.event_id,
        summary_id=failed.summary_id,
        supplier=supplier,
        destination=None,
        channel=Channel.EMAIL,
        purpose=DeliveryPurpose.FAILURE_NOTICE,
        target_key=f"notice:{failed.pk}",
        recipient=supplier_notice_addresses(supplier=supplier),
        identity=email_identity(key=f"notice-{failed.pk}"),
        cause=failed,
        next_attempt_at=now,
        queued_at=now,
    )
    if Delivery.objects.filter(identity=notice.identity).exists():
        return None
    notice.save()
    transaction.on_commit(lambda: deliveries_queue(delivery_ids=[notice.pk]))
    return notice


# --- Redelivery, sweeping, SFTP runs ------------------------------------------------------


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send it again with the same identity: back to pending, due now, queued."""
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=DeliveryStatus.PENDING, claimed_until__gt=now)
            .update(
                status=DeliveryStatus.PENDING,
                attempt_count=0,
                next_attempt_at=now,
                claimed_until=None,
                delivered_at=None,
                queued_at=None if delivery.channel == Channel.SFTP else now,
                updated_at=now,
            )
        )
        if updated and delivery.channel != Channel.SFTP:
            transaction.on_commit(lambda: deliveries_queue(delivery_ids=[delivery.pk]))
    delivery.refresh_from_db()
    return delivery


def deliveries_redeliver(
    *,
    supplier: Supplier | None = None,
    channel: str | None = None,
    since=None,
    until=None,
    failed_only: bool = False,
) -> int:
    """Redeliver every matching delivery; return how many were reset."""
    if channel and channel not in Channel.values:
        raise ValidationError(
            {"channel": [f"Unknown channel '{channel}'; use {', '.join(Channel.values)}."]}
        )
    if since and until and since >= until:
        raise ValidationError({"until": ["--until must be after --since."]})
    qs = Delivery.objects.all()
    if supplier is not None:
        qs = qs.filter(supplier=supplier)
    if channel:
        qs = qs.filter(channel=channel)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    qs = (
        qs.filter(status=DeliveryStatus.FAILED)
        if failed_only
        else qs.exclude(status=DeliveryStatus.PENDING)
    )
    now = timezone.now()
    with transaction.atomic():
        ids = list(qs.select_for_update(skip_locked=True).values_list("pk", flat=True))
        queue_ids = list(
            Delivery.objects.filter(pk__in=ids)
            .exclude(channel=Channel.SFTP)
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING,
            attempt_count=0,
            next_attempt_at=now,
            claimed_until=None,
            delivered_at=None,
            queued_at=now,
            updated_at=now,
        )
        transaction.on_commit(lambda: deliveries_queue(delivery_ids=queue_ids))
    return len(ids)


@dataclass
class SweepResult:
    events_dispatched: int
    deliveries_queued: int


def deliveries_sweep(*, limit: int = 1000) -> SweepResult:
    """Dispatch events nobody dispatched; queue due deliveries whose task was lost."""
    now = timezone.now()
    grace = timedelta(seconds=settings.DELIVERY_DISPATCH_GRACE_SECONDS)
    dispatched = events_dispatch_pending(committed_before=now - grace, limit=limit)
    stale = now - timedelta(seconds=settings.DELIVERY_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=stale))
            .exclude(channel=Channel.SFTP)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(queued_at=now)
    queued = deliveries_queue(delivery_ids=ids) if ids else []
    if dispatched or ids:
        logger.info("sweep: %d events dispatched, %d deliveries queued", dispatched, len(queued))
    return SweepResult(events_dispatched=dispatched, deliveries_queued=len(queued))


def sftp_runs_due() -> list[int]:
    """Claim the SFTP destinations whose interval has come round and queue one run each."""
    now = timezone.now()
    with transaction.atomic():
        due = [
            d
            for d in Destination.objects.select_for_update(skip_locked=True).filter(
                channel=Channel.SFTP, enabled=True
            )
            if d.sftp_last_run_at is None
            or d.sftp_last_run_at + timedelta(minutes=d.sftp_interval_minutes)
            <= now + timedelta(seconds=5)
        ]
        ids = [d.pk for d in due]
        if ids:
            Destination.objects.filter(pk__in=ids).update(sftp_last_run_at=now)

            def publish() -> None:
                for pk in ids:
                    task_publish("delivery.sftp_run", args=[pk])

            transaction.on_commit(publish)
    return ids


def sftp_run(*, destination_id: int, limit: int = 5000) -> dict[int, str]:
    """One run of one SFTP destination: its due deliveries over one connection."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                _claimable(now),
                destination_id=destination_id,
                channel=Channel.SFTP,
                next_attempt_at__lte=now,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
    if not ids:
        return {}
    deliveries = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    return deliveries_process_batch(deliveries=deliveries)


# --- Webhook test -------------------------------------------------------------------------


@dataclass
class WebhookTestResult:
    ok: bool
    status_code: int | None
    error: str
    response_excerpt: str
    duration_ms: int


def webhook_send_test(*, destination: Destination) -> WebhookTestResult:
    """POST a signed `webhook.test` message now; nothing is stored."""
    from .channels.webhook import webhook_post

    if destination.channel != Channel.WEBHOOK or not destination.webhook_url:
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


__all__ = [
    "deliveries_process_batch",
    "deliveries_redeliver",
    "deliveries_sweep",
    "delivery_redeliver",
    "delivery_send",
    "destination_disable",
    "destination_email_ensure",
    "destination_set_email",
    "destination_set_sftp",
    "destination_set_webhook",
    "events_dispatch",
    "sftp_run",
    "sftp_runs_due",
    "supplier_onboard",
    "webhook_secret_rotate",
    "webhook_send_test",
]
