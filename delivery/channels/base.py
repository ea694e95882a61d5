"""The one small interface every channel implements."""

from __future__ import annotations

from dataclasses import dataclass


class DeliveryFailed(Exception):
    """A send that did not succeed.

    retryable: a later try may succeed (timeouts, 5xx, connection refused).
    disable_destination: the receiver asked us to stop (webhook 410 Gone).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        status_code: int | None = None,
        response_excerpt: str = "",
        disable_destination: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.response_excerpt = response_excerpt
        self.disable_destination = disable_destination


@dataclass
class NotSent:
    """A batch member the channel chose not to try (its row is released, no attempt counted)."""

    reason: str = ""


@dataclass
class SendResult:
    status_code: int | None = None
    response_excerpt: str = ""


class BaseChannel:
    name: str = ""

    def send(self, delivery) -> SendResult:
        """Send one delivery, or raise DeliveryFailed."""
        raise NotImplementedError

    def send_batch(self, deliveries: list) -> dict[int, SendResult | DeliveryFailed | NotSent]:
        """Send several over one connection where the channel can; keyed by delivery id."""
        results: dict[int, SendResult | DeliveryFailed] = {}
        for delivery in deliveries:
            try:
                results[delivery.pk] = self.send(delivery)
            except DeliveryFailed as exc:
                results[delivery.pk] = exc
        return results


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
