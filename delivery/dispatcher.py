"""The dispatcher: each committed OrderEvent becomes Delivery rows, once, then queued work.

Exactly once per (event, target): the rows and `event.dispatched_at` are written in one
transaction, the event row is locked (skip_locked) while that happens, and the unique
constraint on (event, target_key) backs it. Running it twice, or from the sweeper at the same
time as the web request, still leaves one row per (event, target).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from orders.models import OrderEvent, OrderEventType
from suppliers.models import SupplierMembership

from .channels import channel_get, channels_where
from .channels.base import CANCELLATION_EVENT_TYPES
from .channels.email import email_identity
from .db import bookkeeping_atomic
from .models import (
    RETAILER_WEBHOOK_EVENT_TYPES,
    Channel,
    Delivery,
    DeliveryPurpose,
    DeliveryStatus,
    Destination,
)
from .queue import deliveries_queue

logger = logging.getLogger(__name__)


def destination_wants(
    *, destination: Destination, event: OrderEvent, cancelled_by_supplier: bool = False
) -> bool:
    """Whether this destination gets a message about this event (its channel decides)."""
    return channel_get(destination.channel).wants(
        destination=destination, event=event, cancelled_by_supplier=cancelled_by_supplier
    )


def _supplier_rows(
    *, event: OrderEvent, destinations: list[Destination], now, cancelled_by_supplier
):
    order = event.order
    rows = []
    for destination in destinations:
        if not destination.enabled:
            continue
        if not destination_wants(
            destination=destination, event=event, cancelled_by_supplier=cancelled_by_supplier
        ):
            continue
        channel = channel_get(destination.channel)
        rows.append(
            Delivery(
                event=event,
                supplier=order.supplier,
                destination=destination,
                channel=destination.channel,
                purpose=DeliveryPurpose.SUPPLIER_ORDER,
                target_key=f"destination:{destination.pk}",
                recipient=channel.recipient(destination=destination, order=order),
                identity=channel.identity(destination=destination, event=event),
                next_attempt_at=now,
                queued_at=None if channel.scheduled else now,
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


def _retailer_shipment_row(*, event: OrderEvent, email: Destination | None, now):
    """A shipment emails the retailer unless it turned shipment emails off (its email row)."""
    if email is not None and not email.enabled:
        return None
    order = event.order
    return Delivery(
        event=event,
        supplier=order.supplier,
        destination=email,
        channel=Channel.EMAIL,
        purpose=DeliveryPurpose.RETAILER_SHIPMENT,
        target_key=f"retailer:{order.retailer_id}",
        recipient=order.retailer.email,
        identity=email_identity(key=f"order-event-{event.pk}.r{order.retailer_id}"),
        next_attempt_at=now,
        queued_at=now,
    )


def _retailer_webhook_row(*, event: OrderEvent, webhook: Destination | None, now):
    """The retailer's webhook gets the types it listed of the four (none listed: all four).

    The row has no supplier: the retailer's endpoint is the retailer's, so it is not on any
    supplier's Deliveries page (ops sees it in the delivery log)."""
    if webhook is None or not webhook.enabled or not webhook.webhook_url:
        return None
    wanted = webhook.event_types or RETAILER_WEBHOOK_EVENT_TYPES
    if event.type not in wanted:
        return None
    channel = channel_get(Channel.WEBHOOK)
    return Delivery(
        event=event,
        supplier=None,
        destination=webhook,
        channel=Channel.WEBHOOK,
        purpose=DeliveryPurpose.RETAILER_WEBHOOK,
        target_key=f"destination:{webhook.pk}",
        recipient=channel.recipient(destination=webhook, order=event.order),
        identity=channel.identity(destination=webhook, event=event),
        next_attempt_at=now,
        queued_at=now,
    )


def _retailer_rows(*, event: OrderEvent, destinations: dict, now) -> list[Delivery]:
    """What the retailer hears of this event (issue 19): cancellation email always, shipment
    email by its setting, its webhook by its types."""
    rid = event.order.retailer_id
    rows = []
    if event.type in CANCELLATION_EVENT_TYPES:  # partial or whole: always
        rows.append(_retailer_cancellation_row(event=event, now=now))
    elif event.type == OrderEventType.SHIPMENT_CREATED:
        rows.append(
            _retailer_shipment_row(
                event=event, email=destinations.get((rid, Channel.EMAIL)), now=now
            )
        )
    rows.append(
        _retailer_webhook_row(
            event=event, webhook=destinations.get((rid, Channel.WEBHOOK)), now=now
        )
    )
    return [row for row in rows if row is not None]


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
        retailer_destinations = {
            (d.retailer_id, d.channel): d
            for d in Destination.objects.filter(
                retailer_id__in={event.order.retailer_id for event in events}
            )
        }
        cancellers = {
            (m.user_id, m.supplier_id)
            for m in SupplierMembership.objects.filter(
                user_id__in=[
                    e.actor_user_id
                    for e in events
                    if e.type in CANCELLATION_EVENT_TYPES and e.actor_user_id
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
                cancelled_by_supplier=(event.actor_user_id, supplier_id) in cancellers
                # by the supplier's API token or update file (issue 13)
                or (event.data.get("channel") or {}).get("via") in ("api", "file"),
            )
            rows += _retailer_rows(event=event, destinations=retailer_destinations, now=now)
        if rows_may_exist or not connection.features.can_return_rows_from_bulk_insert:
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            to_queue = list(
                Delivery.objects.filter(
                    event_id__in=[e.pk for e in events], status=DeliveryStatus.PENDING
                )
                .exclude(channel__in=channels_where(scheduled=True))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        else:
            # The events are locked and undispatched, so their rows are new: the unique
            # constraint would refuse a duplicate (and send us to the path above).
            created = Delivery.objects.bulk_create(rows)
            to_queue = [row.pk for row in created if not channel_get(row.channel).scheduled]
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
        _dispatch_apart(event_ids=ids)
        seen += len(ids)
        last = ids[-1]
        if len(ids) < size:
            break
    return seen


def _dispatch_apart(*, event_ids: list[int]) -> None:
    """Dispatch a batch; should it raise for something other than the database, each event
    on its own, so one that cannot be dispatched (a destination row no check ever saw, e.g.
    event types saved by the admin before it checked them) is logged and left for the next
    pass instead of stopping every supplier's orders, the listener and the sweep with it."""
    try:
        events_dispatch(event_ids=event_ids)
    except DatabaseError:
        raise  # the listener reconnects; the sweep runs again
    except Exception:  # noqa: BLE001 - found out event by event below
        for event_id in event_ids:
            try:
                events_dispatch(event_ids=[event_id])
            except DatabaseError:
                raise
            except Exception:  # noqa: BLE001 - logged; the next pass tries it again
                logger.exception("dispatch: event %s could not be dispatched", event_id)
