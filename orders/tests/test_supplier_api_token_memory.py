"""Supplier API tokens remembered by a web process (suppliers/token_memory.py), with the
Redis cache of production (a redis-server of the test's own): a page then reads the database
once, and every change to a token or a supplier is seen by the very next request.

Each change below reaches the remembered token only through Redis: the change's commit
replaces the shared epoch, as it would for every other web process. Nothing here clears this
process's memory directly.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.api.throttles import SupplierTokenThrottle
from orders.tests.test_supplier_api import EPOCH, LIST, numbers, token_client
from suppliers import token_memory
from suppliers.models import ApiToken
from testsupport.executables import require_executable
from testsupport.factories import place_order


@pytest.fixture
def redis_cache(settings):
    from testsupport.processes import RedisServer

    require_executable(["redis-server"], "redis-server")
    server = RedisServer().start()
    settings.CACHES = {
        "default": {"BACKEND": "orders_portal.cache.RedisCache", "LOCATION": server.url(0)}
    }
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    token_memory.forget_all()
    try:
        yield server
    finally:
        token_memory.forget_all()
        server.cleanup()


def page_queries(client, **params) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, {"created_after": EPOCH, **params})
    assert response.status_code == 200, response.content
    return len(captured), numbers(response)


def test_a_remembered_token_leaves_one_query_per_page(redis_cache, retailer, acme):
    assert token_memory.enabled()
    client, _, _ = token_client(acme)
    (order,) = place_order(retailer=retailer)
    assert page_queries(client) == (3, [order.number])  # token, its first use, page
    assert page_queries(client) == (1, [order.number])
    assert page_queries(client) == (1, [order.number])


def test_revoking_a_remembered_token_refuses_it_at_once(
    redis_cache, retailer, acme, django_capture_on_commit_callbacks
):
    client, token, plain = token_client(acme)
    other_client, _, _ = token_client(acme, name="other")
    (order,) = place_order(retailer=retailer)
    for _ in range(2):
        assert page_queries(client)[1] == [order.number]
        assert page_queries(other_client)[1] == [order.number]
    assert token_memory.recall(token.token_hash) is not None

    with django_capture_on_commit_callbacks(execute=True):
        call_command("revoke_api_token", "acme", plain[:10])

    for url in (f"{LIST}?created_after={EPOCH}", f"{LIST}/{order.number}"):
        response = client.get(url)
        assert response.status_code == 401
        assert order.number not in response.content.decode()
    # The supplier's other token is read again and still works.
    assert page_queries(other_client) == (2, [order.number])
    assert page_queries(other_client) == (1, [order.number])


def test_a_change_that_never_committed_forgets_nothing(
    redis_cache, retailer, acme, django_capture_on_commit_callbacks
):
    client, token, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ApiToken.objects.filter(pk=token.pk).get().save(update_fields=["name"])
    assert len(callbacks) == 1  # the epoch is replaced only if the change commits
    assert page_queries(client)[0] == 1


def test_deactivating_the_supplier_refuses_its_remembered_token(
    redis_cache, retailer, acme, django_capture_on_commit_callbacks
):
    client, _, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(client)
    with django_capture_on_commit_callbacks(execute=True):
        acme.is_active = False
        acme.save(update_fields=["is_active"])
    assert client.get(LIST, {"created_after": EPOCH}).status_code == 401


def test_a_renamed_supplier_shows_at_once_through_a_remembered_token(
    redis_cache, retailer, acme, django_capture_on_commit_callbacks
):
    client, _, _ = token_client(acme)
    (order,) = place_order(retailer=retailer)
    page_queries(client)
    with django_capture_on_commit_callbacks(execute=True):
        acme.slug = "acme-home"
        acme.save(update_fields=["slug"])
    response = client.get(LIST, {"created_after": EPOCH})
    assert response.json()["results"][0]["supplier"] == "acme-home"
    assert client.get(f"{LIST}/{order.number}").json()["supplier"] == "acme-home"


def test_a_redis_that_lost_its_data_makes_the_process_read_again(redis_cache, retailer, acme):
    client, _, _ = token_client(acme)
    (order,) = place_order(retailer=retailer)
    page_queries(client)
    assert page_queries(client)[0] == 1
    redis_cache.stop()  # no persistence: the epoch is gone
    redis_cache.start()
    assert page_queries(client) == (2, [order.number])
    assert page_queries(client) == (1, [order.number])


def test_memory_expires(redis_cache, settings, retailer, acme):
    settings.SUPPLIER_API_TOKEN_MEMORY_SECONDS = 0.2
    client, _, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(client)
    from testsupport.waiting import wait_until

    wait_until(
        lambda: page_queries(client)[0] == 2,
        timeout=5,
        interval=0.1,
        message="the token was never read again",
    )


def test_each_request_is_counted_once_in_the_rate_window(
    monkeypatch, redis_cache, retailer, acme, bolt
):
    monkeypatch.setattr(SupplierTokenThrottle, "rate", "3/min", raising=False)
    client, _, _ = token_client(acme)
    assert [client.get(LIST, {"created_after": EPOCH}).status_code for _ in range(3)] == [200] * 3
    refused = client.get(LIST, {"created_after": EPOCH})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert client.get(f"{LIST}/PO-1").status_code == 429
    assert token_client(bolt)[0].get(LIST, {"created_after": EPOCH}).status_code == 200


def test_with_a_per_process_cache_every_request_reads_the_token(settings, retailer, acme):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    assert not token_memory.enabled()  # locmem: another process would not see the epoch
    client, _, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(client)
    assert page_queries(client)[0] == 2


def test_zero_seconds_turns_it_off(redis_cache, settings, retailer, acme):
    settings.SUPPLIER_API_TOKEN_MEMORY_SECONDS = 0
    client, _, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(client)
    assert page_queries(client)[0] == 2


def test_revoking_in_the_portal_refuses_the_remembered_token_at_once(
    redis_cache, client, retailer, acme, django_capture_on_commit_callbacks
):
    from testsupport.factories import make_supplier_user

    api, token, _ = token_client(acme)
    place_order(retailer=retailer)
    page_queries(api)
    client.force_login(make_supplier_user(supplier=acme, username="ops"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert api.get(LIST, {"created_after": EPOCH}).status_code == 401


def test_a_remembered_token_still_records_its_use_once_a_minute(redis_cache, retailer, acme):
    from datetime import timedelta

    client, token, plain = token_client(acme)
    place_order(retailer=retailer)
    assert page_queries(client)[0] == 3  # token, its use, page
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    assert page_queries(client)[0] == 1
    # A minute on, as this process remembers it: the next request records the use again.
    remembered = token_memory.recall(token.token_hash)
    remembered.last_used_at -= timedelta(minutes=2)
    assert page_queries(client)[0] == 2  # its use, page
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first
    assert page_queries(client)[0] == 1
