"""The supplier read API, as a supplier's system sees it: scope, windows, cursor, errors, limits."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from orders.api.pagination import cursor_encode
from orders.api.throttles import SupplierTokenThrottle
from orders.models import Order
from orders.selectors import OrderPosition
from orders.services import order_set_status
from suppliers.models import ApiToken
from suppliers.services import api_token_create
from testsupport.factories import place_order

LIST = "/api/v1/orders"
EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_settle(settings):
    """Orders are listable the moment they commit (the settle rule has its own tests)."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 0


def token_client(supplier, name="erp"):
    token, plain = api_token_create(supplier=supplier, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client, token, plain


@pytest.fixture
def acme_client(acme):
    return token_client(acme)[0]


@pytest.fixture
def bolt_client(bolt):
    return token_client(bolt)[0]


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [doc["number"] for doc in response.json()["results"]]


def walk(client, **params) -> tuple[list[str], list[dict]]:
    """Follow `next` from the first page to the last; return numbers and the raw pages."""
    pages = [client.get(LIST, params)]
    while pages[-1].json()["next"]:
        nxt = pages[-1].json()["next"]
        assert nxt.startswith("http://testserver/api/v1/orders?")
        pages.append(client.get(nxt))
    return [n for page in pages for n in numbers(page)], pages


def test_each_token_sees_only_its_own_orders(no_settle, retailer, acme, bolt):
    acme_client, bolt_client = token_client(acme)[0], token_client(bolt)[0]
    mixed = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 1}, {"sku": "BOLT-7", "quantity": 2}],
    )
    acme_only = place_order(retailer=retailer, lines=[{"sku": "ACME-002", "quantity": 1}])
    bolt_only = place_order(retailer=retailer, lines=[{"sku": "BOLT-9", "quantity": 3}])
    acme_numbers = sorted(o.number for o in mixed + acme_only if o.supplier_id == acme.pk)
    bolt_numbers = sorted(o.number for o in mixed + bolt_only if o.supplier_id == bolt.pk)

    assert sorted(walk(acme_client, created_after=EPOCH)[0]) == acme_numbers
    assert sorted(walk(bolt_client, created_after=EPOCH)[0]) == bolt_numbers

    for number in acme_numbers:
        own = acme_client.get(f"{LIST}/{number}")
        assert own.status_code == 200
        assert own.json()["supplier"] == "acme" and own.json()["number"] == number
        other = bolt_client.get(f"{LIST}/{number}")
        assert other.status_code == 404
        assert set(other.json()) == {"errors"} and number in str(other.json())
        assert "lines" not in other.content.decode()
    assert bolt_client.get(f"{LIST}/PO-0").status_code == 404
    assert bolt_client.get(f"{LIST}/a/b%2Fc").status_code == 404


def test_list_document_is_the_contract_document(no_settle, retailer, acme, acme_client):
    from orders.documents import order_document

    (order,) = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
    )
    response = acme_client.get(LIST, {"created_after": EPOCH})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"].split(", ")  # never_cache: no cache keeps it
    body = response.json()
    assert body["next"] is None
    (doc,) = body["results"]
    fresh = Order.objects.select_related("supplier", "retailer").get(pk=order.pk)
    assert doc == order_document(fresh)
    assert [(ln["sku"], ln["quantity"], ln["line_total"]) for ln in doc["lines"]] == [
        ("ACME-001", 2, "19.00"),
        ("ACME-003", 1, "24.00"),
    ]
    assert doc["created_at"].endswith("Z")
    detail = acme_client.get(f"{LIST}/{order.number}")
    assert detail.json() == doc and "no-store" in detail["Cache-Control"].split(", ")


