"""The acknowledgement reminder (issue 13): once orders are overdue, their supplier's order
addresses get one email listing every overdue order not reminded before.

One email per supplier per run, never one per order, never twice for one order: each run
stamps the orders it lists with `Order.acknowledge_reminded_at` (the same instant for the
whole email) in the transaction that makes the email's Delivery row, whose source key
names the supplier and that instant. The row is sent and retried by the delivery engine
like a failure notice; its identity (the Message-ID) never changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from orders.models import Order
from orders.selectors import overdue_q

from ..channels.email import email_identity
from ..models import Channel, Delivery, DeliveryPurpose
from ..queue import deliveries_queue
from ..recipients import supplier_notice_addresses

SOURCE_PREFIX = "ackreminder"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def reminder_source_key(*, supplier_id: int, at: datetime) -> str:
    return f"{SOURCE_PREFIX}:{supplier_id}:{(at - _EPOCH) // _MICRO}"


def reminder_orders(delivery: Delivery) -> list[Order]:
    """The orders a reminder lists: those its run stamped (oldest deadline first)."""
    _, supplier_id, micros = delivery.source_key.split(":")
    at = _EPOCH + int(micros) * _MICRO
    return list(
        Order.objects.filter(supplier_id=int(supplier_id), acknowledge_reminded_at=at)
        .select_related("retailer")
        .order_by("acknowledge_by", "id")
    )


def acknowledge_reminders_send(*, now: datetime | None = None) -> list[int]:
    """Make one reminder Delivery per supplier with overdue orders not reminded yet; return
    the rows' ids (queued for sending on commit)."""
    now = now or timezone.now()
    pending = (
        Order.objects.filter(overdue_q(now=now), acknowledge_reminded_at__isnull=True)
        .values_list("supplier_id", flat=True)
        .distinct()
    )
    made: list[int] = []
    for supplier_id in sorted(set(pending)):
        with transaction.atomic():
            # skip_locked: an order being acknowledged right now is left for the next run
            # (by then it is acknowledged, and never reminded).
            ids = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(
                    overdue_q(now=now),
                    acknowledge_reminded_at__isnull=True,
                    supplier_id=supplier_id,
                )
                .values_list("pk", flat=True)
            )
            if not ids:
                continue
            Order.objects.filter(pk__in=ids).update(acknowledge_reminded_at=now)
            supplier = Order.objects.select_related("supplier").get(pk=ids[0]).supplier
            key = reminder_source_key(supplier_id=supplier_id, at=now)
            row = Delivery.objects.create(
                source_key=key,
                supplier=supplier,
                channel=Channel.EMAIL,
                purpose=DeliveryPurpose.ACKNOWLEDGE_REMINDER,
                target_key=f"supplier:{supplier_id}",
                recipient=supplier_notice_addresses(supplier=supplier),
                identity=email_identity(key=key.replace(":", "-")),
                next_attempt_at=now,
                queued_at=now,
            )
            made.append(row.pk)
            transaction.on_commit(lambda pk=row.pk: deliveries_queue(delivery_ids=[pk]))
    return made
