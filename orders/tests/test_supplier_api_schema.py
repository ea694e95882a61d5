"""The OpenAPI document of both APIs, the docs pages served locally, and fuzzing from the schema."""

import re
from html.parser import HTMLParser

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orders.api.throttles import RetailerKeyThrottle, SupplierTokenThrottle
from orders.models import Order, OrderIntake
from suppliers.services import api_token_create
from testsupport.factories import place_order

SCHEMA_URL = "/api/schema/?format=json"
EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go straight to the WSGI app; like Django's test client, keep the test's
    connection (and its transaction) open across them."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_throttle_leftovers(monkeypatch):
    monkeypatch.setattr(SupplierTokenThrottle, "rate", "100000/min", raising=False)
    monkeypatch.setattr(RetailerKeyThrottle, "rate", "100000/min", raising=False)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def openapi(db):
    response = Client().get(SCHEMA_URL)
    assert response.status_code == 200
    return response.json()


def test_schema_covers_both_apis_with_bearer_security(openapi, settings):
    assert openapi["openapi"].startswith("3.")
    paths = openapi["paths"]
    assert set(paths) >= {"/api/v1/orders", "/api/v1/orders/{number}", "/api/v1/retailer/orders"}
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["supplierToken"] == {
        **schemes["supplierToken"],
        "type": "http",
        "scheme": "bearer",
    }
    assert schemes["retailerKey"]["scheme"] == "bearer"
    listing = paths["/api/v1/orders"]["get"]
    assert listing["security"] == [{"supplierToken": []}]
    assert paths["/api/v1/retailer/orders"]["post"]["security"] == [{"retailerKey": []}]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {
        "created_after",
        "created_before",
        "updated_after",
        "status",
        "acknowledged",
        "limit",
        "cursor",
    }
    assert params["created_after"]["schema"]["format"] == "date-time"
    assert params["status"]["schema"]["enum"] == sorted(
        ["placed", "processing", "shipped", "cancelled"]
    )
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 250,
        "default": 100,
    }
    assert set(listing["responses"]) == {"200", "400", "401", "429"}
    assert "Settled-Before" in listing["responses"]["200"]["headers"]
    assert "Retry-After" in listing["responses"]["429"]["headers"]
    # The guarantee and the settle time, stated where integrators read.
    assert f"{settings.SUPPLIER_API_SETTLE_SECONDS:g} seconds" in listing["description"]
    assert "exactly once" in listing["description"]
    page = openapi["components"]["schemas"]["OrderListSchema"]
    assert set(page["required"]) == {"results", "next"}
    document = openapi["components"]["schemas"]["OrderDocumentSchema"]
    assert set(document["properties"]) >= {"number", "lines", "cancellation", "shipment", "total"}


