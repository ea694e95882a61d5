"""A channel turned off stops at once, every channel alike: its pending deliveries are
cancelled, each with the reason, and are sent again only on request.

Turning a channel off (the portal, `set_channel --off`, `set_retailer_channel`, the admin)
cancels that destination's pending rows in the same transaction; the Deliveries page shows
"Not sent: the channel is off.". A row a worker is sending at that moment finishes its try;
should that try fail and leave it a next one, the sweep's backstop cancels it
(`off_destinations_pending_cancel`), as it does a row whose destination was turned off by a
write that did not come through here. Turning the channel on again sends new events; the
cancelled rows go again by `redeliver --supplier S --channel C --cancelled-only --since T`
(only what was cancelled: not what was delivered since), or from the Deliveries page.
Stripe, Shopify and Saleor stop a disabled endpoint's deliveries the same way, with a resend.

Before, an email or webhook row was cancelled when its turn came, an SFTP row waited for the
channel to come back (runs skip a destination that is off), and `destination_disable` said
all three waited (found in review).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from ..models import Channel, Delivery, DeliveryPurpose, DeliveryStatus, Destination
from .claims import claimable_now


def of_destinations_off() -> Q:
    """Rows whose destination is off, as a subquery on the row's own column: no join, so a
    conditional UPDATE stays one statement on the row (PostgreSQL checks its conditions
    again after waiting on a concurrent writer's lock; through a join Django writes
    `id IN (SELECT ...)`, which it does not) and FOR UPDATE has no outer join to refuse."""
    return Q(destination_id__in=Destination.objects.filter(enabled=False).values("pk"))


def turned_off_reason(channel: str) -> str:
    return f"the {channel} channel was turned off"


def _cancel(rows, *, channel: str, now) -> int:
    return rows.update(
        status=DeliveryStatus.CANCELLED,
        last_error=turned_off_reason(channel),
        claimed_until=None,
        next_attempt_at=None,
        updated_at=now,
    )


def destination_pending_cancel(*, destination: Destination) -> int:
    """Cancel the destination's pending rows no worker holds; return how many."""
    now = timezone.now()
    rows = Delivery.objects.filter(claimable_now(now), destination_id=destination.pk)
    return _cancel(rows, channel=destination.channel, now=now)


def retailer_shipments_pending_cancel(*, destination: Destination) -> int:
    """Shipment emails turned off: cancel the retailer's shipment emails not sent yet, those
    made before its email row existed (no destination) included. Returns how many."""
    now = timezone.now()
    rows = Delivery.objects.filter(
        claimable_now(now),
        purpose=DeliveryPurpose.RETAILER_SHIPMENT,
        target_key=f"retailer:{destination.retailer_id}",
    )
    return _cancel(rows, channel=destination.channel, now=now)


def destination_off_pending_cancel(*, destination: Destination) -> int:
    """What a destination saved off (the admin) cancels, as its service would: its pending
    rows, and for a retailer's email row (shipment emails) also the retailer's shipment emails
    made before the row existed, which have no destination."""
    if destination.retailer_id is not None and destination.channel == Channel.EMAIL:
        return retailer_shipments_pending_cancel(destination=destination)
    return destination_pending_cancel(destination=destination)


def off_destinations_pending_cancel() -> int:
    """The sweep's backstop: cancel the pending rows no worker holds of destinations that are
    off (one UPDATE per channel). Returns how many."""
    now = timezone.now()
    return sum(
        _cancel(
            Delivery.objects.filter(claimable_now(now), of_destinations_off(), channel=channel),
            channel=channel,
            now=now,
        )
        for channel in Channel.values
    )
