"""The update API's round trips to PostgreSQL (orders/services/hold_sql.py): the order's
lock, its lines' and the transaction's bound in one, the order row and the events in one
statement, the Idempotency-Key's claim with the bound; and the bound still holds the lock
wait and the claim to their time."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now as timezone_now

from orders.models import IdempotencyKey, Order, OrderEvent, Shipment
from orders.transactions import bounded_atomic
from testsupport.factories import place_order

from .test_supplier_update_api import client_for, snapshot, url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts(settings):
    settings.DELIVERY_DISPATCH = "listener"  # the request's own queries only
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def order(retailer, acme):
    (order,) = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
    )
    return order


def posted(client, path, body, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(path, body, format="json", **headers)
    # BEGIN is logged by Django but sent by psycopg with the first statement; the token's
    # reading (as on every API request, when it is not remembered) is left out.
    sqls = [
        q["sql"] for q in captured if q["sql"] != "BEGIN" and "suppliers_apitoken" not in q["sql"]
    ]
    return response, sqls


def test_an_update_locks_with_the_bound_in_one_round_trip_and_writes_in_one_statement(
    on_postgres, acme, order
):
    api = client_for(acme)
    response, sqls = posted(api, url(order, "acknowledgement"), {})
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_at"] is not None
    # The bound, the order's lock and its lines' lock; then the order and its event; COMMIT.
    assert len(sqls) == 3, sqls
    lock = sqls[0].split("; ")
    assert lock[0].startswith("SELECT set_config('statement_timeout'")
    assert "FOR UPDATE OF o" in lock[1] and "ORDER BY l.line_no FOR UPDATE" in lock[2]
    assert sqls[1].startswith('WITH u AS (UPDATE "orders_order"') and "orders_orderevent" in sqls[1]
    assert sqls[2] == "COMMIT"

    response, sqls = posted(
        api,
        url(order, "cancellation"),
        {"reason": "out_of_stock", "note": "short", "lines": [{"line": 1, "quantity": 1}]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["lines"][0]["quantity_cancelled"] == 1
    assert len(sqls) == 4, sqls  # lock; the lines, record and its lines; order and event; COMMIT
    stored = Order.objects.get(pk=order.pk)
    assert stored.version == 3 and stored.document_version == 3
    events = list(stored.events.order_by("id").values_list("type", flat=True))
    assert events[-2:] == ["order.acknowledged", "order.lines_cancelled"]


def test_an_unknown_order_is_404_in_one_round_trip(on_postgres, acme, order, bolt, retailer):
    (bolts,) = place_order(retailer=retailer, lines=[{"sku": "BOLT-7", "quantity": 1}])
    response, sqls = posted(client_for(acme), url(bolts, "acknowledgement"), {})
    assert response.status_code == 404
    assert len(sqls) == 2, sqls  # the lock read (nothing found), and the rollback
    assert Order.objects.get(pk=bolts.pk).acknowledged_at is None


def test_an_idempotency_key_is_claimed_with_the_bound(on_postgres, acme, order):
    api = client_for(acme)
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    response, sqls = posted(api, url(order, "shipments"), body, HTTP_IDEMPOTENCY_KEY="k-rt")
    assert response.status_code == 201, response.content
    claim = sqls[0].split("; ")
    assert claim[0].startswith("SELECT set_config('statement_timeout'")
    assert claim[1].startswith("DELETE FROM orders_idempotencykey")
    assert "ON CONFLICT ON CONSTRAINT idempotency_supplier_key DO NOTHING" in claim[2]
    # claim; savepoint; lock; record; order and event; release; the answer; COMMIT
    assert len(sqls) == 8, sqls
    replay, sqls = posted(api, url(order, "shipments"), body, HTTP_IDEMPOTENCY_KEY="k-rt")
    assert replay.content == response.content and replay["Idempotent-Replayed"] == "true"
    assert Shipment.objects.filter(order=order).count() == 1


def _other_connection():
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"], user=s["USER"], host=s["HOST"], port=s["PORT"] or 5432, autocommit=True
    )


def test_an_update_waiting_on_the_lock_past_the_bound_is_503_and_changes_nothing(
    on_postgres, settings, acme, retailer
):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 2}])
    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 0.3
    api = client_for(acme)
    before = snapshot(order)
    with _other_connection() as other:
        with other.transaction():  # a portal edit holding the order's lock
            other.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
            plain = api.post(url(order, "acknowledgement"), {}, format="json")
            keyed = api.post(
                url(order, "acknowledgement"), {}, format="json", HTTP_IDEMPOTENCY_KEY="wait"
            )
    # The bound's lock_timeout went with the lock read: no wait past it, nothing applied.
    assert plain.status_code == 503 and plain["Retry-After"]
    assert keyed.status_code == 503
    assert snapshot(order) == before
    assert not IdempotencyKey.objects.exists()  # rolled back with it: the retry applies
    again = api.post(url(order, "acknowledgement"), {}, format="json", HTTP_IDEMPOTENCY_KEY="wait")
    assert again.status_code == 200 and again.json()["acknowledged_at"] is not None
    assert OrderEvent.objects.filter(order=order, type="order.acknowledged").count() == 1


def test_a_bound_nothing_took_is_sent_before_the_commit(on_postgres, acme):
    with _other_connection() as listener:
        listener.execute("LISTEN order_events")
        with bounded_atomic(bound_with_first=True):
            Order.objects.count()  # not a statement that takes the bound
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in heard] == ["order_events"]


def test_a_lock_wait_before_the_stamp_is_not_counted_with_an_idempotency_key_either(
    on_postgres, settings, acme, retailer, monkeypatch
):
    # The bound runs from the change's stamp (transaction_now), after the order's lock is
    # granted: a wait for the lock shorter than the bound is no reason to refuse. With an
    # Idempotency-Key the change runs in a block nested in the key's, and only the outer
    # block checks the bound: it measured from its start, lock wait included, and answered
    # 503 where the same request without a key applied (found in review). The waits are
    # simulated on the bound's clock (orders.transactions' time.monotonic, a fake here):
    # a real wait would have the test hold a lock for a measured while.
    from types import SimpleNamespace

    from orders import transactions
    from orders.services import changes

    bound = settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(transactions, "time", SimpleNamespace(monotonic=lambda: clock.now))
    real_read, real_write = changes.hold_read, changes.hold_write

    def read_after_a_wait(**kwargs):
        found = real_read(**kwargs)
        clock.now += 0.8 * bound  # the lock was granted after most of a bound
        return found

    def write_taking_a_while(**kwargs):
        clock.now += 0.3 * bound  # the change itself: well within a bound
        return real_write(**kwargs)

    monkeypatch.setattr(changes, "hold_read", read_after_a_wait)
    monkeypatch.setattr(changes, "hold_write", write_taking_a_while)
    (other,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    (keyed_order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    api = client_for(acme)

    plain = api.post(url(other, "acknowledgement"), {}, format="json")
    keyed = api.post(
        url(keyed_order, "acknowledgement"), {}, format="json", HTTP_IDEMPOTENCY_KEY="waited"
    )

    assert plain.status_code == 200, plain.content
    assert keyed.status_code == 200, keyed.content
    assert keyed.json()["acknowledged_at"] is not None
    assert OrderEvent.objects.filter(order=keyed_order, type="order.acknowledged").count() == 1
    assert IdempotencyKey.objects.filter(key="waited", status_code=200).count() == 1


def test_a_keyed_update_does_not_wait_for_another_one_deleting_the_same_expired_keys(
    on_postgres, settings, acme, retailer
):
    # Each claim deletes the supplier's expired keys. Another keyed request of the supplier
    # (on another order) still in its transaction, waiting on its own order's lock say,
    # holds the rows it deleted: this claim's DELETE waited on them, past the bound, and was
    # 503 for a wait that had nothing to do with its order (found in review). It leaves them
    # to that request.
    from datetime import timedelta

    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 0.3
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])
    api = client_for(acme)
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    assert (
        posted(api, url(order, "shipments"), body, HTTP_IDEMPOTENCY_KEY="old")[0].status_code == 201
    )
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25)
    )
    with _other_connection() as other:
        with other.transaction():  # the other request's claim, not committed yet
            other.execute(
                "DELETE FROM orders_idempotencykey WHERE supplier_id = %s AND key = 'old'",
                [acme.pk],
            )
            response = api.post(
                url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="new"
            )
            assert response.status_code == 201, response.content
            assert Shipment.objects.filter(order=order).count() == 2
    # The other request rolled back: the expired key is deleted by the next claim.
    again = api.post(
        url(order, "shipments"),
        {**body, "tracking_number": "2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="newer",
    )
    assert again.status_code == 201, again.content
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["new", "newer"]


def test_an_expired_key_sent_again_while_another_claim_deletes_it_and_rolls_back_is_new(
    on_postgres, settings, acme, retailer
):
    # The claim's DELETE skips an expired key another claim is deleting; its INSERT of that
    # same key then waits on that claim. Should that claim roll back, the expired key is
    # still there: it is deleted and the request applied as new, not answered from 25 hours
    # ago.
    import threading
    import time
    from datetime import timedelta

    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = 10
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])
    api = client_for(acme)
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    assert (
        posted(api, url(order, "shipments"), body, HTTP_IDEMPOTENCY_KEY="old")[0].status_code == 201
    )
    IdempotencyKey.objects.update(
        created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25)
    )
    answers = []

    def send_again():
        try:
            answers.append(
                api.post(url(order, "shipments"), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
            )
        finally:
            connection.close()

    with _other_connection() as other, _other_connection() as watcher:
        other.execute("BEGIN")
        other.execute(
            "DELETE FROM orders_idempotencykey WHERE supplier_id = %s AND key = 'old'",
            [acme.pk],
        )
        thread = threading.Thread(target=send_again)
        thread.start()
        deadline = time.monotonic() + 10
        while not watcher.execute(  # the request waits on the other claim's lock
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%orders_idempotencykey%%'"
        ).fetchone():
            assert time.monotonic() < deadline, "the request never waited on the key"
        other.execute("ROLLBACK")
        thread.join(timeout=30)
    (again,) = answers
    assert again.status_code == 201, again.content
    assert "Idempotent-Replayed" not in again
    assert Shipment.objects.filter(order=order).count() == 2
    (key,) = IdempotencyKey.objects.all()
    assert key.status_code == 201 and key.created_at > timezone_now() - timedelta(hours=1)
