"""What every order service shares: the announcement of its events, and its error classes."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import OrderEvent
from ..signals import order_events_committed, order_events_notify
from ..transactions import pipelined_write_current

logger = logging.getLogger("orders.services")


class OrderChangedError(ValidationError):
    """The order changed since the caller read it (a stale form)."""

    @classmethod
    def for_order(cls, order) -> OrderChangedError:
        """The one wording every stale portal form shows (edit, Cancel items, Ship,
        Acknowledge): what happened, what the order is now, that nothing was saved, and what
        to do. `order` is the order as it now is."""
        return cls(
            {
                "__all__": [
                    f"Order {order.number} changed since you opened this page (someone else "
                    f"updated it, or this form was sent twice): it is now "
                    f"{order.get_status_display().lower()}. Nothing was saved. Look at the "
                    "order again and, if your change still applies, submit it again."
                ]
            }
        )


class OrderStateError(ValidationError):
    """The order's state does not allow the change: more than is open, a final order.

    A ValidationError keyed by field like any other, so forms show it; every message has
    code "conflict" (and so has the error), which the update API answers with 409.
    """

    code = "conflict"

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(
            {
                field: [ValidationError(message, code="conflict") for message in messages]
                for field, messages in errors.items()
            }
        )


def announce_on_commit(event_ids: list[int]) -> None:
    """Announce the events (orders/signals.py): NOTIFY now, the signal after commit.

    A failing listener never undoes the commit. Inside a `bounded_pipelined()` write the
    NOTIFY is already part of it, and `event_ids` is read after its commit (the write fills
    the list in then: the ids come back with it).
    """
    write = pipelined_write_current()
    if write is None:
        order_events_notify()

    def announce() -> None:
        for receiver, result in order_events_committed.send_robust(
            sender=OrderEvent, event_ids=event_ids
        ):
            if isinstance(result, Exception):
                logger.error(
                    "order event listener %r failed for events %s: %r; the sweeper will retry",
                    receiver,
                    event_ids,
                    result,
                )

    if write is None:
        transaction.on_commit(announce)
    else:
        write.on_commit(announce)
