"""Intake outside any transaction, as the API serves it: the write in one round trip to
PostgreSQL (orders/services/intake_write.py, orders/transactions.py's bounded_pipelined), and
the retailer taken from the process's memory while Redis says nothing changed
(orders/retailer_memory.py)."""

import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orders import retailer_memory
from orders.models import Order, OrderEvent, OrderIntake, OrderLine
from testsupport.executables import require_executable
from testsupport.factories import intake_payload, make_products, make_supplier

URL = "/api/v1/retailer/orders"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _dispatch_elsewhere(settings):
    # The listener process dispatches (production's default): the request's own queries only.
    settings.DELIVERY_DISPATCH = "listener"


@pytest.fixture
def redis_cache(settings):
    from testsupport.processes import RedisServer

    require_executable(["redis-server"], "redis-server")
    server = RedisServer().start()
    settings.CACHES = {
        "default": {"BACKEND": "orders_portal.cache.RedisCache", "LOCATION": server.url(0)}
    }
    retailer_memory.forget_all()
    try:
        yield server
    finally:
        retailer_memory.forget_all()
        server.cleanup()


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def post_counted(client, payload) -> tuple[int, object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, payload, format="json")
    return response.status_code, response.json(), [q["sql"] for q in captured]


def test_a_new_intake_writes_in_one_round_trip(on_postgres, retailer_client, acme, bolt):
    payload = intake_payload(
        reference="R-RT",
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "BOLT-7", "quantity": 1}],
    )
    status, body, sqls = post_counted(retailer_client, payload)
    assert status == 201, body
    # The key, the catalogue, and the write: the bound and the one statement in one round
    # trip, an implicit transaction that the pipeline's Sync commits (no BEGIN, no COMMIT).
    assert len(sqls) == 3, sqls
    assert sqls[2].startswith("SELECT set_config('statement_timeout'"), sqls[2]
    assert "; WITH i AS (INSERT INTO" in sqls[2] and "BEGIN" not in sqls[2]
    assert {doc["supplier"] for doc in body["orders"]} == {"acme", "bolt"}
    assert Order.objects.count() == 2 and OrderEvent.objects.count() == 2


