"""The no-gap promise under real concurrency: pollers walking windows while orders commit late.

Each scenario runs twice: with the settle rule (the poller sees every order exactly once) and
with the settle time set to 0, which must lose the order whose transaction was held open
across the window boundary. The second run proves the first can fail.
"""

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection, connections
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from orders.api.throttles import SupplierTokenThrottle
from orders.models import Order, OrderIntake
from orders.services import events as services_events
from orders.services import order_set_status
from orders.transactions import TransactionTooSlowError
from suppliers.services import api_token_create
from testsupport.factories import place_order

LIST = "/api/v1/orders"
BOUND = 1.5
SETTLE = 4.0
DEADLINE = 60.0


@pytest.fixture(autouse=True)
def _api_settings(settings, monkeypatch):
    settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS = BOUND
    settings.SUPPLIER_API_SETTLE_SECONDS = SETTLE
    monkeypatch.setattr(SupplierTokenThrottle, "rate", "100000/min", raising=False)
    cache.clear()
    yield
    cache.clear()


def supplier_client(supplier) -> APIClient:
    _, plain = api_token_create(supplier=supplier, name="poller")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def walk(client, params: dict) -> tuple[list[dict], str]:
    """One walk: the first page and every `next`; return the documents and Settled-Before."""
    response = client.get(LIST, {**params, "limit": 7})
    assert response.status_code == 200, response.content
    settled = response["Settled-Before"]
    docs = []
    while True:
        assert response.status_code == 200, response.content
        assert response["Settled-Before"] == settled
        docs += response.json()["results"]
        nxt = response.json()["next"]
        if not nxt:
            return docs, settled
        response = client.get(nxt)


class Hold:
    """Pause a service inside its transaction, after its timestamp, in one named thread."""

    def __init__(self, monkeypatch, thread_name: str):
        self.inside, self.release = threading.Event(), threading.Event()
        original = services_events.announce_on_commit

        def announce_paused(event_ids):
            if threading.current_thread().name == thread_name:
                self.inside.set()
                assert self.release.wait(BOUND * 0.8), "hold released too late"
            return original(event_ids)

        monkeypatch.setattr(services_events, "announce_on_commit", announce_paused)


def in_thread(target, name: str, errors: list) -> threading.Thread:
    def run():
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def later(a: str, b: str) -> str:
    """The next window's start: never move backwards (Settled-Before may be before it)."""
    return max(a, b, key=timezone.datetime.fromisoformat)


def poll_until(condition, step) -> None:
    """Run step() until condition() holds or the deadline passes."""
    deadline = timezone.now() + timedelta(seconds=DEADLINE)
    pause = threading.Event()
    while not condition():
        assert timezone.now() < deadline, "poller did not catch up before the deadline"
        step()
        pause.wait(0.05)


MIXED = [{"sku": "ACME-001", "quantity": 1}, {"sku": "BOLT-7", "quantity": 1}]
ACME = [{"sku": "ACME-002", "quantity": 2}]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("settle", [SETTLE, 0.0], ids=["settle", "no-settle-must-miss"])
def test_poller_walking_windows_sees_every_order_exactly_once(
    on_postgres, settings, monkeypatch, retailer, acme, bolt, settle
):
    settings.SUPPLIER_API_SETTLE_SECONDS = settle
    client = supplier_client(acme)
    hold = Hold(monkeypatch, "held-intake")
    errors: list = []

    def placer(k):
        def run():
            for i in range(12):
                place_order(retailer=retailer, lines=MIXED if (i + k) % 2 else ACME)

        return run

    held_numbers: list[str] = []
    seen: list[str] = []
    state = {"after": "2000-01-01T00:00:00Z", "walks": 0}

    def step():
        docs, settled = walk(client, {"created_after": state["after"]})
        seen.extend(doc["number"] for doc in docs)
        # Consecutive windows: the next one starts where this answer is complete.
        state["after"], state["walks"] = later(state["after"], settled), state["walks"] + 1

    placers = [in_thread(placer(k), f"placer-{k}", errors) for k in range(3)]
    step()
    held = in_thread(
        lambda: held_numbers.extend(o.number for o in place_order(retailer=retailer, lines=ACME)),
        "held-intake",
        errors,
    )
    assert hold.inside.wait(10), "the held intake never reached its pause"
    # The held order has its created_at but has not committed. Walk past that instant now.
    step()
    step()
    hold.release.set()
    for thread in placers + [held]:
        thread.join(DEADLINE)
    assert not errors, errors
    expected = set(Order.objects.filter(supplier=acme).values_list("number", flat=True))
    newest = max(Order.objects.filter(supplier=acme).values_list("created_at", flat=True))
    poll_until(lambda: timezone.datetime.fromisoformat(state["after"]) > newest, step)

    assert len(expected) >= 25 and held_numbers[0] in expected
    if settle:
        assert sorted(seen) == sorted(expected), "missed or repeated orders"
        assert len(seen) == len(set(seen))
    else:
        # Without the settle rule the held order is lost for good: this is what fails.
        assert held_numbers[0] not in seen
    assert state["walks"] >= 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("settle", [SETTLE, 0.0], ids=["settle", "no-settle-must-miss"])
