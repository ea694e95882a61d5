"""A webhook's name lookup is part of its deadline (WEBHOOK_TIMEOUT_SECONDS).

The slow resolver is `socket.getaddrinfo` replaced for one made-up name (testsupport/slow_dns.py
says why no real DNS server can stand in). The receiver is real (127.0.0.1), and must see
nothing.
"""

from __future__ import annotations

import time

import pytest

from delivery.models import Delivery, DeliveryStatus
from delivery.services import destination_disable, destination_set_webhook, webhook_send_test
from testsupport.factories import place_order
from testsupport.slow_dns import SLOW_NAME
from testsupport.slow_dns import slow_resolver as slow_resolver  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_hook(cole, http_receiver, settings):
    destination_disable(supplier=cole, channel="email")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    # Saved with the name as it is (no lookup yet answers for it: accepted, DNS may come).
    destination, _ = destination_set_webhook(
        supplier=cole, url=f"http://{SLOW_NAME}:{http_receiver.port}/hook"
    )
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    return destination


def test_a_slow_lookup_ends_the_test_event_at_the_deadline(slow_hook, slow_resolver, http_receiver):
    """Private networks allowed (urllib3 looks the name up): the lookup held the page's
    "Send a test event" for as long as the resolver took, 8 s here, then posted."""
    resolver = slow_resolver("127.0.0.1")
    started = time.monotonic()
    result = webhook_send_test(destination=slow_hook)
    took = time.monotonic() - started
    assert resolver.asked.is_set()
    assert not result.ok and result.status_code is None
    assert result.error == "timed out"
    assert took < 2.5, took
    resolver.release.set()  # the lookup's late answer goes nowhere
    assert http_receiver.requests == []
    assert not Delivery.objects.exists()


def test_a_slow_lookup_is_a_timed_out_attempt_retried_later(
    slow_hook,
    slow_resolver,
    http_receiver,
    retailer,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    resolver = slow_resolver("127.0.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count == 1
    assert delivery.last_error == "timed out"
    (attempt,) = delivery.attempts.all()
    assert not attempt.success and attempt.duration_ms < 2500, attempt.duration_ms
    resolver.release.set()
    assert http_receiver.requests == []


def test_a_slow_lookup_of_a_guarded_webhook_ends_at_the_deadline_and_connects_nowhere(
    slow_hook, slow_resolver, settings, connections_to_loopback_only
):
    """Private networks refused: requests-hardened looks the name up to pin the address,
    before any connection (and its deadline) existed. The name turns out public here; by
    then the attempt is over, so nothing is connected to."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    resolver = slow_resolver("93.184.215.14")
    started = time.monotonic()
    result = webhook_send_test(destination=slow_hook)
    took = time.monotonic() - started
    assert resolver.asked.is_set()
    assert not result.ok and result.error == "timed out"
    assert took < 2.5, took
