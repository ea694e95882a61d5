"""The PostgreSQL backend's health check (orders_portal/postgresql/base.py): a busy
connection is checked by polling its socket, an idle one by Django's SELECT 1, and either
way a connection the server has ended is replaced before a request's first query."""

import select
import time

import pytest
from django.db import connection, connections

from orders_portal.postgresql.base import HEALTH_CHECK_PING_AFTER, DatabaseWrapper


@pytest.fixture
def wrapper(on_postgres):
    """A second connection to the test database, with health checks, outside the test's
    transaction (it only reads), as a web worker holds it between requests."""
    settings_dict = {**connection.settings_dict, "CONN_HEALTH_CHECKS": True, "CONN_MAX_AGE": 60}
    other = connections.create_connection("default")
    other.settings_dict = settings_dict
    pings = []
    real_is_usable = other.is_usable

    def counting_is_usable():
        pings.append(time.monotonic())
        return real_is_usable()

    other.is_usable = counting_is_usable
    other.pings = pings
    yield other
    other.close()


def _backend_pid(db) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _next_request(db) -> None:
    # What Django's request_started/request_finished handlers do between two requests.
    db.close_if_unusable_or_obsolete()


def test_the_product_runs_on_this_backend(on_postgres):
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.vendor == "postgresql"


def test_a_busy_connection_is_checked_without_a_round_trip(wrapper):
    pid = _backend_pid(wrapper)
    for _ in range(3):
        _next_request(wrapper)
        assert _backend_pid(wrapper) == pid
    assert wrapper.pings == []


def test_a_connection_idle_for_longer_gets_selects_1(wrapper):
    pid = _backend_pid(wrapper)
    _next_request(wrapper)
    wrapper.health_checked_at = time.monotonic() - HEALTH_CHECK_PING_AFTER - 0.5
    assert _backend_pid(wrapper) == pid
    assert len(wrapper.pings) == 1


def test_a_connection_the_server_ended_is_replaced_before_the_first_query(wrapper):
    pid = _backend_pid(wrapper)
    _next_request(wrapper)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    # The server's farewell reaches the idle socket a moment later.
    poller = select.poll()
    poller.register(wrapper.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(10_000), "the ended connection's socket never became readable"
    assert wrapper.health_check_done is False

    new_pid = _backend_pid(wrapper)  # no OperationalError: replaced first

    assert new_pid != pid
    assert len(wrapper.pings) == 1  # what the poll found was confirmed by SELECT 1
