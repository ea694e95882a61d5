"""One email of a batch that fails in an unforeseen way (a bug, not an SMTP answer) fails
alone: the batch's other rows keep their outcome, and those the server took are never mailed
again.

Before, the error left the batch, every row of it was marked failed, and the retry mailed
again the suppliers that already had their order. No real input is known to raise such an
error (addresses and texts are checked on the way in), so the tests inject it into the one
rendered message, a stand-in for a template or library bug; the SMTP server is real.
"""

import pytest

from delivery.channels import email as email_channel
from delivery.models import Delivery, DeliveryAttempt, DeliveryPurpose, DeliveryStatus
from delivery.services.claims import deliveries_claim
from delivery.services.sending import _send_claimed
from testsupport.factories import place_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rows(cole, retailer, email_via_smtp, settings):
    """Three due order emails of one destination (no worker runs: nothing is queued)."""
    settings.CELERY_BROKER_URL = "memory://"
    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 0]
    for n in range(3):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}], reference=f"B-{n}")
    found = list(
        Delivery.objects.filter(purpose=DeliveryPurpose.SUPPLIER_ORDER, channel="email").order_by(
            "pk"
        )
    )
    assert len(found) == 3
    return found


def _broken(monkeypatch, *, delivery_id, at: str):
    """Make the one row's email raise a plain RuntimeError when rendered (`at="render"`) or
    when its message is built for sending (`at="send"`, after the SMTP session is open)."""
    real = email_channel.email_render

    def render(delivery):
        if delivery.pk == delivery_id and at == "render":
            raise RuntimeError("template bug")
        message = real(delivery)
        if delivery.pk == delivery_id and at == "send":

            def broken_message(*args, **kwargs):
                raise RuntimeError("library bug")

            message.message = broken_message
        return message

    monkeypatch.setattr(email_channel, "email_render", render)


def _send(rows):
    token, claimed = deliveries_claim(delivery_ids=[d.pk for d in rows], lease_seconds=60)
    assert len(claimed) == len(rows)
    return _send_claimed(token=token, rows=claimed)


@pytest.mark.parametrize("at", ["render", "send"])
def test_one_broken_email_fails_alone_and_the_others_are_not_mailed_again(
    rows, email_via_smtp, monkeypatch, at, caplog
):
    first, broken, third = rows
    _broken(monkeypatch, delivery_id=broken.pk, at=at)

    outcomes = _send(rows)

    assert outcomes[first.pk] == "delivered" and outcomes[third.pk] == "delivered"
    assert outcomes[broken.pk] != "delivered"
    mails = email_via_smtp.wait_for(2)
    assert sorted(m.message_id for m in mails) == sorted([first.identity, third.identity])
    broken.refresh_from_db()
    assert broken.status == DeliveryStatus.PENDING  # retried, not given up
    (attempt,) = DeliveryAttempt.objects.filter(delivery=broken)
    assert not attempt.success and "internal error: RuntimeError" in attempt.error
    assert any("unexpected error for delivery" in r.getMessage() for r in caplog.records)
    for delivery in (first, third):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert DeliveryAttempt.objects.filter(delivery=delivery, success=False).count() == 0

    # Mended, the retry sends the one row; the others' suppliers get no second copy.
    monkeypatch.undo()
    assert _send([broken]) == {broken.pk: "delivered"}
    mails = email_via_smtp.wait_for(3)
    assert sorted(m.message_id for m in mails) == sorted(d.identity for d in rows)
    assert len(email_via_smtp.messages) == 3


def test_the_email_after_a_broken_one_goes_on_the_same_connection(
    rows, email_via_smtp, monkeypatch
):
    """The broken message is the first of the batch: the session is reset and the rest go."""
    first, second, third = rows
    _broken(monkeypatch, delivery_id=first.pk, at="send")

    outcomes = _send(rows)

    assert outcomes[second.pk] == outcomes[third.pk] == "delivered"
    mails = email_via_smtp.wait_for(2)
    assert sorted(m.message_id for m in mails) == sorted([second.identity, third.identity])
