"""Property tests: arbitrary strings (NUL and lone surrogates among them), numbers and times,
thrown at the intake API, the supplier and retailer read APIs and the portal's pages, never
make a 5xx, and a refused intake stores nothing.

Deterministic for CI (derandomize: the same examples every run) and kept small (a few dozen
examples each, no deadline: the first request of a test warms caches).
"""

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders.api.params import ALLOWED, RETAILER_ALLOWED
from orders.models import Order, OrderIntake
from suppliers.services import api_token_create
from testsupport.factories import intake_payload, make_supplier_user, place_order

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any code point, surrogates included (what a JSON escape can carry), NUL made likely.
any_text = st.one_of(
    st.text(st.characters(codec=None, min_codepoint=0), max_size=30),
    st.sampled_from(["\x00", "\ud800", "a\x00b", "\udfff\ud800", "PO-1\x00", "%00", ""]),
)
offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59)
)
any_time = st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    offsets,
)
edge_times = st.sampled_from(
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-02-30T00:00:00Z",
        "2026-11-27T10:00:00+99:00",
    ]
)
any_number = st.one_of(
    st.integers(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False)
)
scalar = st.one_of(st.none(), st.booleans(), any_number, any_text, any_time, edge_times)
json_value = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
query_value = st.one_of(any_text, any_time, edge_times, any_number.map(str))


def url_text(text: str) -> str:
    """How a client puts any text in a URL: UTF-8, percent-encoded (a lone surrogate cannot be
    sent as such; its bytes arrive, and Django decodes them as replacement characters)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def query_string(params: dict) -> str:
    return "&".join(f"{url_text(name)}={url_text(value)}" for name, value in params.items())


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


# --- Intake --------------------------------------------------------------------------------

INTAKE_PATHS = [
    (),
    ("reference",),
    ("placed_at",),
    ("customer",),
    ("customer", "name"),
    ("customer", "email"),
    ("customer", "phone"),
    ("shipping_address",),
    ("shipping_address", "line1"),
    ("shipping_address", "city"),
    ("shipping_address", "postcode"),
    ("shipping_address", "country"),
    ("lines",),
    ("lines", 0),
    ("lines", 0, "sku"),
    ("lines", 0, "quantity"),
]


def _replaced(document: dict, path: tuple, value):
    if not path:
        return value
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@PROPERTY
@given(
    path=st.sampled_from(INTAKE_PATHS), value=json_value, placed_at=st.one_of(any_time, edge_times)
)
def test_intake_any_document_is_never_a_5xx_and_a_refusal_stores_nothing(
    retailer_client, acme, path, value, placed_at
):
    document = _replaced(intake_payload(placed_at=placed_at), path, value)
    before = (OrderIntake.objects.count(), Order.objects.count())
    response = retailer_client.post(
        "/api/v1/retailer/orders", json.dumps(document), content_type="application/json"
    )
    assert response.status_code < 500, response.content
    if response.status_code not in (200, 201):
        assert (OrderIntake.objects.count(), Order.objects.count()) == before
    assert response["Content-Type"] == "application/json"


# --- Supplier API --------------------------------------------------------------------------


@pytest.fixture
def token_client(acme, retailer):
    place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    _, plain = api_token_create(supplier=acme, name="prop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@PROPERTY
@given(
    params=st.dictionaries(
        st.one_of(st.sampled_from(ALLOWED), any_text), query_value, max_size=len(ALLOWED)
    )
)
def test_supplier_api_list_with_any_parameters_is_never_a_5xx(token_client, params):
    response = token_client.get("/api/v1/orders?" + query_string(params))
    assert response.status_code < 500, response.content


@PROPERTY
@given(number=st.one_of(any_text, any_number.map(str), st.just("PO-10001")))
def test_supplier_api_detail_of_any_number_is_never_a_5xx(token_client, number):
    response = token_client.get("/api/v1/orders/" + url_text(number))
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 404)


# --- Retailer read API ---------------------------------------------------------------------


@pytest.fixture
def retailer_reader(retailer_client, retailer, acme):
    place_order(retailer=retailer, reference="SHOP-1", lines=[{"sku": "ACME-001", "quantity": 1}])
    return retailer_client


@PROPERTY
@given(
    params=st.dictionaries(
        st.one_of(st.sampled_from(RETAILER_ALLOWED), any_text),
        query_value,
        max_size=len(RETAILER_ALLOWED) + 1,
    )
)
def test_retailer_api_list_with_any_parameters_is_never_a_5xx(retailer_reader, params):
    response = retailer_reader.get("/api/v1/retailer/orders?" + query_string(params))
    assert response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"


@PROPERTY
@given(reference=st.one_of(any_text, any_number.map(str), st.just("SHOP-1")))
def test_retailer_api_detail_of_any_reference_is_never_a_5xx(retailer_reader, reference):
    response = retailer_reader.get("/api/v1/retailer/orders/" + url_text(reference))
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 404)


# --- Portal --------------------------------------------------------------------------------

PORTAL_PARAMS = ["q", "status", "placed_from", "placed_to", "before", "after", "size"]
portal_value = st.one_of(
    query_value,
    st.dates(min_value=datetime(1, 1, 1).date()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01", "9999-12-31", "placed", "cancelled"]),
)


@pytest.fixture
def portal(client, acme, retailer):
    for _ in range(3):
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(PORTAL_PARAMS), portal_value, max_size=4))
def test_portal_history_search_and_export_with_any_filters_are_never_a_5xx(portal, params):
    query = query_string(params)
    response = portal.get("/orders/?" + query)
    assert response.status_code < 500
    response = portal.get("/orders/export.csv?" + query)
    assert response.status_code < 500
    if response.streaming:
        # The whole file streams out: it never stops midway.
        text = b"".join(response.streaming_content).decode()
        assert text.startswith("order_number,")


@PROPERTY
@given(number=st.one_of(any_text, any_number.map(str), st.just("PO-10001")))
def test_portal_order_pages_of_any_number_are_never_a_5xx(portal, number):
    for suffix in ("/", "/edit/", "/cancel-items/", "/ship/"):
        response = portal.get("/orders/" + url_text(number) + suffix)
        assert response.status_code < 500
    form = {"status": "cancelled", "reason": "other", "note": number, "version": "1"}
    response = portal.post(
        "/orders/" + url_text(number) + "/edit/",
        query_string(form),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500


@PROPERTY
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            name: query_value
            for name in ("status", "reason", "note", "carrier", "tracking_number", "version")
        },
    )
)
def test_portal_edit_form_with_any_values_is_never_a_5xx(portal, form):
    number = Order.objects.values_list("number", flat=True).first()
    response = portal.post(
        f"/orders/{number}/edit/",
        query_string(form),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500


@PROPERTY
@given(
    form=st.fixed_dictionaries(
        {},
        optional={
            name: query_value
            for name in ("qty-1", "qty-2", "qty-", "qty-x", "reason", "note", "carrier")
        },
    ),
    page=st.sampled_from(["cancel-items", "ship"]),
)
def test_portal_cancel_items_and_ship_with_any_values_are_never_a_5xx(portal, form, page):
    number = Order.objects.values_list("number", flat=True).first()
    response = portal.post(
        f"/orders/{number}/{page}/",
        query_string(form),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500
