"""Writing a cancellation or a shipment: the lines' quantities, the record and its lines.

On PostgreSQL the three writes are one statement (data-modifying CTEs: the lines' UPDATE
from a VALUES list, the record's INSERT, its lines' INSERT), one round trip instead of three;
elsewhere (SQLite) the ORM does them one by one. Either way they run under the order's hold
(its row lock), and the line constraint (cancelled + shipped <= quantity) backs it: a
violation is OrderStateError and breaks the hold (the transaction is aborted).
"""

from __future__ import annotations

from django.db import IntegrityError, connection
from django.db.models import Model

from ..models import OrderLine
from .changes import OrderHold, lines_add
from .events import OrderStateError


def record_write(
    *,
    hold: OrderHold,
    record: Model,
    line_model: type[Model],
    fk: str,
    pairs: list[tuple[OrderLine, int]],
    field: str,
) -> Model:
    """Add the pairs' units to each line's `field`, insert `record` (unsaved) and one
    `line_model` row per pair; return `record`, saved (or, under an update file's batch,
    given its id and written with the batch's others before its transaction ends)."""
    if hold.writes is not None:
        return hold.writes.record_write(
            record=record, line_model=line_model, fk=fk, pairs=pairs, field=field
        )
    if connection.vendor != "postgresql":
        lines_add(hold=hold, pairs=pairs, field=field)
        record.save(force_insert=True)
        line_model.objects.bulk_create(
            line_model(**{fk: record}, line=line, quantity=units) for line, units in pairs
        )
        return record
    meta = record._meta
    columns = [
        f for f in meta.concrete_fields if not f.primary_key and f.attname != meta.pk.attname
    ]
    values_sql = ", ".join(["(%s::bigint, %s::integer)"] * len(pairs))
    pair_params = [x for line, units in pairs for x in (line.pk, units)]
    line_table = OrderLine._meta.db_table
    child = line_model._meta
    child_fk = child.get_field(fk).column
    child_line = child.get_field("line").column
    sql = (
        f"WITH v(id, q) AS (VALUES {values_sql}), "
        f"u AS (UPDATE {line_table} l SET {field} = l.{field} + v.q FROM v "
        f"WHERE l.id = v.id RETURNING l.id), "
        f"r AS (INSERT INTO {meta.db_table} ({', '.join(f.column for f in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id), "
        f"c AS (INSERT INTO {child.db_table} ({child_fk}, {child_line}, quantity) "
        f"SELECT r.id, v.id, v.q FROM r, v) "
        f"SELECT r.id, (SELECT count(*) FROM u) FROM r"
    )
    params = [
        *pair_params,
        *[f.get_db_prep_save(getattr(record, f.attname), connection) for f in columns],
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            record_id, updated = cursor.fetchone()
    except IntegrityError:  # the line constraint, should a writer ever skip the order lock
        hold.broken = True
        raise OrderStateError({"lines": ["More units than are open; reload and try again."]})
    if updated != len(pairs):
        hold.broken = True
        raise RuntimeError(f"{updated} of {len(pairs)} lines updated")
    record.pk = record_id
    record._state.adding = False
    for line, units in pairs:
        setattr(line, field, getattr(line, field) + units)
    return record
