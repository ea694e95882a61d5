"""Retailer reads on intake's hot path."""

from __future__ import annotations

from django.db import connection

from common.db import execute_prepared, values_from_db

from ..models import Retailer

_RETAILER_KEY_FIELDS = ("id", "slug", "name", "email", "commission_rate")


def retailer_key_sql() -> str:
    """The look-up of an active retailer by its key's digest (one parameter)."""
    qn = connection.ops.quote_name
    return (
        f"SELECT {', '.join(qn(c) for c in _RETAILER_KEY_FIELDS)} "
        f"FROM {qn(Retailer._meta.db_table)} WHERE {qn('api_key_hash')} = %s AND {qn('is_active')}"
    )


def retailer_for_api_key(*, digest: str) -> Retailer | None:
    """The active retailer whose API key has this digest, or None.

    Runs on every intake request: one plain query and a light instance (other fields
    deferred) instead of the ORM's query building, which cost as much as the query.
    """
    with connection.cursor() as cursor:
        execute_prepared(cursor, retailer_key_sql(), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = [Retailer._meta.get_field(name) for name in _RETAILER_KEY_FIELDS]
    return Retailer.from_db(connection.alias, _RETAILER_KEY_FIELDS, values_from_db(fields, row))
