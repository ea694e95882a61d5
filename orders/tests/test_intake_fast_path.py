"""Intake's fast path (orders/intake/fast.py) against the serializer it stands in for.

It must accept only what the serializer accepts, cleaned exactly as the serializer cleans
it, and leave every refusal to the serializer, so the API's error bodies are the
serializer's to the byte.
"""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from orders.intake import _FAST_PATH, IntakeSerializer, errors_flatten, intake_validate
from orders.models import Order, OrderIntake
from testsupport.factories import intake_payload

URL = "/api/v1/retailer/orders"

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT_PATHS = [
    ("reference",),
    ("placed_at",),
    ("customer", "name"),
    ("customer", "email"),
    ("customer", "phone"),
    ("shipping_address", "name"),
    ("shipping_address", "line1"),
    ("shipping_address", "line2"),
    ("shipping_address", "city"),
    ("shipping_address", "region"),
    ("shipping_address", "postcode"),
    ("shipping_address", "country"),
    ("lines", 0, "sku"),
    ("lines", 1, "sku"),
]
OTHER_PATHS = [
    (),
    ("customer",),
    ("shipping_address",),
    ("lines",),
    ("lines", 0),
    ("lines", 0, "quantity"),
    ("lines", 1, "quantity"),
]

# Texts near every rule: blanks, padding, lengths at and past the limits, NUL, lone
# surrogates, non-ASCII letters, emails and times good and bad, country codes in any case.
edge_text = st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        " Ann ",
        "\x00",
        "a\x00b",
        "\ud800",
        "Zoë",
        "東京",
        "é\udfff",
        "gb",
        "Gb",
        "XX",
        "GBR",
        "g",
        "ann@example.com",
        " ann@example.com ",
        "ann@localhost",
        "not-an-email",
        "a@\ud800.com",
        "ann@exämple.com",
        "2026-11-27T10:00:00Z",
        " 2026-11-27T10:00:00+01:00 ",
        "2026-11-27T10:00:00",
        "0001-01-01T00:00:00+05:00",
        "2026-02-30T00:00:00Z",
        "x" * 2,
        "x" * 20,
        "x" * 21,
        "x" * 40,
        "x" * 41,
        "x" * 64,
        "x" * 65,
        "x" * 100,
        "x" * 101,
        "x" * 200,
        "x" * 201,
        " " + "x" * 100 + " ",
    ]
)
any_text = st.one_of(edge_text, st.text(st.characters(codec=None, min_codepoint=0), max_size=8))
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 100_002),
    st.sampled_from([0, 1, 100_000, 100_001, 2**70, 1.0, 1.5, "2"]),
    any_text,
)
json_value = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=5,
)
DROP = object()
change = st.one_of(
    st.tuples(st.sampled_from(TEXT_PATHS), st.one_of(any_text, scalar, st.just(DROP))),
    st.tuples(st.sampled_from(OTHER_PATHS), st.one_of(json_value, st.just(DROP))),
    # An unknown key anywhere: the serializer ignores it.
    st.tuples(st.sampled_from([("extra",), ("customer", "extra"), ("lines", 0, "extra")]), scalar),
    st.tuples(st.just(("lines",)), st.integers(0, 501).map(lambda n: "many:" + str(n))),
)


def _document() -> dict:
    return intake_payload(
        reference="R-1",
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 1}],
        placed_at="2026-11-27T10:00:00Z",
    )


def _changed(document: dict, path: tuple, value) -> dict:
    document = copy.deepcopy(document)
    if isinstance(value, str) and value.startswith("many:") and path == ("lines",):
        value = [{"sku": "ACME-001", "quantity": 1}] * int(value[5:])
    if not path:
        return value
    target = document
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return document
    if not isinstance(target, (dict, list)):
        return document
    if isinstance(target, list) and not isinstance(path[-1], int):
        return document
    if isinstance(target, list) and path[-1] >= len(target):
        return document
    if value is DROP:
        if isinstance(target, list) or path[-1] in target:
            target.pop(path[-1])
    else:
        target[path[-1]] = value
    return document


def _serializer_result(payload):
    """What the serializer alone makes of `payload`: ("ok", data) or ("errors", errors)."""
    try:
        return "ok", IntakeSerializer().run_validation(payload)
    except serializers.ValidationError as exc:
        return "errors", errors_flatten(exc.detail)


