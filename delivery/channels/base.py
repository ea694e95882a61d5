"""The one small interface every channel implements."""

from __future__ import annotations

from dataclasses import dataclass

from orders.models import OrderEventType


class DeliveryFailed(Exception):
    """A send that did not succeed.

    retryable: a later try may succeed (timeouts, 5xx, connection refused).
    disable_destination: the receiver asked us to stop (webhook 410 Gone).
    accepted: the recipients that have the message now, by this try or an earlier one (an
    email some addresses took): the row keeps them and the next try leaves them out; None
    leaves what the row holds as it is.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status_code: int | None = None,
        response_excerpt: str = "",
        disable_destination: bool = False,
        accepted: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.accepted = accepted
        self.retryable = retryable
        self.status_code = status_code
        self.response_excerpt = response_excerpt
        self.disable_destination = disable_destination


@dataclass
class NotSent:
    """A batch member the channel chose not to try (its row is released, no attempt counted)."""

    reason: str = ""


LEASE_SHORT = "the batch's lease is running out; released for the next task"


def lease_running_out(stop_at) -> bool:
    """Whether a batch must stop starting rows (see BaseChannel.send_batch's `stop_at`)."""
    from django.utils import timezone

    return stop_at is not None and timezone.now() >= stop_at


@dataclass
class SendResult:
    status_code: int | None = None
    response_excerpt: str = ""


# Every cancellation, whole or partial: each emails the retailer (delivery/dispatcher.py).
CANCELLATION_EVENT_TYPES = frozenset({OrderEventType.CANCELLED, OrderEventType.LINES_CANCELLED})

# Line-level events (issue 12) that count as `order.updated` for a destination listing that
# type but not theirs, when they changed the order's status.
STATUS_CHANGING_EVENT_TYPES = frozenset(
    {OrderEventType.SHIPMENT_CREATED, OrderEventType.LINES_CANCELLED}
)


def subscribed_type(*, destination, event) -> str | None:
    """The event type under which a destination that lists types receives this event: its
    own type if listed, `order.updated` for a status-changing line-level event if that is
    listed, else None (not received). A destination listing nothing gets events as they are."""
    if not destination.event_types or event.type in destination.event_types:
        return event.type
    data = event.data if isinstance(event.data, dict) else {}
    if (
        event.type in STATUS_CHANGING_EVENT_TYPES
        and OrderEventType.UPDATED in destination.event_types
        and data.get("from") != data.get("to")
    ):
        return OrderEventType.UPDATED
    return None


class BaseChannel:
    """How one kind of destination is reached, and the facts the engine asks of it.

    The dispatcher and the sending code ask these instead of testing a channel's name.
    """

    name: str = ""
    # What a destination of this channel gets when it lists no event types of its own.
    default_event_types: frozenset[str] = frozenset()
    # Event types a destination may list; others are never sent on this channel.
    allowed_event_types: frozenset[str] = frozenset()
    # Scheduled channels send at the destination's interval, in one run over one connection,
    # and their rows are never queued one by one; immediate ones are queued at once.
    scheduled: bool = False
    # After a success, an immediate channel sends that destination's other due rows too,
    # over the same connection (DELIVERY_DESTINATION_BATCH).
    batched: bool = False
    # The destination holds a signing secret (rotated in the portal).
    signed: bool = False

    def send(self, delivery) -> SendResult:
        """Send one delivery, or raise DeliveryFailed."""
        raise NotImplementedError

    def send_batch(
        self, deliveries: list, *, stop_at=None
    ) -> dict[int, SendResult | DeliveryFailed | NotSent]:
        """Send several over one connection where the channel can; keyed by delivery id.

        `stop_at` (an aware datetime): start no row after it; the rest are NotSent (released),
        so a batch never outlives the lease it was claimed with (`lease_running_out`)."""
        results: dict[int, SendResult | DeliveryFailed | NotSent] = {}
        for delivery in deliveries:
            if lease_running_out(stop_at):
                results[delivery.pk] = NotSent(LEASE_SHORT)
                continue
            try:
                results[delivery.pk] = self.send(delivery)
            except DeliveryFailed as exc:
                results[delivery.pk] = exc
        return results

    def wants(self, *, destination, event, cancelled_by_supplier: bool) -> bool:
        """Whether this destination gets a message about this order event.

        A destination that lists its types gets the events of those types, and also, when it
        lists `order.updated`, a line-level event (a shipment, a partial cancellation) that
        changed the order's status: before issue 12 that change was an `order.updated`, so
        such a subscriber keeps receiving what it did (`subscribed_type`).
        """
        if destination.event_types:
            wanted = subscribed_type(destination=destination, event=event)
            return wanted is not None and wanted in self.allowed_event_types
        return event.type in self.default_event_types

    def identity(self, *, destination, event) -> str:
        """What the receiver dedupes on; the same for every try and redelivery of the row."""
        raise NotImplementedError

    def recipient(self, *, destination, order) -> str:
        """Where the message goes, as a person reads it in the portal."""
        raise NotImplementedError

    def target(self, destination) -> str:
        """The destination's address as ops reads it in the admin."""
        return ""

    def row_timeout_seconds(self) -> float:
        """How long one row may take to send (its share of a batch's lease)."""
        return 60.0

    def lease_seconds(self, *, rows: int) -> float:
        """How long a worker holds `rows` claimed rows of this channel before they lapse."""
        from django.conf import settings

        return settings.DELIVERY_CLAIM_SECONDS + rows * self.row_timeout_seconds()

    def run_due(self, *, destination, now) -> bool:
        """For a scheduled channel: whether the destination's next run has come."""
        return False

    def collect(self, destination) -> bool:
        """For a scheduled channel: after a run's sends, take in what the destination left for
        us (the SFTP drop's update files); most channels receive nothing. False when the
        destination could not be read: the run then counts as failed (retried sooner)."""
        return True


def delivery_order(delivery):
    """The order a delivery is about, with supplier, retailer and lines loaded (once)."""
    from orders.documents import orders_with_document_relations
    from orders.models import Order

    if delivery.event_id is None:
        raise DeliveryFailed("this delivery has no order event", retryable=False)
    order = delivery.event.order
    if "lines" not in getattr(order, "_prefetched_objects_cache", {}):
        order = orders_with_document_relations(Order.objects.filter(pk=order.pk)).get()
        delivery.event.order = order
    return order
