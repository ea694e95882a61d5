"""A destination that answers again is noticed by its first success: its rows waiting out a
backoff go along at once (delivery/services/claims.py, `waiting_after_healing`), not each at
its own next try, which the schedule puts minutes to hours away."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.dispatcher import events_dispatch
from delivery.models import Delivery, DeliveryStatus
from delivery.services import delivery_send, destination_disable, destination_set_webhook
from delivery.services.claims import EARLY_FAILED_PREFIX
from orders.models import OrderEvent
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(cole, http_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.DELIVERY_HEALED_MIN_WAIT_SECONDS = 30
    destination_disable(supplier=cole, channel="email")
    destination, _ = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    return destination


def new_row(retailer) -> Delivery:
    (order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))
    return Delivery.objects.get(channel="webhook", event__order=order)


def failed_a_while_ago(row: Delivery, *, next_try_in: timedelta) -> None:
    """As if its last try failed two minutes ago and its backoff ends `next_try_in` from now."""
    now = timezone.now()
    Delivery.objects.filter(pk=row.pk).update(
        updated_at=now - timedelta(minutes=2), next_attempt_at=now + next_try_in
    )


def numbers_received(http_receiver) -> list[str]:
    return [json.loads(r.body)["data"]["number"] for r in http_receiver.requests]


def test_rows_waiting_out_a_backoff_go_with_the_first_success(hook, retailer, http_receiver):
    http_receiver.script(500, 500)  # the receiver is down
    first, second = new_row(retailer), new_row(retailer)
    assert delivery_send(delivery_id=first.pk) == "retry"
    assert delivery_send(delivery_id=second.pk) == "retry"
    failed_a_while_ago(first, next_try_in=timedelta(minutes=28))
    failed_a_while_ago(second, next_try_in=timedelta(hours=2))

    third = new_row(retailer)  # the receiver is back: a new order's first try succeeds
    assert delivery_send(delivery_id=third.pk) == "delivered"
    http_receiver.wait_for(5)
    for row in (first, second, third):
        row.refresh_from_db()
        assert row.status == DeliveryStatus.DELIVERED
    assert numbers_received(http_receiver)[2:] == [
        third.event.order.number,
        first.event.order.number,  # earliest next try first
        second.event.order.number,
    ]
    # The early try did not use up a try of the schedule; every try is on record.
    assert (first.attempt_count, first.attempts.count()) == (1, 2)
    assert list(first.attempts.order_by("started_at").values_list("success", flat=True)) == [
        False,
        True,
    ]


def test_a_row_that_fails_its_early_try_waits_for_its_own_next_try(hook, retailer, http_receiver):
    http_receiver.script(500)
    refused = new_row(retailer)
    assert delivery_send(delivery_id=refused.pk) == "retry"
    failed_a_while_ago(refused, next_try_in=timedelta(minutes=28))
    recent = new_row(retailer)
    http_receiver.script(500)
    assert delivery_send(delivery_id=recent.pk) == "retry"  # failed just now: not early

    # The receiver takes the next order but refuses that one row again.
    http_receiver.script(200, 500)
    assert delivery_send(delivery_id=new_row(retailer).pk) == "delivered"
    http_receiver.wait_for(4)
    refused.refresh_from_db()
    assert refused.status == DeliveryStatus.PENDING
    assert refused.last_error.startswith(EARLY_FAILED_PREFIX)
    assert refused.attempt_count == 1  # still its place in the schedule
    assert refused.next_attempt_at > timezone.now()

    # The next success leaves both alone: one early try per try of the schedule, and the
    # row that failed within DELIVERY_HEALED_MIN_WAIT_SECONDS waits too.
    assert delivery_send(delivery_id=new_row(retailer).pk) == "delivered"
    http_receiver.wait_for(5)
    assert len(http_receiver.requests) == 5
    for row in (refused, recent):
        row.refresh_from_db()
        assert row.status == DeliveryStatus.PENDING and row.attempts.count() == 1 + (
            row.pk == refused.pk
        )


def test_early_rows_given_back_untried_keep_their_count(hook, retailer, http_receiver):
    """A batch stops at its first failure and gives the rest back untried; an early row
    among them was never counted, so nothing is taken back from it (before, its count
    drifted down a try each time, below the tries on record, and at 0 the release broke the
    count's check: the task failed before recording what it had sent)."""
    http_receiver.script(500, 500)
    poison, waiting = new_row(retailer), new_row(retailer)
    assert delivery_send(delivery_id=poison.pk) == "retry"
    assert delivery_send(delivery_id=waiting.pk) == "retry"
    for _ in range(2):
        failed_a_while_ago(poison, next_try_in=timedelta(minutes=10))
        failed_a_while_ago(waiting, next_try_in=timedelta(minutes=20))
        Delivery.objects.filter(pk__in=[poison.pk, waiting.pk]).update(last_error="500")
        http_receiver.script(200, 500)  # the new row goes; the batch's first (poison) fails
        fresh = new_row(retailer)
        assert delivery_send(delivery_id=fresh.pk) == "delivered"
        fresh.refresh_from_db()
        waiting.refresh_from_db()
        assert fresh.status == DeliveryStatus.DELIVERED
        assert waiting.status == DeliveryStatus.PENDING and waiting.claimed_until is None
        assert (waiting.attempt_count, waiting.attempts.count()) == (1, 1)
