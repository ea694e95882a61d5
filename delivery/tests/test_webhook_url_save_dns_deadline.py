"""Saving a webhook looks its name up (private addresses are refused at once, not three days
of failures later); that lookup is bounded like a send's (WEBHOOK_TIMEOUT_SECONDS).

getaddrinfo has no timeout: a name whose DNS never answered held the settings page's POST
(a web worker) for as long as the resolver took, so a few such saves could hold every
worker. A lookup past the deadline is taken as a name that does not resolve now: the URL is
saved, and the network guard checks the address actually connected to on every send.
The slow resolver is testsupport/slow_dns.py (which says why no real DNS server stands in).
"""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from delivery.models import Destination
from testsupport.slow_dns import SLOW_NAME
from testsupport.slow_dns import slow_resolver as slow_resolver  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5


def test_a_slow_lookup_ends_the_portal_save_at_the_deadline(
    ann_client, acme, guarded, slow_resolver
):
    resolver = slow_resolver("93.184.215.14")
    started = time.monotonic()
    response = ann_client.post("/settings/webhook/", {"url": f"https://{SLOW_NAME}/hook"})
    took = time.monotonic() - started
    assert resolver.asked.is_set()
    assert took < 2.5, took
    assert response.status_code == 200
    assert "signing secret" in response.content.decode()
    webhook = Destination.objects.get(supplier=acme, channel="webhook")
    assert webhook.enabled and webhook.webhook_url == f"https://{SLOW_NAME}/hook"


def test_a_slow_lookup_ends_set_channel_at_the_deadline(acme, guarded, slow_resolver):
    resolver = slow_resolver("93.184.215.14")
    started = time.monotonic()
    call_command("set_channel", "acme", "webhook", "--url", f"https://{SLOW_NAME}/hook")
    took = time.monotonic() - started
    assert resolver.asked.is_set()
    assert took < 2.5, took
    assert Destination.objects.get(supplier=acme, channel="webhook").enabled


def test_a_prompt_private_answer_is_still_refused(ann_client, acme, guarded, slow_resolver):
    """The calibration: within the deadline, the lookup's answer decides as before."""
    resolver = slow_resolver("127.0.0.1")
    resolver.release.set()  # answers at once
    response = ann_client.post("/settings/webhook/", {"url": f"https://{SLOW_NAME}/hook"})
    assert response.status_code == 400
    assert "not a public internet address" in response.content.decode()
    assert not Destination.objects.filter(supplier=acme, channel="webhook").exists()