def test_half_open_windows_partition_the_orders(no_settle, retailer, acme, acme_client):
    marks, placed = [], []
    for _ in range(3):
        marks.append(timezone.now())
        placed.append(place_order(retailer=retailer)[0].number)
    marks.append(timezone.now())
    iso = [m.isoformat() for m in marks]
    for i in range(3):
        got = numbers(
            acme_client.get(LIST, {"created_after": iso[i], "created_before": iso[i + 1]})
        )
        assert got == [placed[i]]
    # The boundary belongs to the later window: created_at == created_after is inside.
    first = Order.objects.get(number=placed[1]).created_at
    assert numbers(acme_client.get(LIST, {"created_after": first.isoformat()}))[0] == placed[1]
    assert placed[1] not in numbers(
        acme_client.get(LIST, {"created_after": EPOCH, "created_before": first.isoformat()})
    )
    # Offsets other than Z mean the same instant.
    local = marks[1].astimezone(timezone.get_fixed_timezone(90)).isoformat()
    assert numbers(acme_client.get(LIST, {"created_after": local})) == placed[1:]
    # An empty window is fine, and empty.
    assert numbers(acme_client.get(LIST, {"created_after": iso[1], "created_before": iso[1]})) == []


def test_ordered_by_created_at_then_number(no_settle, retailer, acme, acme_client):
    placed = [place_order(retailer=retailer)[0] for _ in range(5)]
    got = walk(acme_client, created_after=EPOCH, limit=2)[0]
    assert got == [o.number for o in placed]
    docs = [acme_client.get(f"{LIST}/{n}").json() for n in got]
    assert [d["created_at"] for d in docs] == sorted(d["created_at"] for d in docs)


def test_status_and_updated_after_filters(no_settle, retailer, acme, acme_client):
    a, b, c = (place_order(retailer=retailer)[0] for _ in range(3))
    before_changes = timezone.now()
    order_set_status(order=b, status="processing", actor="ops")
    order_set_status(order=c, status="cancelled", actor="ops", reason="out_of_stock", note="gone")
    assert numbers(acme_client.get(LIST, {"created_after": EPOCH, "status": "cancelled"})) == [
        c.number
    ]
    assert numbers(acme_client.get(LIST, {"created_after": EPOCH, "status": "placed"})) == [
        a.number
    ]
    changed = acme_client.get(LIST, {"updated_after": before_changes.isoformat()})
    assert numbers(changed) == [b.number, c.number]
    cancelled = changed.json()["results"][1]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"]["reason"] == "out_of_stock"
    # updated_after alone needs no creation window; with one, both apply.
    created_a = Order.objects.get(pk=a.pk).created_at
    assert numbers(
        acme_client.get(
            LIST,
            {"updated_after": before_changes.isoformat(), "created_after": created_a.isoformat()},
        )
    ) == [b.number, c.number]


def test_cursor_pages_have_no_gaps_or_repeats_while_orders_arrive(
    no_settle, retailer, acme, acme_client
):
    existing = [place_order(retailer=retailer)[0].number for _ in range(23)]
    seen, pages = [], 0
    response = acme_client.get(LIST, {"created_after": EPOCH, "limit": 5})
    settled = response["Settled-Before"]
    late = []
    while True:
        pages += 1
        seen += numbers(response)
        assert response["Settled-Before"] == settled
        # New orders arrive between pages; they belong to a later walk, not this one.
        late += [o.number for o in place_order(retailer=retailer)]
        nxt = response.json()["next"]
        if not nxt:
            break
        assert parse_qs(urlsplit(nxt).query)["limit"] == ["5"]
        response = acme_client.get(nxt)
    assert pages == 5
    assert seen == existing
    # The next walk, from where this one ended, has exactly the late orders.
    again = walk(acme_client, created_after=settled, limit=4)[0]
    assert again == late


def test_settled_before_hides_fresh_orders(settings, retailer, acme, acme_client):
    settings.SUPPLIER_API_SETTLE_SECONDS = 300
    (order,) = place_order(retailer=retailer)
    response = acme_client.get(LIST, {"created_after": EPOCH})
    assert numbers(response) == []
    settled = timezone.datetime.fromisoformat(response["Settled-Before"])
    assert abs((timezone.now() - timedelta(seconds=300)) - settled) < timedelta(seconds=30)
    # The window never reaches past Settled-Before, even when asked to.
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert numbers(acme_client.get(LIST, {"created_after": EPOCH, "created_before": future})) == []
    # The detail shows it at once: a webhook receiver may look it up.
    assert acme_client.get(f"{LIST}/{order.number}").status_code == 200
    # ... and once it is old enough, the window holds it.
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    assert numbers(acme_client.get(LIST, {"created_after": EPOCH})) == [order.number]


