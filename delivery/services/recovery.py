"""Recovery: redelivering on request, the sweeper for lost work, and the SFTP runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from suppliers.models import Supplier

from ..channels import channel_get, channels_where
from ..dispatcher import events_dispatch_pending
from ..models import RETAILER_FACING_PURPOSES, Channel, Delivery, DeliveryStatus, Destination
from ..queue import broker_queue_depth, deliveries_queue, task_publish, update_files_requeue
from ..recipients import recipients_refresh
from .channel_off import of_destinations_off, off_destinations_pending_cancel
from .claims import claimable_now
from .sending import deliveries_process_batch

logger = logging.getLogger(__name__)


def _cooled(now) -> Q:
    """Rows not redelivered on request within the cooldown."""
    cooldown = timedelta(seconds=settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS)
    return Q(redelivered_at__isnull=True) | Q(redelivered_at__lte=now - cooldown)


# Ids per UPDATE: PostgreSQL takes at most 65,535 parameters in a statement with
# server-side binding (settings), and `redeliver --limit` may name up to a billion rows.
RESET_CHUNK = 10_000


def _deliveries_reset(*, ids: list[int], now, by_supplier: bool = False) -> int:
    """Put rows back to pending, due now, with their identity; queue the immediate ones.

    One conditional UPDATE per RESET_CHUNK ids, so concurrent requests reset a row once: a
    row a worker holds right now (pending, claimed), one redelivered within the cooldown or
    one whose channel is off (`channel_off`: it would be cancelled again) is left alone, and,
    `by_supplier`, a retailer's message that is delivered by now (the caller's check read
    the row before; a worker may have delivered it since). The UPDATE stamps
    `redelivered_at`. Returns how many rows were reset.
    """
    won, queue_ids = 0, []
    for start in range(0, len(ids), RESET_CHUNK):
        chunk = ids[start : start + RESET_CHUNK]
        rows = (
            Delivery.objects.filter(_cooled(now), pk__in=chunk)
            .exclude(status=DeliveryStatus.PENDING, claimed_until__gt=now)
            .exclude(of_destinations_off())  # it would only be cancelled again
        )
        if by_supplier:
            rows = rows.exclude(
                purpose__in=RETAILER_FACING_PURPOSES, status=DeliveryStatus.DELIVERED
            )
        reset = rows.update(
            status=DeliveryStatus.PENDING,
            attempt_count=0,
            next_attempt_at=now,
            claimed_until=None,
            delivered_at=None,
            queued_at=now,
            redelivered_at=now,
            updated_at=now,
        )
        if reset:
            won += reset
            queue_ids += list(
                Delivery.objects.filter(pk__in=chunk, redelivered_at=now)
                .exclude(channel__in=channels_where(scheduled=True))
                .values_list("pk", flat=True)
            )
    if queue_ids:
        transaction.on_commit(lambda: deliveries_queue(delivery_ids=queue_ids))
    return won


def delivery_redeliver(*, delivery: Delivery, by_supplier: bool = False) -> Delivery:
    """Send it again with the same identity: back to pending, due now, queued.

    Refused (ValidationError on `delivery`, nothing changed) within the cooldown of the last
    redelivery, while a worker is sending it, while its channel is off, and, for a supplier
    (`by_supplier`), when it is a retailer's message already delivered: the supplier may not
    mail the retailer again.
    """
    delivered = ValidationError(
        {"delivery": ["This message to the retailer was delivered; it is not sent again."]}
    )
    if by_supplier and not delivery.supplier_may_redeliver:
        raise delivered
    off = ValidationError(
        {"delivery": ["Its channel is off; turn it on first, then redeliver. Nothing was changed."]}
    )
    if Destination.objects.filter(pk=delivery.destination_id, enabled=False).exists():
        raise off
    now = timezone.now()
    with transaction.atomic():
        reset = _deliveries_reset(ids=[delivery.pk], now=now, by_supplier=by_supplier)
    delivery.refresh_from_db()
    if reset:
        recipients_refresh([delivery])  # the page's "queued to ..." names where it goes now
    if not reset:
        if by_supplier and not delivery.supplier_may_redeliver:
            raise delivered  # delivered since the check above read it
        if Destination.objects.filter(pk=delivery.destination_id, enabled=False).exists():
            raise off  # turned off since the check above
        if delivery.redelivered_at and delivery.redelivered_at > now - timedelta(
            seconds=settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS
        ):
            raise ValidationError(
                {
                    "delivery": [
                        "It was redelivered moments ago; nothing was changed. Try again in "
                        f"{settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS} seconds if it has "
                        "not arrived."
                    ]
                }
            )
        raise ValidationError({"delivery": ["It is being sent right now; nothing was changed."]})
    return delivery


@dataclass
class RedeliverResult:
    queued: int
    cooling: int  # matched, but redelivered within the cooldown (or being sent): left alone
    channel_off: int = 0  # matched, but their channel is off: left alone
    left: int = 0  # matched beyond `batch`: not looked at this time (the oldest went first)


def deliveries_redeliver(
    *,
    supplier: Supplier | None = None,
    channel: str | None = None,
    since=None,
    until=None,
    failed_only: bool = False,
    cancelled_only: bool = False,
    by_supplier: bool = False,
    limit: int | None = None,
    batch: int | None = None,
) -> RedeliverResult:
    """Redeliver every matching delivery; say how many were reset and how many left alone.

    With `limit`, more matching rows than that (their channel on) is refused before anything
    is reset: a broad filter never queues the whole table at once. With `batch` (the portal's
    button), at most that many of them, oldest first, and `left` says how many more matched:
    one request never resets, or queues, an unbounded number of rows.
    """
    if limit is not None and batch is not None:
        raise ValueError("give `limit` or `batch`, not both")
    if channel and channel not in Channel.values:
        raise ValidationError(
            {"channel": [f"Unknown channel '{channel}'; use {', '.join(Channel.values)}."]}
        )
    if failed_only and cancelled_only:
        raise ValidationError({"cancelled_only": ["Give --failed-only or --cancelled-only."]})
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
    if by_supplier:
        qs = qs.exclude(purpose__in=RETAILER_FACING_PURPOSES, status=DeliveryStatus.DELIVERED)
    if failed_only:
        qs = qs.filter(status=DeliveryStatus.FAILED)
    elif cancelled_only:
        # What a channel turned off cancelled: sent again without what was delivered since
        # (found in review: the hint `redeliver --channel email --since T` sent the
        # retailer's delivered cancellation emails a second time).
        qs = qs.filter(status=DeliveryStatus.CANCELLED)
    else:
        qs = qs.exclude(status=DeliveryStatus.PENDING)
    off = qs.filter(of_destinations_off()).count()
    with transaction.atomic():
        rows = (
            qs.exclude(of_destinations_off())
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        left = 0
        if batch is not None:
            ids = list(rows[: batch + 1])
            if len(ids) > batch:
                ids = ids[:batch]
                left = qs.exclude(of_destinations_off()).count() - batch
        else:
            ids = list(rows if limit is None else rows[: limit + 1])
        if limit is not None and len(ids) > limit:
            raise ValidationError(
                {
                    "limit": [
                        f"More than {limit} deliveries match; narrow them with --supplier, "
                        "--channel, --since or --until, or raise --limit. Nothing was queued."
                    ]
                }
            )
        queued = _deliveries_reset(ids=ids, now=timezone.now())
    return RedeliverResult(
        queued=queued, cooling=len(ids) - queued, channel_off=off, left=max(left, 0)
    )


@dataclass
class SweepResult:
    events_dispatched: int
    deliveries_queued: int
    update_files_queued: int = 0


def deliveries_sweep(*, limit: int = 1000) -> SweepResult:
    """Dispatch events nobody dispatched; queue due deliveries whose task was lost, and the
    update files a stopped worker left applying (the next worker resumes them)."""
    now = timezone.now()
    grace = timedelta(seconds=settings.DELIVERY_DISPATCH_GRACE_SECONDS)
    dispatched = events_dispatch_pending(committed_before=now - grace, limit=limit)
    turned_off = off_destinations_pending_cancel()
    if turned_off:
        logger.info("sweep: %d pending deliveries of channels turned off cancelled", turned_off)
    depth = broker_queue_depth()
    if depth is not None and depth >= settings.DELIVERY_SWEEP_QUEUE_LIMIT:
        # The workers are behind, not short of messages: rows queued more than
        # DELIVERY_REQUEUE_AFTER_SECONDS ago are still waiting in that queue, and queueing them
        # again only adds work (found by bench/chaos.py: every sweep added up to `limit`
        # duplicates, the queue grew faster than workers drained it, and thousands of rows
        # waited minutes behind tasks that found nothing to do). Lost messages are queued
        # again once the queue is short.
        if dispatched:
            logger.info(
                "sweep: %d events dispatched; queue holds %d, none re-queued", dispatched, depth
            )
        return SweepResult(events_dispatched=dispatched, deliveries_queued=0)
    stale = now - timedelta(seconds=settings.DELIVERY_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimable_now(now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=stale))
            .exclude(channel__in=channels_where(scheduled=True))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(queued_at=now)
    queued = deliveries_queue(delivery_ids=ids) if ids else []
    files = update_files_requeue()
    # Imported here: it imports the hosted server (asyncssh), which the web never needs.
    from ..hosted.updates import hosted_updates_left_requeue

    hosted = hosted_updates_left_requeue(older_than=settings.DELIVERY_REQUEUE_AFTER_SECONDS)
    if dispatched or ids or files or hosted:
        logger.info(
            "sweep: %d events dispatched, %d deliveries queued, %d update files queued again"
            " (%d hosted uploads)",
            dispatched,
            len(queued),
            len(files) + len(hosted),
            len(hosted),
        )
    return SweepResult(
        events_dispatched=dispatched,
        deliveries_queued=len(queued),
        update_files_queued=len(files) + len(hosted),
    )


def sftp_run_retry_seconds(*, failed_runs: int, interval_minutes: int) -> float:
    """How long after a run is queued the next one is due should it not report a success,
    with `failed_runs` runs before it not having succeeded: SFTP_RUN_RETRY_SECONDS, capped at
    the destination's interval (a failing server is never tried less often than a healthy one,
    nor more often than once a minute)."""
    interval = float(interval_minutes * settings.SFTP_INTERVAL_MINUTE_SECONDS)
    schedule = list(settings.SFTP_RUN_RETRY_SECONDS) or [interval]
    return min(float(schedule[min(failed_runs, len(schedule) - 1)]), interval)


def sftp_runs_due() -> list[int]:
    """Claim the scheduled destinations whose interval (or retry time) has come round; queue
    one run each. Each run counts as failed until it reports otherwise, so one lost with the
    broker or its worker is due again at its retry time, not a whole interval later."""
    now = timezone.now()
    with transaction.atomic():
        due = [
            d
            for d in Destination.objects.select_for_update(skip_locked=True).filter(
                channel__in=channels_where(scheduled=True), enabled=True
            )
            if channel_get(d.channel).run_due(destination=d, now=now)
        ]
        ids = [d.pk for d in due]
        for d in due:
            retry = sftp_run_retry_seconds(
                failed_runs=d.sftp_failed_runs, interval_minutes=d.sftp_interval_minutes
            )
            Destination.objects.filter(pk=d.pk).update(
                sftp_last_run_at=now,
                sftp_failed_runs=F("sftp_failed_runs") + 1,
                sftp_retry_at=now + timedelta(seconds=retry),
            )
        if ids:

            def publish() -> None:
                for pk in ids:
                    task_publish("delivery.sftp_run", args=[pk])

            transaction.on_commit(publish)
    return ids


def sftp_run(*, destination_id: int, limit: int = 5000) -> dict[int, str]:
    """One run of one SFTP destination: its pending deliveries over one connection (those
    waiting on a retry too: the run is what retries them, and a try ahead of a row's schedule
    is not counted), then (own server) the update files in its updates directory over
    another. A run that sent every row (or found none, and none held by another run) and
    collected its update files clears the destination's failed runs; otherwise its retry time
    stands."""
    now = timezone.now()
    scheduled = channels_where(scheduled=True)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(claimable_now(now), destination_id=destination_id, channel__in=scheduled)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
    results = {}
    if ids:
        deliveries = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
        results = deliveries_process_batch(deliveries=deliveries, early=True)
        succeeded = all(outcome in ("delivered", "failed") for outcome in results.values())
    else:
        succeeded = not Delivery.objects.filter(
            destination_id=destination_id,
            channel__in=scheduled,
            status=DeliveryStatus.PENDING,
            claimed_until__gt=now,
        ).exists()
    destination = Destination.objects.filter(pk=destination_id).select_related("supplier").first()
    if destination is not None and not channel_get(destination.channel).collect(destination):
        # Its update files could not be collected (server down, connection dropped): the run
        # stays failed, so it is due again at its retry time, not a whole interval later.
        succeeded = False
    if succeeded:
        Destination.objects.filter(pk=destination_id).update(sftp_failed_runs=0, sftp_retry_at=None)
    return results
