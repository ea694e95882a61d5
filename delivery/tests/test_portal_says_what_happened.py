"""The Deliveries page and the webhook settings (found in review): the "Pending" filter lists
no row the page calls failing, and a webhook host that can never exist is a form error."""

import pytest

from delivery.dispatcher import events_dispatch
from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus, Destination
from testsupport.commands import command_refused
from testsupport.factories import make_supplier_user, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole_client(client, cole):
    client.force_login(make_supplier_user(supplier=cole, username="ann"))
    return client


def test_the_pending_filter_lists_no_failing_row(cole_client, retailer):
    (failing_order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    (pending_order,) = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    events_dispatch(
        event_ids=[e.pk for o in (failing_order, pending_order) for e in o.events.all()]
    )
    failing = Delivery.objects.get(
        event__order=failing_order, purpose=DeliveryPurpose.SUPPLIER_ORDER
    )
    pending = Delivery.objects.get(
        event__order=pending_order, purpose=DeliveryPurpose.SUPPLIER_ORDER
    )
    Delivery.objects.filter(pk=failing.pk).update(attempt_count=2, last_error="Connection refused")
    assert Delivery.objects.get(pk=failing.pk).status == DeliveryStatus.PENDING

    listed = cole_client.get("/deliveries/", {"status": "failing"}).content.decode()
    assert f'id="delivery-{failing.pk}"' in listed and f'id="delivery-{pending.pk}"' not in listed
    listed = cole_client.get("/deliveries/", {"status": "pending"}).content.decode()
    assert f'id="delivery-{pending.pk}"' in listed and f'id="delivery-{failing.pk}"' not in listed


@pytest.mark.parametrize(
    "url", ["https://a..example/", "https://" + "a" * 64 + ".example/", "https://%00/"]
)
def test_a_webhook_host_that_can_never_exist_is_refused(cole_client, cole, url):
    response = cole_client.post("/settings/webhook/", {"url": url})
    assert response.status_code == 400
    assert "is not a valid http(s) URL" in response.content.decode()
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()
    reason = command_refused("set_channel", "cole", "webhook", "--url", url)
    assert "url" in reason and "not a valid" in reason
    assert not Destination.objects.filter(supplier=cole, channel="webhook").exists()


def test_send_a_test_event_is_limited_per_supplier(cole_client, cole, http_receiver, settings):
    """Each click posts to the supplier's URL and may hold a web worker for the timeout
    (found in review: it had no limit, unlike the SFTP probes)."""
    from django.core.cache import cache

    from delivery.services import destination_set_webhook

    cache.delete(f"webhook-test:{cole.pk}")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TESTS_PER_MINUTE = 2
    destination_set_webhook(supplier=cole, url=http_receiver.url + "/hook")
    http_receiver.script(200, 200, 200)
    pages = [
        cole_client.post("/settings/webhook/test/", follow=True).content.decode() for _ in range(3)
    ]
    assert all("Test event delivered" in page for page in pages[:2])
    assert "Test event not sent: at most 2 test events a minute" in pages[2]
    assert len(http_receiver.requests) == 2  # the third was not posted


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--to", "new@cole.example"], "--to"),
        (["--hosted"], "--hosted"),
        (["--every", "5"], "--every"),
    ],
)
def test_set_channel_off_with_a_setting_option_is_refused_and_changes_nothing(cole, extra, named):
    reason = command_refused("set_channel", "cole", "email", "--off", *extra)
    assert named in reason and "--off" in reason
    assert Destination.objects.get(supplier=cole, channel="email").enabled
