"""The update API's Idempotency-Key (issue 13), as Stripe does it.

`idempotency_claim` runs first inside the request's transaction: it inserts the key's row,
so a concurrent request with the same key waits on the unique constraint until this one
commits, then finds the stored answer and replays it: one key applies once. A key older
than SUPPLIER_API_IDEMPOTENCY_HOURS is forgotten; the supplier's expired keys are deleted
whenever it claims one, so the table holds about a day of keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from suppliers.models import Supplier

from ..models import IdempotencyKey

_PENDING = 0  # status_code of a claimed key whose answer is not stored yet


@dataclass(frozen=True)
class Claim:
    """Either a new claim (`row`, `replay` None) or the first answer to replay."""

    row: IdempotencyKey | None
    replay: IdempotencyKey | None
    mismatch: bool = False


def idempotency_fingerprint(*, method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


def idempotency_claim(*, supplier: Supplier, key: str, fingerprint: str) -> Claim:
    """Claim `key` for this request, or return the answer stored for it.

    Call inside the transaction that applies the request and `idempotency_record`s its
    answer; the claim commits or rolls back with them.
    """
    now = timezone.now()
    cutoff = now - timedelta(hours=settings.SUPPLIER_API_IDEMPOTENCY_HOURS)
    IdempotencyKey.objects.filter(supplier=supplier, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                supplier=supplier,
                key=key,
                fingerprint=fingerprint,
                status_code=_PENDING,
                response_body="",
                created_at=now,
            )
    except IntegrityError:
        # Committed by an earlier (or the concurrent, now finished) request with this key.
        stored = IdempotencyKey.objects.select_for_update().get(supplier=supplier, key=key)
        return Claim(row=None, replay=stored, mismatch=stored.fingerprint != fingerprint)
    return Claim(row=row, replay=None)


def idempotency_record(*, row: IdempotencyKey, status_code: int, body: str) -> None:
    row.status_code, row.response_body = status_code, body
    row.save(update_fields=["status_code", "response_body"])