def test_cursor_keeps_the_walks_horizon(settings, retailer, acme, acme_client):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    first = [place_order(retailer=retailer)[0].number for _ in range(3)]
    page1 = acme_client.get(LIST, {"created_after": EPOCH, "limit": 2})
    later = place_order(retailer=retailer)[0].number
    page2 = acme_client.get(page1.json()["next"])
    assert numbers(page1) + numbers(page2) == first
    assert later not in numbers(page2)
    assert page2.json()["next"] is None
    assert page2["Settled-Before"] == page1["Settled-Before"]


def test_a_page_served_by_a_server_whose_clock_runs_behind_keeps_the_walks_horizon(
    settings, retailer, acme, acme_client, monkeypatch
):
    """The pages of one walk may come from different web servers, whose clocks differ a
    little. Two servers with skewed clocks cannot run in one test, so each page's clock is
    set (django.utils.timezone.now, which the selector reads): server A answers page 1 12 s
    after the orders were placed, server B, 3 s behind it, page 2. Before, page 2 ended
    where B's own horizon was and dropped the last order, while the poller moved on to page
    1's Settled-Before: that order was never listed."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 10
    placed = [place_order(retailer=retailer)[0].number for _ in range(3)]
    placed_at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    page1 = acme_client.get(LIST, {"created_after": EPOCH, "limit": 2})
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=9))
    page2 = acme_client.get(page1.json()["next"])
    assert numbers(page1) + numbers(page2) == placed
    assert page2.json()["next"] is None
    assert page2["Settled-Before"] == page1["Settled-Before"]


@pytest.mark.parametrize("since", ["created_after", "updated_after"])
def test_a_window_served_by_a_server_whose_clock_runs_behind_never_ends_before_it_starts(
    settings, retailer, acme, acme_client, monkeypatch, since
):
    """Window 1 from server A 12 s after the order was placed; window 2, from A's
    Settled-Before, from server B, 3 s behind A (clocks set: two skewed servers cannot run
    in one test). Before, B answered Settled-Before 3 s before window 2's start, and a
    poller starting its next window there (as the API's description says) got the order
    again."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 10
    (order,) = place_order(retailer=retailer)
    placed_at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    first = acme_client.get(LIST, {since: EPOCH})
    assert numbers(first) == [order.number]
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=9))
    second = acme_client.get(LIST, {since: first["Settled-Before"]})
    assert numbers(second) == []
    assert parse_datetime(second["Settled-Before"]) >= parse_datetime(first["Settled-Before"])
    # Window 3 from there, on server A again: nothing seen twice.
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    assert numbers(acme_client.get(LIST, {since: second["Settled-Before"]})) == []


