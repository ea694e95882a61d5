"""Migration 0016 forgets the Idempotency-Keys stored with a refusal, keeps the others.

Its function runs here on the current models (the table has not changed since it was
written): keys kept with a 400 or a 404 before the rule changed would replay that refusal.
"""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from orders.models import IdempotencyKey

pytestmark = pytest.mark.django_db

migration = importlib.import_module("orders.migrations.0016_idempotency_forget_refusals")


def test_refusals_are_forgotten_successes_and_state_conflicts_kept(acme):
    for key, status in [("a", 200), ("b", 201), ("c", 409), ("d", 400), ("e", 404)]:
        IdempotencyKey.objects.create(
            supplier=acme,
            key=key,
            fingerprint="f" * 64,
            status_code=status,
            response_body="{}",
            created_at=timezone.now(),
        )

    migration.forget_refusals(apps, None)

    kept = dict(IdempotencyKey.objects.values_list("key", "status_code"))
    assert kept == {"a": 200, "b": 201, "c": 409}