@PROPERTY
@given(changes=st.lists(change, max_size=3))
def test_the_fast_path_accepts_only_what_the_serializer_accepts_and_cleans_it_alike(changes):
    payload = _document()
    for path, value in changes:
        payload = _changed(payload, path, value)
    if not isinstance(payload, dict):
        return  # intake_validate refuses a non-object before either runs
    kept = copy.deepcopy(payload)
    fast = _FAST_PATH.clean(payload)
    assert payload == kept  # the document is not changed in place
    outcome, result = _serializer_result(payload)
    if fast is not None:
        assert outcome == "ok", (payload, result)
        assert fast == result
        assert json.dumps(fast, default=str, sort_keys=True) == json.dumps(
            result, default=str, sort_keys=True
        )


@pytest.mark.parametrize(
    "path, value",
    [
        ((), None),
        (("customer", "name"), "  Zoë Ünal  "),
        (("customer", "email"), DROP),
        (("customer", "email"), ""),
        (("customer", "phone"), DROP),
        (("shipping_address", "line2"), DROP),
        (("shipping_address", "country"), "gb"),
        (("shipping_address", "city"), "東京"),
        (("placed_at",), DROP),
        (("placed_at",), "2026-11-27T11:00:00+01:00"),
        (("lines", 0, "extra"), "ignored"),
        (("lines",), "many:500"),
    ],
)
def test_well_formed_documents_take_the_fast_path_with_the_serializers_result(path, value):
    payload = _document() if path == () else _changed(_document(), path, value)
    fast = _FAST_PATH.clean(payload)
    assert fast is not None
    assert _serializer_result(payload) == ("ok", fast)
    assert intake_validate(payload=payload) == fast


BAD = [
    (("lines", 0, "quantity"), 0),
    (("lines", 0, "quantity"), "2"),
    (("lines", 0, "quantity"), 1.5),
    (("lines", 0, "quantity"), True),
    (("lines", 0, "quantity"), 100_001),
    (("lines", 0, "sku"), 17),
    (("lines", 0, "sku"), " "),
    (("lines", 0, "sku"), "x" * 65),
    (("lines",), []),
    (("lines",), "ACME-001"),
    (("lines",), "many:501"),
    (("shipping_address", "city"), DROP),
    (("shipping_address", "country"), "XX"),
    (("shipping_address", "country"), "GBR"),
    (("shipping_address", "postcode"), "x" * 21),
    (("customer", "name"), ["Ann"]),
    (("customer", "name"), "a\x00b"),
    (("customer", "name"), "\ud800"),
    (("customer", "email"), "not-an-email"),
    (("customer", "email"), None),
    (("customer",), "Ann"),
    (("reference",), DROP),
    (("reference",), 1001),
    (("reference",), "x" * 101),
    (("placed_at",), "yesterday"),
    (("placed_at",), "2026-11-27T10:00:00"),
    (("placed_at",), None),
    (("shipping_address",), DROP),
]


@pytest.mark.parametrize("path, value", BAD)
def test_an_error_body_is_the_serializers_to_the_byte(retailer_client, acme, path, value):
    payload = _changed(_document(), path, value)
    assert _FAST_PATH.clean(payload) is None
    outcome, errors = _serializer_result(payload)
    assert outcome == "errors"
    # As a client sends it: JSON with \u escapes (a lone surrogate has no UTF-8 form).
    response = retailer_client.post(URL, json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    assert response.content == JSONRenderer().render({"errors": errors})
    assert OrderIntake.objects.count() == 0
    assert Order.objects.count() == 0


def test_a_new_intakes_answer_is_what_the_renderer_writes_for_its_orders(retailer_client, acme):
    from orders.documents import order_document, orders_with_document_relations

    # Text the renderer escapes (U+2028) or writes as is (non-ASCII), and two lines.
    payload = _changed(_document(), ("customer", "name"), 'Zoë\u2028Ünal "Q" \\ 東京')
    response = retailer_client.post(URL, json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    orders = orders_with_document_relations(Order.objects.order_by("id"))
    expected = {"reference": "R-1", "orders": [order_document(order) for order in orders]}
    assert response.content == JSONRenderer().render(expected)
    assert b"\\u2028" in response.content and "東京".encode() in response.content
    assert response.json()["orders"][0]["customer"]["name"] == 'Zoë\u2028Ünal "Q" \\ 東京'