def test_change_feed_sees_a_cancellation_committed_late(
    on_postgres, settings, monkeypatch, retailer, acme, settle
):
    settings.SUPPLIER_API_SETTLE_SECONDS = settle
    client = supplier_client(acme)
    orders = [place_order(retailer=retailer, lines=ACME)[0] for _ in range(4)]
    start = timezone.now().isoformat()
    hold = Hold(monkeypatch, "held-cancel")
    errors: list = []
    seen: list[tuple[str, str]] = []
    state = {"after": start}

    def step():
        docs, settled = walk(client, {"updated_after": state["after"]})
        seen.extend((doc["number"], doc["status"]) for doc in docs)
        state["after"] = later(state["after"], settled)

    def cancel():
        order_set_status(
            order=orders[1], status="cancelled", actor="ops", reason="out_of_stock", note="none"
        )

    step()
    held = in_thread(cancel, "held-cancel", errors)
    assert hold.inside.wait(10)
    step()
    order_set_status(order=orders[2], status="processing", actor="ops")
    hold.release.set()
    held.join(DEADLINE)
    assert not errors, errors
    newest = Order.objects.order_by("-updated_at").values_list("updated_at", flat=True)[0]
    poll_until(lambda: timezone.datetime.fromisoformat(state["after"]) > newest, step)

    if settle:
        assert sorted(seen) == sorted(
            [(orders[1].number, "cancelled"), (orders[2].number, "processing")]
        )
    else:
        assert (orders[1].number, "cancelled") not in seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cursor_walk_is_stable_while_threads_insert(on_postgres, settings, retailer, acme, bolt):
    # The walk's frozen horizon is what is tested, with the product's settle window (more
    # than twice the write's bound, so no write still in flight can land behind it; with
    # no window at all an order committed just after a page was read could be missed, and
    # the test raced). The orders placed before the walk are made older than the window.
    client = supplier_client(acme)
    before = [place_order(retailer=retailer, lines=ACME)[0].number for _ in range(30)]
    Order.objects.filter(number__in=before).update(
        created_at=F("created_at") - timedelta(seconds=SETTLE * 10)
    )
    stop, errors = threading.Event(), []

    def keep_placing():
        while not stop.is_set():
            place_order(retailer=retailer, lines=MIXED)

    writers = [in_thread(keep_placing, f"writer-{k}", errors) for k in range(2)]
    try:
        docs, settled = walk(client, {"created_after": "2000-01-01T00:00:00Z"})
    finally:
        stop.set()
        for thread in writers:
            thread.join(DEADLINE)
    assert not errors, errors
    got = [doc["number"] for doc in docs]
    assert len(got) == len(set(got))
    cutoff = timezone.datetime.fromisoformat(settled)
    expected = list(
        Order.objects.filter(supplier=acme, created_at__lt=cutoff)
        .order_by("created_at", "id")
        .values_list("number", flat=True)
    )
    assert got == expected
    assert got[: len(before)] == before
    assert Order.objects.filter(supplier=acme).count() > len(got) or len(got) > len(before)


def _slow_step():
    """Several statements, each shorter than the bound, together longer than it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute("SELECT pg_sleep(%s)", [BOUND * 0.45])
    else:
        threading.Event().wait(BOUND * 1.3)


def nothing_stored():
    assert OrderIntake.objects.count() == 0
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_transaction_longer_than_the_bound_rolls_back(monkeypatch, retailer, acme):
    original = services_events.announce_on_commit

    def slow(event_ids):
        _slow_step()
        return original(event_ids)

    monkeypatch.setattr(services_events, "announce_on_commit", slow)
    with pytest.raises(TransactionTooSlowError):
        place_order(retailer=retailer, lines=ACME)
    nothing_stored()
    if connection.vendor == "postgresql":
        # SET LOCAL ended with the transaction: the session's own timeouts are back.
        with connection.cursor() as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            assert cursor.fetchone()[0] == "0"


@pytest.mark.django_db(transaction=True)
def test_intake_api_answers_503_with_retry_after_when_too_slow(
    monkeypatch, retailer, retailer_client, acme
):
    from testsupport.factories import intake_payload

    original = services_events.announce_on_commit

    def slow(event_ids):
        _slow_step()
        return original(event_ids)

    monkeypatch.setattr(services_events, "announce_on_commit", slow)
    response = retailer_client.post("/api/v1/retailer/orders", intake_payload(), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "detail" in response.json()["errors"]
    nothing_stored()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stalled_client_inside_the_transaction_is_cut_off_by_the_server(
    on_postgres, monkeypatch, retailer, acme
):
    # An update sends its statements one by one (bounded_atomic); intake's write is sent
    # whole, so it cannot stall inside its transaction (the test after this one).
    order = place_order(retailer=retailer, lines=ACME)[0]
    original = services_events.announce_on_commit

    def stall(event_ids):
        threading.Event().wait(BOUND * 2)  # a stopped process: no statement, just idle
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the server has ended the session by now
        return original(event_ids)

    monkeypatch.setattr(services_events, "announce_on_commit", stall)
    errors: list = []

    def update():
        order_set_status(order=Order.objects.get(pk=order.pk), status="processing", actor="ops")

    thread = in_thread(update, "stalled", errors)
    thread.join(DEADLINE)
    assert len(errors) == 1, "the stalled transaction committed"
    assert isinstance(errors[0], DatabaseError), repr(errors[0])
    assert "idle-in-transaction" in str(errors[0])
    assert not isinstance(errors[0], TransactionTooSlowError)
    order.refresh_from_db()
    assert order.status == "placed"
    assert order.events.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_intake_stalled_before_its_one_round_trip_sends_nothing(
    on_postgres, monkeypatch, retailer, acme
):
    original = services_events.announce_on_commit

    def stall(event_ids):
        threading.Event().wait(BOUND * 1.2)  # a stopped process, after the stamp
        return original(event_ids)

    monkeypatch.setattr(services_events, "announce_on_commit", stall)
    with pytest.raises(TransactionTooSlowError):
        place_order(retailer=retailer, lines=ACME)
    nothing_stored()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
        assert cursor.fetchone()[0] is True  # no transaction left open
