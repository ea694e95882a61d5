"""The dispatcher process (DELIVERY_DISPATCH=listener, the default on PostgreSQL).

A web request that places an order leaves delivery alone; `manage.py dispatch_events` makes
the delivery rows as soon as the commit's NOTIFY wakes it, and catches up on what committed
while it was not running.
"""

import threading

import pytest
from django.db import connection

from delivery.listener import events_listen
from delivery.models import Delivery
from orders.models import OrderEvent
from testsupport.commands import command_refused, command_run
from testsupport.factories import intake_payload, place_order
from testsupport.processes import Dispatcher, database_url_for
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

COLE = [{"sku": "COLE-1", "quantity": 1}]


@pytest.fixture
def listener_mode(settings):
    settings.DELIVERY_DISPATCH = "listener"


def test_a_placed_order_waits_for_the_dispatcher_not_the_request(
    cole, retailer_client, listener_mode
):
    response = retailer_client.post(
        "/api/v1/retailer/orders", intake_payload(lines=COLE), format="json"
    )
    assert response.status_code == 201, response.content
    assert Delivery.objects.count() == 0
    assert OrderEvent.objects.get().dispatched_at is None


def test_dispatch_events_once_dispatches_what_is_pending(cole, retailer, listener_mode):
    (first,) = place_order(retailer=retailer, lines=COLE)
    (second,) = place_order(retailer=retailer, lines=COLE)
    assert Delivery.objects.count() == 0

    out, _ = command_run("dispatch_events", "--once")
    assert out.strip() == "Dispatched 2 pending event(s)."
    for order in (first, second):
        delivery = Delivery.objects.get(event__order=order)
        assert delivery.channel == "email" and delivery.recipient == "po@cole.example"
    assert not OrderEvent.objects.filter(dispatched_at__isnull=True).exists()

    out, _ = command_run("dispatch_events", "--once")
    assert out.strip() == "Dispatched 0 pending event(s)."
    assert Delivery.objects.count() == 2


def test_dispatch_events_refuses_a_bad_wait(cole, retailer, listener_mode):
    place_order(retailer=retailer, lines=COLE)
    # inf never looked again nor stopped on SIGTERM; nan made a busy loop (found in review).
    for wait in ("0", "-1", "inf", "nan", "61"):
        assert "--wait" in command_refused("dispatch_events", "--wait", wait)
    assert Delivery.objects.count() == 0


def test_the_dispatcher_catches_up_then_wakes_at_each_commit(
    on_postgres, cole, retailer, listener_mode
):
    (before,) = place_order(retailer=retailer, lines=COLE)  # committed while none runs
    stop, ready = threading.Event(), threading.Event()
    # A 60 s look interval: within the 10 s deadline below only the NOTIFY can wake it.
    thread = threading.Thread(
        target=events_listen, kwargs={"stop": stop, "wait": 60, "ready": ready.set}
    )
    thread.start()
    try:
        assert ready.wait(30), "the dispatcher did not start"
        assert Delivery.objects.filter(event__order=before).count() == 1

        (after,) = place_order(retailer=retailer, lines=COLE)
        wait_until(
            lambda: Delivery.objects.filter(event__order=after).exists(),
            timeout=10,
            interval=0.02,
            message="the commit's NOTIFY did not wake the dispatcher",
        )
    finally:
        stop.set()
        with connection.cursor() as cursor:
            cursor.execute("NOTIFY order_events")  # wake it so it sees `stop`
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert Delivery.objects.count() == 2
    assert not OrderEvent.objects.filter(dispatched_at__isnull=True).exists()


def test_the_dispatcher_outlives_its_listening_connection_being_cut(
    on_postgres, cole, retailer, listener_mode
):
    """A PostgreSQL restart ends the LISTEN connection mid-wait (found by bench/chaos.py:
    the process used to exit); the dispatcher reconnects and dispatches what follows."""
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=events_listen, kwargs={"stop": stop, "wait": 60, "ready": ready.set}
    )
    thread.start()
    try:
        assert ready.wait(30), "the dispatcher did not start"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN order_events%%' AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall() == [(True,)]
        (after,) = place_order(retailer=retailer, lines=COLE)
        wait_until(
            lambda: Delivery.objects.filter(event__order=after).exists(),
            timeout=20,
            interval=0.05,
            message="the dispatcher did not come back after its connection was cut",
        )
        assert thread.is_alive()
    finally:
        stop.set()
        with connection.cursor() as cursor:
            cursor.execute("NOTIFY order_events")
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_the_dispatch_events_process_dispatches_and_stops_on_sigterm(
    on_postgres, cole, retailer, listener_mode
):
    dispatcher = Dispatcher(env={"DATABASE_URL": database_url_for(connection.settings_dict)})
    try:
        dispatcher.start()
        orders = [place_order(retailer=retailer, lines=COLE)[0] for _ in range(3)]
        wait_until(
            lambda: Delivery.objects.filter(event__order__in=orders).count() == 3,
            timeout=15,
            interval=0.05,
            message=f"not dispatched; log: {dispatcher.log_tail()}",
        )
        dispatcher.stop()
        assert "dispatch_events: stopped" in dispatcher.log_tail()
    finally:
        dispatcher.cleanup()


def test_delivery_status_names_events_waiting_for_the_dispatcher(
    cole, retailer, listener_mode, settings
):
    settings.DELIVERY_DISPATCH_GRACE_SECONDS = -1  # any wait counts as long
    place_order(retailer=retailer, lines=COLE)
    place_order(retailer=retailer, lines=COLE)
    out, _ = command_run("delivery_status")
    first = out.splitlines()[0]
    assert first.startswith("Order events waiting for the dispatcher: 2 (oldest ")
    assert "is `manage.py dispatch_events` running?" in first

    command_run("dispatch_events", "--once")
    out, _ = command_run("delivery_status")
    assert "waiting for the dispatcher" not in out
    assert "cole" in out
