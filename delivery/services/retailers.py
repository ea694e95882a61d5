"""A retailer's channels (issue 19): its webhook and whether shipments are emailed to it.

Cancellation emails to the retailer take no setting (delivery/dispatcher.py): nothing here
can turn them off. A retailer's webhook is checked like a supplier's (`webhook_url_clean`,
netguard on every send) and signed with its own whsec_ secret, stored encrypted.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from orders.models import Retailer

from ..models import RETAILER_WEBHOOK_EVENT_TYPES, Channel, Destination
from .channel_off import retailer_shipments_pending_cancel
from .destinations import (
    destination_off,
    event_types_listed,
    webhook_configure,
)
from .webhook_urls import webhook_url_checked

# The channels `set_retailer_channel` knows, by the name ops types.
RETAILER_CHANNELS = {"webhook": Channel.WEBHOOK, "shipment-email": Channel.EMAIL}


def retailer_event_types_clean(event_types) -> list[str]:
    """The retailer webhook's types: a subset of the four; none means all four."""
    event_types = event_types_listed(event_types, field="events")
    unknown = sorted(set(event_types) - set(RETAILER_WEBHOOK_EVENT_TYPES))
    if unknown:
        raise ValidationError(
            {
                "events": [
                    f"Unknown event type {', '.join(unknown)}; a retailer's webhook takes "
                    + ", ".join(RETAILER_WEBHOOK_EVENT_TYPES)
                    + "."
                ]
            }
        )
    return sorted(set(event_types))


def _for_update(*, retailer: Retailer, channel: str) -> Destination:
    destination = (
        Destination.objects.select_for_update().filter(retailer=retailer, channel=channel).first()
    )
    return destination or Destination(retailer=retailer, channel=channel)


def _save(destination: Destination) -> Destination:
    # The URL was checked by webhook_url_clean (numeric hosts included, which URLField
    # refuses); netguard checks the address again on every connection.
    destination.full_clean(exclude=["webhook_url"], validate_unique=False)
    destination.save()
    return destination


@transaction.atomic
def retailer_webhook_set(
    *, retailer: Retailer, url: str, event_types=None, secret: str | None = None
) -> tuple[Destination, str | None]:
    """Turn the retailer's webhook on; return it and the secret when one was generated
    (shown once: it is stored encrypted and never printed again)."""
    url = webhook_url_checked(url)
    types = retailer_event_types_clean(event_types)
    destination = _for_update(retailer=retailer, channel=Channel.WEBHOOK)
    generated = webhook_configure(destination, url=url, secret=secret, event_types=types)
    return _save(destination), generated


@transaction.atomic
def retailer_webhook_disable(*, retailer: Retailer, reason: str = "") -> Destination | None:
    """Turn the retailer's webhook off; its pending deliveries are cancelled now
    (`channel_off`), and `destination.pending_cancelled` says how many; one already off
    keeps its reason (`destination_off`)."""
    destination = (
        Destination.objects.select_for_update()
        .filter(retailer=retailer, channel=Channel.WEBHOOK)
        .first()
    )
    if destination is None:
        return None
    return destination_off(destination, reason=reason)


@transaction.atomic
def retailer_shipment_email_set(*, retailer: Retailer, on: bool) -> Destination:
    """Shipment emails on or off (on by default). Cancellation emails are not affected (they
    have no destination); turned off, the shipment emails not sent yet are cancelled."""
    destination = _for_update(retailer=retailer, channel=Channel.EMAIL)
    destination.enabled = on
    destination.disabled_reason = "" if on else "shipment emails turned off"
    destination = _save(destination)
    destination.pending_cancelled = (
        0 if on else retailer_shipments_pending_cancel(destination=destination)
    )
    return destination
