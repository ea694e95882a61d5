"""The update API's Idempotency-Key (issue 13), as Stripe does it.

`idempotency_claim` runs first inside the request's transaction: it inserts the key's row,
so a concurrent request with the same key waits on the unique constraint until this one
commits, then finds the stored answer and replays it: one key applies once. A key older
than SUPPLIER_API_IDEMPOTENCY_HOURS is forgotten; the supplier's expired keys are deleted
whenever it claims one (on PostgreSQL those no other claim is deleting), so the table
holds about a day of keys. On PostgreSQL the claim is one round trip (the DELETE and an
INSERT ... ON CONFLICT DO NOTHING, pipelined, which waits on a concurrent claim of the key
just as the constraint does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.db import execute_prepared, statements_pipelined
from common.inserts import insert_fields, insert_params
from suppliers.models import Supplier

from ..models import IdempotencyKey
from ..transactions import bounded_bound_take

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
    if connection.vendor == "postgresql":
        return _claim_pipelined(
            supplier=supplier, key=key, fingerprint=fingerprint, now=now, cutoff=cutoff
        )
    IdempotencyKey.objects.filter(supplier=supplier, created_at__lt=cutoff).delete()
    row = _pending_row(supplier=supplier, key=key, fingerprint=fingerprint, now=now)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Committed by an earlier (or the concurrent, now finished) request with this key.
        stored = IdempotencyKey.objects.select_for_update().get(supplier=supplier, key=key)
        return Claim(row=None, replay=stored, mismatch=stored.fingerprint != fingerprint)
    return Claim(row=row, replay=None)


def _pending_row(*, supplier, key: str, fingerprint: str, now) -> IdempotencyKey:
    """The key's row as claimed: no answer stored yet."""
    return IdempotencyKey(
        supplier=supplier,
        key=key,
        fingerprint=fingerprint,
        status_code=_PENDING,
        response_body="",
        created_at=now,
    )


@cache
def _claim_sql() -> tuple[str, str]:
    table = IdempotencyKey._meta.db_table
    fields = insert_fields(IdempotencyKey)
    # SKIP LOCKED: expired keys another request of the supplier's is deleting (its
    # transaction still open, waiting on its order's lock, say) are left to it; waiting for
    # them held this request up, past its bound, for a wait not its own (found in review).
    delete = (
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
        "WHERE supplier_id = %s AND created_at < %s FOR UPDATE SKIP LOCKED)"
    )
    # A concurrent request's uncommitted row with this key makes the INSERT wait for it, as
    # the unique constraint did: then nothing is inserted if it committed.
    insert = (
        f"INSERT INTO {table} ({', '.join(f.column for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT ON CONSTRAINT idempotency_supplier_key DO NOTHING RETURNING id"
    )
    return delete, insert


def _claim_pipelined(*, supplier, key: str, fingerprint: str, now, cutoff) -> Claim:
    """On PostgreSQL: the expired keys' DELETE and the claim's INSERT in one round trip,
    behind the BEGIN and the transaction's bound when the caller's block left them to it
    (`bounded_atomic(bound_with_first=True)`); no savepoint."""
    row = _pending_row(supplier=supplier, key=key, fingerprint=fingerprint, now=now)
    delete, insert = _claim_sql()
    statements = [
        (delete, [supplier.pk, connection.ops.adapt_datetimefield_value(cutoff)]),
        (insert, insert_params([row])),
    ]
    bound = bounded_bound_take()
    if bound is not None:
        statements.insert(0, bound)
    inserted = statements_pipelined(connection, statements)[-1]
    if not inserted:  # committed by an earlier (or the concurrent, now finished) request
        stored = (
            IdempotencyKey.objects.select_for_update().filter(supplier=supplier, key=key).first()
        )
        if stored is None or stored.created_at < cutoff:
            # Expired, and deleted by another request of the supplier's between our INSERT
            # and this read (found in review: `.get()` made that a 500): the key is free.
            # Or expired and still there: our DELETE skipped it while another claim was
            # deleting it, and that claim rolled back; it is locked now, ours to delete.
            if stored is not None:
                stored.delete()
            return _claim_pipelined(
                supplier=supplier, key=key, fingerprint=fingerprint, now=now, cutoff=cutoff
            )
        return Claim(row=None, replay=stored, mismatch=stored.fingerprint != fingerprint)
    row.pk = inserted[0][0]
    row._state.adding = False
    row._state.db = connection.alias
    return Claim(row=row, replay=None)


@cache
def _record_sql() -> str:
    meta = IdempotencyKey._meta
    status, body = (meta.get_field(name).column for name in ("status_code", "response_body"))
    return f"UPDATE {meta.db_table} SET {status} = %s, {body} = %s WHERE {meta.pk.column} = %s"


def idempotency_record(*, row: IdempotencyKey, status_code: int, body: str) -> None:
    """Store the answer on the claimed key's row (prepared SQL: no ORM compile per request)."""
    row.status_code, row.response_body = status_code, body
    with connection.cursor() as cursor:
        execute_prepared(cursor, _record_sql(), [status_code, body, row.pk])
