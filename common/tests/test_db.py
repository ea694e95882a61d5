"""Prepared statements for the hot fixed statements (common/db.py)."""

import logging

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from common.db import execute_prepared


def _prepared(fragment: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchone()[0]


def test_a_marked_statement_runs_is_counted_and_on_postgresql_is_prepared_once(db):
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        for n in (1, 2, 3):
            execute_prepared(cursor, "SELECT %s + 40", [n])
            assert cursor.fetchone()[0] == n + 40
    assert len(captured.captured_queries) == 3
    if connection.vendor == "postgresql":
        assert _prepared("+ 40") == 1


def test_statements_not_marked_are_never_prepared(db):
    with connection.cursor() as cursor:
        for n in range(10):
            cursor.execute("SELECT %s + 41", [n])
            assert cursor.fetchone()[0] == n + 41
    if connection.vendor == "postgresql":
        assert _prepared("+ 41") == 0


def test_a_marked_statement_raises_djangos_errors(db):
    sql = "INSERT INTO orders_counter (name, value) VALUES (%s, %s)"
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, ["twice", 1])
        with pytest.raises(IntegrityError), transaction.atomic():
            execute_prepared(cursor, sql, ["twice", 2])
        cursor.execute("SELECT value FROM orders_counter WHERE name = %s", ["twice"])
        assert cursor.fetchall() == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_a_pipelined_statement_that_fails_early_raises_its_error_and_logs_nothing(
    on_postgres, caplog
):
    from django.db import DataError

    from common.db import transaction_pipelined

    # The first statement fails at once; the next one is 8 MB to send, so its error has
    # arrived (and psycopg has read it) before the block has sent everything.
    statements = [("SELECT 1 / (%s - 1)", [1]), ("SELECT length(%s)", ["x" * 8_000_000])]
    with caplog.at_level("WARNING", logger="psycopg"), pytest.raises(DataError):
        transaction_pipelined(connection, statements)
    assert [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("psycopg") and r.levelno >= logging.WARNING
    ] == []
    assert not connection.in_atomic_block
    assert transaction_pipelined(connection, [("SELECT %s + 1", [41])]) == [[(42,)]]
