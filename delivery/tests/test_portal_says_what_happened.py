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
