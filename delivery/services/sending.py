"""Sending: claim due rows, send them through their channel, record every attempt.

A failure for good tells the supplier once (a failure notice); a 410 turns the destination off.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.text import LONE_SURROGATE
from orders.documents import iso

from ..channels import DeliveryFailed, SendResult, channel_get
from ..channels.base import NotSent
from ..channels.email import email_identity
from ..db import bookkeeping_atomic
from ..models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
    Destination,
)
from ..queue import deliveries_queue
from ..recipients import recipients_refresh, supplier_notice_addresses
from ..signals import deliveries_delivered
from .claims import (
    EARLY_FAILED_PREFIX,
    claimable_now,
    deliveries_claim,
    deliveries_release,
    due_now,
)

logger = logging.getLogger(__name__)

RESPONSE_EXCERPT_CHARS = 4096


# A destination's follow-on batch is leased as for this many rows, whatever its size.
BATCH_LEASE_ROWS = 2


def retry_delay_seconds(*, attempt: int) -> float | None:
    """Delay before try `attempt + 1` after try `attempt` failed; None when none is left."""
    schedule = list(settings.DELIVERY_RETRY_SCHEDULE)
    if attempt >= len(schedule):
        return None
    delay = float(schedule[attempt])
    return delay * random.uniform(0.9, 1.1) if delay else 0.0  # noqa: S311 - jitter


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
    if not Delivery.objects.filter(claimable_now(now), due_now(now), pk=delivery_id).exists():
        return nothing
    token, rows = deliveries_claim(delivery_ids=[delivery_id], due_only=True)
    rows = _cancel_skipped(rows)
    if not rows:
        return nothing
    recipients_refresh(rows)
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
    channel = channel_get(delivery.channel)
    if (
        result == "delivered"
        and batch > 1
        and delivery.destination_id is not None
        and channel.batched
    ):
        # A short lease (as for two rows), and the batch starts no row once less than one
        # row's timeout of it is left (the rest are released): a worker killed mid-batch
        # holds its rows for DELIVERY_CLAIM_SECONDS plus two timeouts, not fifty.
        lease = channel.lease_seconds(rows=min(batch, BATCH_LEASE_ROWS))
        # The destination has just answered: its rows waiting out a backoff go too (a
        # healed receiver or relay is noticed by its first success, not by each row's next
        # try, which the schedule puts up to hours away).
        token, more = deliveries_claim(
            destination_id=delivery.destination_id, limit=batch, lease_seconds=lease, healed=True
        )
        more = _cancel_skipped(more)
        if more:
            _send_claimed(token=token, rows=more)
    return result


def deliveries_process_batch(*, deliveries, early: bool = False) -> dict[int, str]:
    """Send several deliveries, one channel batch (one connection) per channel. With
    `early`, rows whose next try is still to come go too, and that try is not counted."""
    ids = [d.pk for d in deliveries]
    candidates = _cancel_skipped(
        Delivery.objects.select_related("destination").filter(
            pk__in=ids, status=DeliveryStatus.PENDING
        )
    )
    if not candidates:
        return {}
    counts: dict[str, int] = {}
    for delivery in candidates:
        counts[delivery.channel] = counts.get(delivery.channel, 0) + 1
    # As long as the slowest channel's share needs.
    lease = max(
        settings.DELIVERY_CLAIM_SECONDS,
        *(channel_get(name).lease_seconds(rows=n) for name, n in counts.items()),
    )
    token, rows = deliveries_claim(
        delivery_ids=[d.pk for d in candidates], lease_seconds=lease, healed=early
    )
    return _send_claimed(token=token, rows=rows)


def _stop_at(*, token, channel):
    """When a batch claimed until `token` must stop starting rows: a row's timeout (and a
    second) before the lease ends, so no row is sent after another worker may own it."""
    return token - timedelta(seconds=channel.row_timeout_seconds() + 1)


def _send_claimed(*, token, rows: list[Delivery]) -> dict[int, str]:
    """Send claimed rows, one channel batch per channel, and record every outcome."""
    recipients_refresh(rows)
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in rows:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    outcomes: dict[int, str] = {}
    for channel_name, batch in by_channel.items():
        started_at = timezone.now()
        t0 = time.monotonic()
        channel = channel_get(channel_name)
        send = channel.send_batch
        if channel.batched:
            send = partial(send, stop_at=_stop_at(token=token, channel=channel))
        results = _outcome_of(send, batch)
        if isinstance(results, DeliveryFailed):
            results = {d.pk: results for d in batch}
        duration_ms = int((time.monotonic() - t0) * 1000 / max(len(batch), 1))
        skipped = [d for d in batch if isinstance(results.get(d.pk), NotSent)]
        if skipped:
            deliveries_release(deliveries=skipped, token=token)
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


def _delivery_cancel(*, delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        last_error=reason[:1000],
        claimed_until=None,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def _storable(text: str) -> str:
    """Text a receiver sent (its answer's excerpt, its error) as a text column takes it: a NUL
    or a lone surrogate made PostgreSQL refuse the attempt, and with it the row's move on (a
    webhook taken with 200 stayed pending and went again after every lease)."""
    return LONE_SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def _attempt(*, delivery: Delivery, started_at, duration_ms: int, outcome) -> DeliveryAttempt:
    ok = isinstance(outcome, SendResult)
    return DeliveryAttempt(
        delivery_id=delivery.pk,
        started_at=started_at,
        duration_ms=max(duration_ms, 0),
        success=ok,
        status_code=outcome.status_code,
        error="" if ok else _storable(str(outcome))[:2000],
        response_excerpt=_storable(outcome.response_excerpt or "")[:RESPONSE_EXCERPT_CHARS],
    )


@bookkeeping_atomic()
def _record_delivered(*, deliveries, results, token, started_at, duration_ms) -> dict[int, str]:
    DeliveryAttempt.objects.bulk_create(
        [
            _attempt(
                delivery=d, started_at=started_at, duration_ms=duration_ms, outcome=results[d.pk]
            )
            for d in deliveries
        ]
    )
    _mark_delivered(deliveries=deliveries, token=token)
    return {d.pk: "delivered" for d in deliveries}


def _mark_delivered(*, deliveries: list[Delivery], token) -> list[Delivery]:
    """Move the rows still ours (claimed with `token`) to delivered; return those.

    One UPDATE in the common case (every row still ours); only when some lease was lost is
    a second query needed to tell which rows this worker moved (its `delivered_at`).
    """
    now = timezone.now()
    won = Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], claimed_until=token, status=DeliveryStatus.PENDING
    ).update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
        claimed_until=None,
        next_attempt_at=None,
        last_error="",
        accepted_recipients=[],
        updated_at=now,
    )
    if won == len(deliveries):
        delivered = list(deliveries)
    elif not won:
        delivered = []
    else:
        ids = set(
            Delivery.objects.filter(
                pk__in=[d.pk for d in deliveries], delivered_at=now
            ).values_list("pk", flat=True)
        )
        delivered = [d for d in deliveries if d.pk in ids]
    if delivered:
        deliveries_delivered.send(sender=Delivery, deliveries=delivered, delivered_at=now)
    return delivered


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
            _mark_delivered(deliveries=[delivery], token=token)
            return "delivered"
        error = _storable(str(outcome))[:1000]
        # The recipients that have it by now (an email some addresses took): kept for the
        # next try, which leaves them out.
        kept = {} if outcome.accepted is None else {"accepted_recipients": outcome.accepted}
        early = getattr(delivery, "early", False)
        if early and outcome.retryable and channel_get(delivery.channel).scheduled:
            # A scheduled run tries its destination's rows ahead of their schedule (the run
            # is what retries them); failing, the row keeps its next counted try, so its
            # schedule still ends it after the last.
            ours.update(claimed_until=None, last_error=error, updated_at=now, **kept)
            return "retry"
        if early:
            error = (EARLY_FAILED_PREFIX + error)[:1000]
        delay = retry_delay_seconds(attempt=delivery.attempt_count) if outcome.retryable else None
        if delay is not None:
            countdown = delay if delay <= settings.DELIVERY_MAX_COUNTDOWN_SECONDS else None
            won = ours.update(
                next_attempt_at=now + timedelta(seconds=delay),
                claimed_until=None,
                last_error=error,
                queued_at=now + timedelta(seconds=delay) if countdown is not None else None,
                updated_at=now,
                **kept,
            )
            if won and countdown is not None and not channel_get(delivery.channel).scheduled:
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
            **kept,
        )
        if won:
            delivery.last_error, delivery.status = error, DeliveryStatus.FAILED
            if outcome.disable_destination and delivery.destination_id:
                _destination_gone(delivery=delivery, error=error)
            _failure_notice_create(failed=delivery)
        return "failed"


def _destination_gone(*, delivery: Delivery, error: str) -> None:
    """The receiver said 410 Gone: turn that destination off; its other pending rows stop.
    A row another worker holds finishes its try, as when a channel is turned off
    (channel_off.py); should it fail, the sweep's backstop cancels it (found in review: it
    was marked cancelled under the worker, which then delivered it)."""
    now = timezone.now()
    Destination.objects.filter(pk=delivery.destination_id).update(
        enabled=False, disabled_reason=f"{error} ({iso(now)})"[:300], updated_at=now
    )
    Delivery.objects.filter(claimable_now(now), destination_id=delivery.destination_id).exclude(
        pk=delivery.pk
    ).update(
        status=DeliveryStatus.CANCELLED,
        last_error="the destination was turned off after 410 Gone",
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
    )


def _failure_notice_create(*, failed: Delivery) -> Delivery | None:
    """Tell the supplier's order email that a delivery of theirs failed for good (once)."""
    if failed.supplier_id is None or failed.purpose != DeliveryPurpose.SUPPLIER_ORDER:
        return None  # retailer mail and notices themselves: ops sees them in the log
    supplier = failed.supplier
    now = timezone.now()
    notice = Delivery(
        event_id=failed.event_id,
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