def test_a_made_up_cursor_reaches_no_further_than_now(settings, retailer, acme, acme_client):
    """A cursor is not secret: one whose horizon is in the future lists nothing created after
    this server's now."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    first = place_order(retailer=retailer)[0]
    position = OrderPosition(created_at=first.created_at, id=first.pk)
    cursor = cursor_encode(position=position, settled_before=timezone.now() + timedelta(days=1))
    response = acme_client.get(LIST, {"created_after": EPOCH, "cursor": cursor})
    assert numbers(response) == []
    assert parse_datetime(response["Settled-Before"]) <= timezone.now()


BAD = [
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_after": "2026-11-27T10:00:00"}, "created_after"),  # naive
    ({"created_after": "2026-13-01T10:00:00Z"}, "created_after"),
    ({"created_after": "2026-11-27T10:00:00 01:00"}, "created_after"),  # '+' sent raw
    ({"created_after": ""}, "created_after"),
    ({"created_after": EPOCH, "created_before": "2026-11-27"}, "created_before"),
    ({"created_after": EPOCH, "updated_after": "soon"}, "updated_after"),
    (
        {"created_after": "2026-11-27T10:00:00Z", "created_before": "2026-11-27T09:00:00Z"},
        "created_before",
    ),
    ({"created_after": EPOCH, "status": "lost"}, "status"),
    ({"created_after": EPOCH, "status": ""}, "status"),
    ({"created_after": EPOCH, "limit": "0"}, "limit"),
    ({"created_after": EPOCH, "limit": "251"}, "limit"),
    ({"created_after": EPOCH, "limit": "-1"}, "limit"),
    ({"created_after": EPOCH, "limit": "ten"}, "limit"),
    ({"created_after": EPOCH, "limit": "1.5"}, "limit"),
    ({"created_after": EPOCH, "limit": "99999999999999999999"}, "limit"),
    ({"created_after": EPOCH, "cursor": "garbage"}, "cursor"),
    ({"created_after": EPOCH, "cursor": "eyJ2IjoxfQ"}, "cursor"),  # {"v":1}
    ({"created_after": EPOCH, "created_afer": EPOCH}, "created_afer"),
    ({"created_after": EPOCH, "page": "2"}, "page"),
    ({}, "created_after"),
    ({"created_before": EPOCH}, "created_after"),
]


@pytest.mark.parametrize("params,name", BAD, ids=[f"{n}:{sorted(p.items())}" for p, n in BAD])
def test_bad_parameter_is_400_naming_it(no_settle, retailer, acme, acme_client, params, name):
    place_order(retailer=retailer)
    response = acme_client.get(LIST, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"errors"}
    assert name in body["errors"], body
    assert all(isinstance(m, str) and m for m in body["errors"][name])
    assert "results" not in body


def test_repeated_parameter_is_400(no_settle, acme, acme_client):
    response = acme_client.get(f"{LIST}?created_after={EPOCH}&limit=5&limit=6")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["limit"]


def test_several_bad_parameters_are_all_named(acme, acme_client):
    response = acme_client.get(LIST, {"created_after": "x", "status": "y", "limit": "z", "q": "1"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"created_after", "status", "limit", "q"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Token abc", "Basic eDp5"])
def test_no_valid_token_is_401(retailer, acme, header, retailer_and_key):
    place_order(retailer=retailer)
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    for url in (f"{LIST}?created_after={EPOCH}", f"{LIST}/PO-10001"):
        response = client.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert set(response.json()) == {"errors"}
    # A retailer key is no supplier token.
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {retailer_and_key[1]}")
    assert client.get(f"{LIST}?created_after={EPOCH}").status_code == 401


def test_revoked_token_is_401_at_once(
    no_settle, retailer, acme, django_capture_on_commit_callbacks
):
    client, token, plain = token_client(acme, name="old erp")
    other_client, other, _ = token_client(acme, name="new erp")
    (order,) = place_order(retailer=retailer)
    assert numbers(client.get(LIST, {"created_after": EPOCH})) == [order.number]
    used = ApiToken.objects.get(pk=token.pk).last_used_at
    assert used is not None

    # The command commits (which a Redis cache's processes hear of: token_memory.py).
    with django_capture_on_commit_callbacks(execute=True):
        call_command("revoke_api_token", "acme", plain[:10])

    revoked = ApiToken.objects.get(pk=token.pk)
    assert revoked.revoked_at is not None
    for url in (f"{LIST}?created_after={EPOCH}", f"{LIST}/{order.number}"):
        response = client.get(url)
        assert response.status_code == 401
        assert order.number not in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).last_used_at == used
    # The supplier's other token is untouched.
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None
    assert numbers(other_client.get(LIST, {"created_after": EPOCH})) == [order.number]


def test_revoke_command_refuses_bad_input_and_changes_nothing(acme, bolt):
    _, t1, p1 = token_client(acme, name="one")
    _, t2, p2 = token_client(acme, name="two")
    _, t3, p3 = token_client(bolt)
    with pytest.raises(CommandError, match="slug"):
        call_command("revoke_api_token", "nobody", p1[:12])
    with pytest.raises(CommandError, match="prefix"):
        call_command("revoke_api_token", "acme", "sup")
    with pytest.raises(CommandError, match="several"):
        call_command("revoke_api_token", "acme", "sup_")
    with pytest.raises(CommandError, match="no token"):
        call_command("revoke_api_token", "acme", p3[:12])  # bolt's token
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0


def test_list_api_tokens_shows_prefixes_never_secrets(acme, capsys):
    _, token, plain = token_client(acme, name="warehouse")
    call_command("revoke_api_token", "acme", plain[:12])
    call_command("list_api_tokens", "acme")
    out = capsys.readouterr().out
    assert token.prefix in out and "warehouse" in out
    assert plain not in out and token.token_hash not in out
    with pytest.raises(CommandError):
        call_command("list_api_tokens", "nobody")


def test_too_many_requests_is_429_with_retry_after(monkeypatch, no_settle, acme, bolt):
    monkeypatch.setattr(SupplierTokenThrottle, "rate", "3/min", raising=False)
    client = token_client(acme)[0]
    for _ in range(3):
        assert client.get(LIST, {"created_after": EPOCH}).status_code == 200
    response = client.get(LIST, {"created_after": EPOCH})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert set(response.json()["errors"]) == {"rate_limit"}
    assert client.get(f"{LIST}/PO-1").status_code == 429
    # Per token: another supplier's token is not held back.
    assert token_client(bolt)[0].get(LIST, {"created_after": EPOCH}).status_code == 200


@pytest.mark.parametrize("size", [1, 40, 250])
def test_query_count_per_page_is_bounded(
    no_settle, retailer, acme, bolt, size, django_assert_max_num_queries
):
    client = token_client(acme)[0]
    lines = [{"sku": "ACME-001", "quantity": 1}, {"sku": "ACME-002", "quantity": 2}]
    for _ in range(size + 3):
        place_order(retailer=retailer, lines=lines + [{"sku": "BOLT-7", "quantity": 1}])
    order_set_status(
        order=Order.objects.filter(supplier=acme).first(), status="processing", actor="x"
    )
    # The first request records the token's use; later ones within a minute do not write.
    client.get(LIST, {"created_after": EPOCH, "limit": 1})
    with django_assert_max_num_queries(3):
        first = client.get(LIST, {"created_after": EPOCH, "limit": size})
    assert len(numbers(first)) == size
    with django_assert_max_num_queries(3):
        assert len(numbers(client.get(first.json()["next"]))) == min(size, 3)
    with django_assert_max_num_queries(3):
        client.get(LIST, {"updated_after": EPOCH, "limit": size})
    number = first.json()["results"][0]["number"]
    with django_assert_max_num_queries(3):
        assert client.get(f"{LIST}/{number}").status_code == 200


def test_token_use_is_recorded_at_most_once_a_minute(
    settings, no_settle, acme, django_assert_num_queries
):
    # Each request reads the token here (with a Redis cache a process would remember it:
    # test_supplier_api_token_memory.py).
    settings.SUPPLIER_API_TOKEN_MEMORY_SECONDS = 0
    client, token, _ = token_client(acme)
    with django_assert_num_queries(3):  # token, touch, orders (no lines: empty page)
        client.get(LIST, {"created_after": EPOCH})
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(2):
        client.get(LIST, {"created_after": EPOCH})
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_the_rate_window_closes_and_requests_pass_again(monkeypatch, no_settle, acme):
    from testsupport.waiting import wait_until

    monkeypatch.setattr(SupplierTokenThrottle, "rate", "2/second", raising=False)
    client = token_client(acme)[0]
    assert [client.get(LIST, {"created_after": EPOCH}).status_code for _ in range(2)] == [200] * 2
    refused = client.get(LIST, {"created_after": EPOCH})
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    # The window opened at the first request; once it has closed a new one opens.
    wait_until(
        lambda: client.get(LIST, {"created_after": EPOCH}).status_code == 200,
        timeout=5,
        interval=0.2,
        message="still refused after the window closed",
    )


def test_a_window_that_expired_under_its_increment_gets_an_expiry(monkeypatch, acme):
    """Redis's backend checks that the key exists, then increments; if the key expired in
    between, INCR makes a new key with no expiry, which would refuse the token for ever.
    The race cannot be timed from a test, so the cache answers as it would in it."""
    from django.core.cache.backends.locmem import LocMemCache

    monkeypatch.setattr(SupplierTokenThrottle, "rate", "5/min", raising=False)
    # A cache without Redis's one-call window (orders_portal/cache.py), as on other backends.
    other = LocMemCache("throttle-test", {})
    monkeypatch.setattr(SupplierTokenThrottle, "cache", other)
    touched = []
    monkeypatch.setattr(other, "incr", lambda key, delta=1: 1)
    monkeypatch.setattr(other, "touch", lambda key, timeout: touched.append((key, timeout)))
    client, token, _ = token_client(acme)
    assert client.get(LIST, {"created_after": EPOCH}).status_code == 200
    assert touched == [(f"throttle_supplier_token_{token.pk}", 60)]
