"""While the database is down, portal pages answer 503 with a plain page and Retry-After
(never a 500), and answer as usual once it is back (common/outage.py)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection
from django.test import Client

from testsupport.factories import make_supplier_user
from testsupport.postgres import PostgresCluster, postgres_bin

PAGES = ["/orders/", "/orders/updates/", "/orders/export.csv"]


@contextlib.contextmanager
def database_down():
    """The portal's connection goes to a PostgreSQL server that has just stopped (a real
    cluster of its own, stopped as by a crash), then back to the test database."""
    cluster = PostgresCluster()
    cluster.start()
    cluster.stop(mode="immediate")
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(cluster.port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        cluster.cleanup()


def assert_outage_headers(response):
    """The page's own policy, whichever path made the 503 (a view's error passes the CSP
    middleware, a middleware's error does not): nothing loaded, no frame, no sniffing."""
    from common.outage import OUTAGE_CSP

    assert response["Content-Security-Policy"] == OUTAGE_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def supplier_client(on_postgres, acme):
    if postgres_bin() is None:
        pytest.fail("needs initdb (Debian package 'postgresql')", pytrace=False)
    client = Client(raise_request_exception=False)
    client.force_login(make_supplier_user(supplier=acme, username="ana"))
    return client


@pytest.mark.django_db(transaction=True)
def test_portal_pages_answer_503_with_retry_after_while_the_database_is_down(supplier_client):
    with database_down():
        for page in PAGES:
            response = supplier_client.get(page)
            assert response.status_code == 503, page
            assert response["Retry-After"] == "5"
            assert response["Content-Type"].startswith("text/html")
            text = response.content.decode()
            assert "Unavailable for a moment" in text
            assert "cannot reach its database" in text
            assert "Traceback" not in text and "OperationalError" not in text
            assert_outage_headers(response)

    for page in PAGES:
        assert supplier_client.get(page).status_code == 200, page


@pytest.mark.django_db(transaction=True)
def test_a_login_sent_while_the_database_is_down_is_a_503_and_logs_nobody_in(acme):
    make_supplier_user(supplier=acme, username="bo", password="Bo-Pass-2026!")
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.post("/accounts/login/", {"username": "bo", "password": "Bo-Pass-2026!"})
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert "Unavailable for a moment" in response.content.decode()
        assert_outage_headers(response)
    # Nothing happened: nobody is logged in; the same login works now.
    assert client.get("/orders/").status_code == 302
    response = client.post("/accounts/login/", {"username": "bo", "password": "Bo-Pass-2026!"})
    assert response.status_code == 302
    assert client.get("/orders/").status_code == 200
