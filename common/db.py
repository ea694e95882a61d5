"""Prepared statements for the few fixed statements that run on every request.

On PostgreSQL, planning a supplier API page cost as much as running it, and intake's inserts
are planned anew for every order. `execute_prepared` has psycopg prepare such a statement on
its first use on a connection, so PostgreSQL parses and plans it once per connection.

Only statements whose one generic plan is right for every parameter are marked (a lookup by
a unique key, an insert, a page walked down one index). Nothing is prepared automatically:
ORDER HISTORY's filtered pages ran up to half again slower on generic plans, so the rest
keeps PostgreSQL's per-execution planning (settings: prepare_threshold is out of reach).
Prepared statements need server-side parameter binding, which settings turns on with them;
DB_PREPARED_STATEMENTS=false turns both off (e.g. behind a transaction-pooling PgBouncer
older than 1.21).
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper
from django.utils.asyncio import async_unsafe


def execute_prepared(cursor, sql: str, params) -> None:
    """Run `sql` on a Django cursor as a prepared statement where the database allows it."""
    db = cursor.db
    if db.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    if isinstance(cursor, CursorDebugWrapper):  # DEBUG, or a test counting queries
        with cursor.debug_sql(sql, params, use_last_executed_query=True):
            with db.wrap_database_errors:
                cursor.cursor.execute(sql, params, prepare=True)
        return
    with db.wrap_database_errors:
        cursor.cursor.execute(sql, params, prepare=True)


# (id(field), connection alias) -> (its column, its converters, the field). Keyed by id: a
# field's own __hash__ cost more than the rest of the look-up (the entry keeps the field, so
# the id stays its own).
_converters: dict[tuple[int, str], tuple] = {}


def values_from_db(fields, row) -> list:
    """A plain cursor's row as Django's own queries would see it: each value through its
    field's converters (SQLite returns decimals as floats, times as text, booleans as 0/1;
    PostgreSQL needs none of them, so there this is a copy)."""
    connection = connections[DEFAULT_DB_ALIAS]  # what django.db.connection stands for
    values = list(row)
    for index, column, functions in _conversions(fields, connection):
        for function in functions:
            values[index] = function(values[index], column, connection)
    return values


_plans: dict = {}


def _conversions(fields, connection) -> list:
    """(index, column, converters) of the fields that have any; remembered for a tuple of
    fields (by identity: a model's `_meta.concrete_fields`, a module-level tuple), worked
    out each time for a list (callers build those per call)."""
    remember = isinstance(fields, tuple)
    key = (id(fields), connection.alias)
    found = _plans.get(key) if remember else None
    if found is not None and found[0] is fields:
        return found[1]
    plan = []
    for index, field in enumerate(fields):
        converters = _converters.get((id(field), connection.alias))
        if converters is None:
            column = field.get_col(field.model._meta.db_table)
            converters = _converters[(id(field), connection.alias)] = (
                column,
                connection.ops.get_db_converters(column) + field.get_db_converters(connection),
                field,
            )
        if converters[1]:
            plan.append((index, converters[0], converters[1]))
    if remember:
        _plans[key] = (fields, plan)  # holds `fields`, so its id is never reused
    return plan


def timestamptz_compiled(cursor) -> None:
    """On PostgreSQL, read this Django cursor's times with psycopg's compiled loader.

    Django registers a pure-Python one (to set its own UTC tzinfo); for a supplier API page's
    100 `created_at` values it cost about 0.5 ms, as much as the query, and a month of a
    summary's orders read about 3x slower. Same instants, aware, UTC.
    """
    if cursor.db.vendor != "postgresql":
        return
    from psycopg import adapters
    from psycopg.pq import Format

    loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    cursor.cursor.adapters.register_loader("timestamptz", loader)


def values_list(casts, rows: int) -> str:
    """`VALUES (%s::cast, ...), ...`: `rows` rows of placeholders typed by `casts`, for an
    `UPDATE t SET ... FROM (VALUES ...) AS v(...) WHERE t.key = v.key` that writes many rows'
    own values in one statement (PostgreSQL)."""
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    return "VALUES " + ", ".join([row] * rows)


@lru_cache(maxsize=512)
def native_placeholders(sql: str) -> str:
    """`sql` with PostgreSQL's own $1, $2, ... for its %s placeholders (no other % in it).

    psycopg rewrites %s into them on every execution, and keeps the rewrite only for
    statements under 4 kB and 50 parameters: for intake's write (longer, more) the rewrite
    cost more than the rest of the statement's client side. A RawCursor takes $n as it is.
    """
    parts = sql.split("%s")
    if any("%" in part for part in parts):
        raise ValueError("only %s placeholders are supported")
    return "".join(f"{part}${index}" for index, part in enumerate(parts[:-1], start=1)) + parts[-1]


def transaction_pipelined(connection, statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run `statements` as one transaction in one round trip to PostgreSQL.

    psycopg's pipeline mode queues every statement (prepared, where settings allow) and
    sends them with one Sync. On a connection in autocommit (Django's, outside any atomic
    block) they need no BEGIN or COMMIT: statements sent before a Sync are one implicit
    transaction, which the Sync commits, as durably as a COMMIT would; a setting made LOCAL
    by one of them holds for the ones after it and ends with the transaction. (On a
    connection not in autocommit, BEGIN and COMMIT go in the same pipeline.) The server runs
    them in order; the answer comes back once. Outside any atomic block only (the
    transaction is this function's). Returns each statement's rows. If one fails, the rest
    never run, the whole transaction is rolled back and the error is raised as Django's
    class (IntegrityError for a unique violation). Statements use %s placeholders.

    The query log (DEBUG, or a test counting queries) gets one entry for the round trip.
    """
    if connection.in_atomic_block:
        raise RuntimeError("transaction_pipelined() owns its transaction: not inside atomic()")
    return _pipelined(connection, statements, own_transaction=True)


def statements_pipelined(connection, statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run `statements` in order in one round trip, inside the caller's transaction (its
    BEGIN, if not sent yet, goes with them); return each one's rows.

    psycopg's pipeline mode queues them (prepared, where settings allow) and sends them with
    one Sync; PostgreSQL runs them one after another, so a later one sees (and waits behind
    the locks of) the earlier ones. If one fails the rest do not run and the error is raised
    as Django's class; the transaction is then aborted and the caller's atomic block rolls
    it back. %s placeholders. The query log gets one entry for the round trip.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("statements_pipelined() runs inside the caller's atomic block")
    return _pipelined(connection, statements, own_transaction=False)


@async_unsafe
def _pipelined(connection, statements, *, own_transaction: bool) -> list[list[tuple]]:
    import psycopg

    # False, not None, when turned off: None would let psycopg prepare by its own threshold.
    prepare = bool(settings.DB_PREPARED_STATEMENTS)
    raw = _raw_connection(connection)
    logged = [sql for sql, _ in statements]
    explicit = own_transaction and not raw.autocommit
    if explicit:
        logged = ["BEGIN", *logged, "COMMIT"]
    log = (
        CursorDebugWrapper(None, connection).debug_sql(
            "; ".join(logged), None, use_last_executed_query=False
        )
        if connection.queries_logged
        else nullcontext()
    )
    with log, connection.wrap_database_errors:
        cursors = _raw_cursors(connection, raw, len(statements))
        try:
            _pipeline_run(raw, cursors, statements, prepare=prepare, explicit=explicit)
            # Not `cursor.description`, which builds a Column for each of the order row's
            # 60-odd columns (about 0.4 ms a lock read).
            tuples = psycopg.pq.ExecStatus.TUPLES_OK
            return [
                cursor.fetchall() if cursor.pgresult.status == tuples else [] for cursor in cursors
            ]
        except psycopg.Error:
            idle = psycopg.pq.TransactionStatus.IDLE
            if own_transaction and not raw.closed and raw.info.transaction_status != idle:
                raw.rollback()
            raise


def _raw_connection(connection):
    """The psycopg connection under Django's `connection`, connected and checked as
    `connection.cursor()` would (health check, thread sharing), without making the Django
    cursor that call builds (a psycopg cursor, its time-zone loader and the wrapper: about a
    sixth of the write's client side) only to reach it."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    return connection.connection


def _raw_cursors(connection, raw, count: int) -> list:
    """`count` RawCursors on `raw`, kept on the Django connection for its next pipelined
    write (each new cursor copies the connection's adapters: about 20 us apiece). A cursor's
    execute resets it, so a kept one carries nothing over but the rows it last read, which
    the next write replaces; a new psycopg connection gets new cursors."""
    kept = getattr(connection, "_pipelined_cursors", None)
    if kept is None or kept[0] is not raw:
        kept = connection._pipelined_cursors = (raw, [])
    import psycopg

    cursors = kept[1]
    while len(cursors) < count:
        cursors.append(psycopg.RawCursor(raw))
    return cursors[:count]


def _pipeline_run(raw, cursors, statements, *, prepare: bool, explicit: bool) -> None:
    """The statements in one pipeline (between BEGIN and COMMIT when `explicit`); the first
    error is raised.

    psycopg reads whatever answers have arrived while it sends, so a statement's error
    (the unique reference of a repeat intake) can surface inside the block, on a later
    execute; leaving the block by that exception made psycopg log "error ignored terminating
    Pipeline: pipeline aborted" for the Sync that then finds the pipeline aborted. So the
    block is left normally, the Sync ends the pipeline, and the first error is raised after.
    """
    import psycopg

    first: psycopg.Error | None = None
    # BEGIN and COMMIT on one plain cursor whose answers nobody reads: `raw.execute` made a
    # client-side cursor for each and parsed the text for placeholders (13 us a write).
    control = psycopg.RawCursor(raw) if explicit else None
    try:
        with raw.pipeline():
            try:
                if control is not None:
                    control.execute(b"BEGIN")
                for cursor, (sql, params) in zip(cursors, statements):
                    cursor.execute(native_placeholders(sql), params, prepare=prepare)
                if control is not None:
                    control.execute(b"COMMIT")
            except psycopg.Error as exc:
                first = exc
        # The pipeline's exit sent the Sync and read every answer.
    except psycopg.Error:
        if first is None:
            raise
    finally:
        if control is not None:
            control.close()
    if first is not None:
        raise first
