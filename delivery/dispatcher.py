"""The dispatcher: each committed OrderEvent becomes Delivery rows, once, then queued work.

Exactly once per (event, target): the rows and `event.dispatched_at` are written in one
transaction, the event row is locked (skip_locked) while that happens, and the unique
constraint on (event, target_key) backs it. Running it twice, or from the sweeper at the same
time as the web request, still leaves one row per (event, target).
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders.models import OrderEvent, OrderEventType
from suppliers.models import SupplierMembership

from .db import bookkeeping_atomic
from .emails import email_domain
from .models import Channel, Delivery, DeliveryPurpose, DeliveryStatus, Destination
from .queue import deliveries_queue

# What each channel sends when the destination lists no event types of its own.
CHANNEL_EVENT_TYPES: dict[str, frozenset[str]] = {
    Channel.EMAIL: frozenset({OrderEventType.CREATED}),
    Channel.WEBHOOK: frozenset(OrderEventType.values),
    # One file per order: only new orders go to the file drop.
    Channel.SFTP: frozenset({OrderEventType.CREATED}),
}


def destination_wants(*, destination: Destination, event: OrderEvent) -> bool:
    supported = CHANNEL_EVENT_TYPES[destination.channel]
    if destination.channel == Channel.SFTP:
        return event.type in supported
    if destination.event_types:
        return event.type in destination.event_types and (
            destination.channel != Channel.EMAIL or event.type != OrderEventType.UPDATED
        )
    return event.type in supported


def email_identity(*, key: str) -> str:
    return f"<{key}@{email_domain()}>"


def _supplier_rows(
    *, event: OrderEvent, destinations: list[Destination], now, cancelled_by_supplier
):
    order = event.order
    rows = []
    for destination in destinations:
        if not destination.enabled:
            continue
        wants = destination_wants(destination=destination, event=event)
        if (
            not wants
            and destination.channel == Channel.EMAIL
            and not destination.event_types
            and event.type == OrderEventType.CANCELLED
            and not cancelled_by_supplier
        ):
            # A cancellation the supplier did not make itself (ops, the retailer): tell it.
            wants = True
        if not wants:
            continue
        target_key = f"destination:{destination.pk}"
        if destination.channel == Channel.EMAIL:
            identity = email_identity(key=f"order-event-{event.pk}.d{destination.pk}")
            recipient = destination.email_addresses or order.supplier.order_emails
        elif destination.channel == Channel.WEBHOOK:
            identity = f"msg_{event.pk}_{destination.pk}"
            recipient = destination.webhook_url
        else:
            identity = f"{order.number}.{destination.sftp_format}"
            recipient = (
                f"sftp://{destination.sftp_host}:{destination.sftp_port}{destination.sftp_path}"
            )
        rows.append(
            Delivery(
                event=event,
                supplier=order.supplier,
                destination=destination,
                channel=destination.channel,
                purpose=DeliveryPurpose.SUPPLIER_ORDER,
                target_key=target_key,
                recipient=recipient,
                identity=identity,
                next_attempt_at=now,
                queued_at=None if destination.channel == Channel.SFTP else now,
            )
        )
    return rows


def _retailer_cancellation_row(*, event: OrderEvent, now) -> Delivery:
    """Every cancellation emails the retailer; no destination, setting or flag is consulted."""
    order = event.order
    return Delivery(
        event=event,
        supplier=order.supplier,
        destination=None,
        channel=Channel.EMAIL,
        purpose=DeliveryPurpose.RETAILER_CANCELLATION,
        target_key=f"retailer:{order.retailer_id}",
        recipient=order.retailer.email,
        identity=email_identity(key=f"order-event-{event.pk}.r{order.retailer_id}"),
        next_attempt_at=now,
        queued_at=now,
    )


def _email_destinations_ensure(*, supplier_ids: set[int], existing: dict) -> None:
    """Suppliers made without `supplier_create` (admin, old data) get their email channel now."""
    from suppliers.models import Supplier

    # Imported here: delivery.services imports this module (its events_dispatch).
    from .services.destinations import destination_email_ensure

    missing = [sid for sid in supplier_ids if (sid, Channel.EMAIL) not in existing]
    if not missing:
        return
    for supplier in Supplier.objects.filter(pk__in=missing):
        existing[(supplier.pk, Channel.EMAIL)] = destination_email_ensure(supplier=supplier)


def events_dispatch(*, event_ids: list[int]) -> list[int]:
    """Make the delivery rows of these events (once) and queue them; return the queued ids."""
    if not event_ids:
        return []
    try:
        return _dispatch(event_ids=event_ids, rows_may_exist=False)
    except IntegrityError:
        # Rows of an event exist already (its dispatched_at was cleared by hand): add only
        # the missing ones.
        return _dispatch(event_ids=event_ids, rows_may_exist=True)


def _dispatch(*, event_ids: list[int], rows_may_exist: bool) -> list[int]:
    with bookkeeping_atomic():
        events = list(
            OrderEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=event_ids, dispatched_at__isnull=True)
            .select_related("order__supplier", "order__retailer")
            .order_by("pk")
        )
        if not events:
            return []
        now = timezone.now()
        supplier_ids = {event.order.supplier_id for event in events}
        by_key = {
            (d.supplier_id, d.channel): d
            for d in Destination.objects.filter(supplier_id__in=supplier_ids)
        }
        _email_destinations_ensure(supplier_ids=supplier_ids, existing=by_key)
        cancellers = {
            (m.user_id, m.supplier_id)
            for m in SupplierMembership.objects.filter(
                user_id__in=[
                    e.actor_user_id
                    for e in events
                    if e.type == OrderEventType.CANCELLED and e.actor_user_id
                ]
            )
        }
        rows: list[Delivery] = []
        for event in events:
            supplier_id = event.order.supplier_id
            destinations = [by_key[k] for k in sorted(by_key, key=str) if k[0] == supplier_id]
            rows += _supplier_rows(
                event=event,
                destinations=destinations,
                now=now,
                cancelled_by_supplier=(event.actor_user_id, supplier_id) in cancellers,
            )
            if event.type == OrderEventType.CANCELLED:
                rows.append(_retailer_cancellation_row(event=event, now=now))
        if rows_may_exist or not connection.features.can_return_rows_from_bulk_insert:
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            to_queue = list(
                Delivery.objects.filter(
                    event_id__in=[e.pk for e in events], status=DeliveryStatus.PENDING
                )
                .exclude(channel=Channel.SFTP)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        else:
            # The events are locked and undispatched, so their rows are new: the unique
            # constraint would refuse a duplicate (and send us to the path above).
            created = Delivery.objects.bulk_create(rows)
            to_queue = [row.pk for row in created if row.channel != Channel.SFTP]
        OrderEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=now)
        transaction.on_commit(lambda: deliveries_queue(delivery_ids=to_queue))
    return to_queue


def events_dispatch_pending(
    *, committed_before=None, limit: int | None = None, batch: int = 200
) -> int:
    """Dispatch events still undispatched, oldest first; return how many were looked at.

    One pass by id: events another dispatcher holds are skipped, not waited for.
    `committed_before` leaves younger events alone (the sweeper gives their own process a
    grace time); `limit` caps the pass.
    """
    seen, last = 0, 0
    while limit is None or seen < limit:
        pending = OrderEvent.objects.filter(dispatched_at__isnull=True, pk__gt=last)
        if committed_before is not None:
            pending = pending.filter(created_at__lte=committed_before)
        size = batch if limit is None else min(batch, limit - seen)
        ids = list(pending.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        events_dispatch(event_ids=ids)
        seen += len(ids)
        last = ids[-1]
        if len(ids) < size:
            break
    return seen
