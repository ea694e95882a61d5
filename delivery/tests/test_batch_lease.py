"""A destination's batch never outlives its lease: a row is started only while at least one
row's timeout of the lease is left, the rest are given back untried.

Found by bench/chaos.py: a worker that died mid-batch (PostgreSQL restarted under it) left
fifty rows leased for DELIVERY_CLAIM_SECONDS plus fifty webhook timeouts (over ten minutes
with the defaults) before anyone could send them.
"""

import pytest

from delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from delivery.services import destination_disable, destination_set_webhook
from delivery.services.claims import deliveries_claim
from delivery.services.sending import BATCH_LEASE_ROWS, _send_claimed
from testsupport.factories import place_order
from testsupport.http import Answer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rows(cole, retailer, http_receiver, settings):
    """Three due webhook rows of one destination (no worker runs: nothing is queued)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.CELERY_BROKER_URL = "memory://"
    destination_disable(supplier=cole, channel="email")
    destination, _ = destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    for _ in range(3):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    found = list(Delivery.objects.filter(destination=destination).order_by("pk"))
    assert len(found) == 3
    return found


def test_a_batch_stops_starting_rows_when_its_lease_runs_short(rows, http_receiver):
    # Lease 3.5 s, timeout 2 s: rows may start for the first 0.5 s only; each answer takes 1 s.
    http_receiver.default = Answer(status=200, delay=1.0)
    token, claimed = deliveries_claim(delivery_ids=[d.pk for d in rows], lease_seconds=3.5)
    assert len(claimed) == 3

    outcomes = _send_claimed(token=token, rows=claimed)

    first, *rest = rows
    assert outcomes == {first.pk: "delivered", **{d.pk: "released" for d in rest}}
    assert [r.headers["webhook-id"] for r in http_receiver.requests] == [first.identity]
    for delivery in rest:
        delivery.refresh_from_db()
        # Given back untried: pending, free for the next task, no attempt counted or logged.
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.claimed_until is None and delivery.attempt_count == 0
        assert not DeliveryAttempt.objects.filter(delivery=delivery).exists()


def test_the_follow_on_batch_is_leased_as_for_two_rows(settings):
    from delivery.channels import channel_get

    webhook = channel_get("webhook")
    settings.DELIVERY_DESTINATION_BATCH = 50
    assert BATCH_LEASE_ROWS == 2
    assert webhook.lease_seconds(rows=BATCH_LEASE_ROWS) == (
        settings.DELIVERY_CLAIM_SECONDS + 2 * settings.WEBHOOK_TIMEOUT_SECONDS
    )


def test_an_sftp_run_is_leased_by_its_size_not_ten_minutes(settings):
    """A worker killed mid-run used to hold even a few files for ten minutes."""
    from delivery.channels.sftp import SftpChannel

    settings.DELIVERY_CLAIM_SECONDS = 120
    assert SftpChannel().lease_seconds(rows=10) == 125
    assert SftpChannel().lease_seconds(rows=5000) == 2620