def test_update_bodies_are_closed_as_the_endpoints_are(openapi):
    """The update endpoints answer 400 for a key they do not know; the schema says so, so
    a generated client does not send one (intake's body stays open: it ignores extras)."""
    schemas = openapi["components"]["schemas"]
    for path in ("acknowledgement", "cancellation", "shipments"):
        body = openapi["paths"][f"/api/v1/orders/{{number}}/{path}"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schemas[ref]["additionalProperties"] is False, path
    assert schemas["LineQuantityRequest"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["IntakeRequest"]


def test_schema_is_also_served_as_yaml(db):
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/orders:" in response.content


@pytest.mark.parametrize("value", ["xml", "%00", "api"])
def test_a_format_the_schema_has_not_is_a_404_that_says_so(db, value):
    """It answered `errors: {detail: ['']}`: Django's Http404 has no text of its own."""
    response = Client().get(f"/api/schema/?format={value}")
    assert response.status_code == 404
    assert b"Not found." in response.content
    assert b"''" not in response.content and b"openapi" not in response.content


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append(value)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_only_this_servers_static_files(db, page):
    client = Client()
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Refs()
    parser.feed(html)
    assert parser.refs, "no assets referenced?"
    # Nothing from another host: no scheme, no protocol-relative URL, anywhere in the page.
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", html), "external URL in page"
    assert "/api/schema/" in html
    for ref in parser.refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        if ref.startswith("/static/"):
            asset = client.get(ref)
            assert asset.status_code == 200, ref
            body = b"".join(asset.streaming_content) if asset.streaming else asset.content
            assert len(body) > 100, ref


# --- Fuzzing both APIs from the OpenAPI document -----------------------------------------------


@pytest.fixture
def fuzz_credentials(retailer_and_key, acme, bolt):
    """Real data for both APIs: orders of two suppliers; a supplier token; a retailer key."""
    retailer, key = retailer_and_key
    for lines in ([{"sku": "ACME-001", "quantity": 1}], [{"sku": "BOLT-7", "quantity": 2}]):
        place_order(retailer=retailer, lines=lines)
    # With the update scope, so the fuzz reaches the update endpoints too (issue 13).
    _, token = api_token_create(supplier=acme, name="fuzz", can_update=True)
    return {"supplier": f"Bearer {token}", "retailer": f"Bearer {key}"}


def _load_schema(mode: str = "positive"):
    # Loaded at collection, through the WSGI app in this process (the schema view reads no
    # database). schemathesis.pytest.from_fixture does not work with pytest 9.
    from orders_portal.wsgi import application

    config = schemathesis.Config.from_dict({"generation": {"mode": mode}})
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=config)


lazy_schema = _load_schema()
negative_schema = _load_schema("negative")


@pytest.fixture
def api_schema():
    return lazy_schema


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@lazy_schema.parametrize()
@hypothesis.settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_both_apis_no_5xx_no_schema_violation(case, fuzz_credentials):
    role = "retailer" if "retailer" in case.path else "supplier"
    response = case.call(headers={"Authorization": fuzz_credentials[role]})
    case.validate_response(response, checks=CHECKS)


@negative_schema.parametrize()
@hypothesis.settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_fuzz_invalid_input_is_never_a_5xx(case, fuzz_credentials):
    """Data that breaks the schema (bad dates, limits, statuses, bodies) is refused cleanly.

    (Some negative cases only mutate the Authorization header, which this test replaces, so
    a 2xx is possible; a refusal must store nothing.)
    """
    role = "retailer" if "retailer" in case.path else "supplier"
    intakes = OrderIntake.objects.count()
    # Host is pinned: a mangled Host header is refused (400) by Django's host validation
    # before any view runs, on every URL, which is not the API's schema to describe.
    response = case.call(headers={"Authorization": fuzz_credentials[role], "Host": "testserver"})
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert OrderIntake.objects.count() == intakes


@lazy_schema.parametrize()
@hypothesis.settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_fuzz_without_credentials_is_401_in_schema(case, fuzz_credentials):
    intakes = OrderIntake.objects.count()
    response = case.call(headers={"Authorization": "Bearer not-a-key"})
    assert response.status_code == 401
    case.validate_response(response, checks=CHECKS)
    assert OrderIntake.objects.count() == intakes


def test_real_responses_match_the_schema(api_schema, fuzz_credentials, acme):
    """Deterministic: every documented status code of the list and detail, validated."""
    listing = api_schema["/api/v1/orders"]["GET"]
    detail = api_schema["/api/v1/orders/{number}"]["GET"]
    number = Order.objects.filter(supplier=acme).values_list("number", flat=True).first()
    auth = {"Authorization": fuzz_credentials["supplier"]}
    seen = set()
    for op, kwargs in [
        (listing, {"query": {"created_after": EPOCH, "limit": 1}}),
        (listing, {"query": {"created_after": "nope"}}),
        (detail, {"path_parameters": {"number": number}}),
        (detail, {"path_parameters": {"number": "PO-0"}}),
    ]:
        case = op.Case(headers=auth, **kwargs)
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        seen.add(response.status_code)
    case = listing.Case(headers={"Authorization": "Bearer nope"}, query={"created_after": EPOCH})
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    seen.add(response.status_code)
    assert seen == {200, 400, 401, 404}