def test_the_one_statement_splits_per_supplier_with_every_row_linked(
    on_postgres, retailer, retailer_client, acme, bolt
):
    cole = make_supplier(slug="cole", name="Cole Candles")
    make_products(supplier=cole, skus={"COLE-1": "12.00"})
    lines = [
        {"sku": "ACME-001", "quantity": 2},
        {"sku": "BOLT-7", "quantity": 1},
        {"sku": "ACME-003", "quantity": 1},
        {"sku": "COLE-1", "quantity": 3},
    ]
    response = retailer_client.post(
        URL, intake_payload(reference="R-3", lines=lines), format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # The orders in the retailer's line order, numbered in that order from the sequence.
    assert [doc["supplier"] for doc in body["orders"]] == ["acme", "bolt", "cole"]
    numbers = [int(doc["number"].removeprefix("PO-")) for doc in body["orders"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    intake = OrderIntake.objects.get()
    assert (intake.retailer, intake.reference) == (retailer, "R-3")
    stored = {
        order.supplier.slug: order
        for order in Order.objects.filter(intake=intake).select_related("supplier").order_by("id")
    }
    assert [(o.number, o.supplier.slug) for o in stored.values()] == [
        (doc["number"], doc["supplier"]) for doc in body["orders"]
    ]
    assert [
        (line.line_no, line.sku, line.quantity, line.product.supplier_id)
        for line in OrderLine.objects.filter(order=stored["acme"]).select_related("product")
    ] == [(1, "ACME-001", 2, acme.pk), (2, "ACME-003", 1, acme.pk)]
    assert list(
        OrderLine.objects.filter(order=stored["cole"]).values_list("sku", "line_total")
    ) == [("COLE-1", Decimal("36.00"))]
    events = OrderEvent.objects.order_by("id")
    assert [event.order_id for event in events] == [stored[s].pk for s in ("acme", "bolt", "cole")]
    assert {(e.type, e.actor, e.data["reference"]) for e in events} == {
        ("order.created", "retailer:shopco", "R-3")
    }
    assert stored["acme"].document_tail and stored["acme"].commission_amount == Decimal("4.30")


def test_a_repeat_gets_the_first_answer_and_the_connection_stays_usable(
    on_postgres, retailer_client, acme, caplog
):
    payload = intake_payload(reference="R-AGAIN")
    first = retailer_client.post(URL, payload, format="json")
    # The repeat's statement fails on the unique (retailer, reference): nothing of it stays,
    # and psycopg has nothing to warn about (the pipeline ends as it should).
    with caplog.at_level("WARNING", logger="psycopg"):
        second = retailer_client.post(URL, payload, format="json")
    assert [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("psycopg") and r.levelno >= logging.WARNING
    ] == []
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert Order.objects.count() == 1 and OrderEvent.objects.count() == 1
    assert not connection.in_atomic_block
    third = retailer_client.post(URL, intake_payload(reference="R-NEXT"), format="json")
    assert third.status_code == 201, third.content
    assert OrderIntake.objects.count() == 2


def test_a_remembered_key_and_catalogue_leave_one_round_trip(
    on_postgres, redis_cache, retailer_and_key, acme
):
    assert retailer_memory.enabled()
    client = client_for(retailer_and_key[1])
    counts = []
    for index in range(3):
        status, body, sqls = post_counted(client, intake_payload(reference=f"M-{index}"))
        assert status == 201, body
        counts.append(len(sqls))
    # Key, catalogue and write; then the write alone (suppliers/catalogue_memory.py).
    assert counts == [3, 1, 1]


def test_a_deactivated_retailer_is_refused_at_once_while_remembered(
    on_postgres, redis_cache, retailer_and_key, acme
):
    retailer, key = retailer_and_key
    client = client_for(key)
    assert client.post(URL, intake_payload(reference="D-1"), format="json").status_code == 201
    retailer.is_active = False
    retailer.save(update_fields=["is_active"])  # commits: Redis's epoch is replaced
    response = client.post(URL, intake_payload(reference="D-2"), format="json")
    assert response.status_code == 401
    assert list(OrderIntake.objects.values_list("reference", flat=True)) == ["D-1"]


def test_a_new_commission_rate_is_used_by_the_next_intake(
    on_postgres, redis_cache, retailer_and_key, acme
):
    retailer, key = retailer_and_key
    client = client_for(key)
    first = client.post(URL, intake_payload(reference="C-1"), format="json").json()
    retailer.commission_rate = Decimal("0.2500")
    retailer.save(update_fields=["commission_rate"])
    second = client.post(URL, intake_payload(reference="C-2"), format="json").json()
    rates = dict(
        Order.objects.filter(
            number__in=[first["orders"][0]["number"], second["orders"][0]["number"]]
        ).values_list("retailer_reference", "commission_rate")
    )
    assert rates == {"C-1": Decimal("0.1000"), "C-2": Decimal("0.2500")}


def test_without_prepared_statements_the_write_is_still_one_round_trip(
    on_postgres, settings, retailer_client, acme
):
    settings.DB_PREPARED_STATEMENTS = False  # e.g. behind an old transaction-pooling PgBouncer
    connection.close()  # a new session: nothing prepared on it yet
    status, body, sqls = post_counted(retailer_client, intake_payload(reference="NP-1"))
    assert status == 201, body
    assert len(sqls) == 3 and "; WITH i AS (INSERT INTO" in sqls[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'WITH i AS%%'"
        )
        assert cursor.fetchone()[0] == 0
    assert OrderIntake.objects.filter(reference="NP-1").count() == 1


def test_a_write_waiting_on_a_racing_twin_past_the_bound_is_503_and_stores_nothing(
    on_postgres, settings, retailer, retailer_client, acme
):
    """The bound (lock_timeout) travels in the write's one round trip: an intake waiting on
    an uncommitted twin of its reference gives up after the bound instead of holding a
    transaction open past the supplier API's settle time."""
    import time

    import psycopg

    from testsupport.processes import database_url_for

    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 0.3
    with psycopg.connect(database_url_for(connection.settings_dict), autocommit=True) as other:
        with other.transaction(force_rollback=True):  # the twin, never committed
            other.execute(
                "INSERT INTO orders_orderintake (retailer_id, reference, created_at) "
                "VALUES (%s, 'R-TWIN', now())",
                [retailer.pk],
            )
            started = time.monotonic()
            response = retailer_client.post(URL, intake_payload(reference="R-TWIN"), format="json")
            waited = time.monotonic() - started
    assert response.status_code == 503 and response["Retry-After"]
    assert waited < 3, waited  # the bound, not the session's 15 s statement timeout
    assert not OrderIntake.objects.filter(reference="R-TWIN").exists()
    assert not Order.objects.filter(retailer_reference="R-TWIN").exists()
    # Nothing was left half done: the same order goes through once the twin is gone.
    again = retailer_client.post(URL, intake_payload(reference="R-TWIN"), format="json")
    assert again.status_code == 201, again.content
