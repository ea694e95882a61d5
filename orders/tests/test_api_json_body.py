"""`json_body` (orders/api/parsers.py), intake's short way to its JSON body, gives what DRF's
`request.data` gives, or leaves the body to DRF: same document, same error, same status."""

import json

import pytest
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.request import Request

from orders.api.parsers import JSONParser, json_body

factory = RequestFactory()

documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, min_codepoint=0), max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def drf_request(body: bytes, content_type: str) -> Request:
    django_request = factory.generic(
        "POST", "/api/v1/retailer/orders", data=body, content_type=content_type
    )
    return Request(django_request, parsers=[JSONParser()])


def outcome(read, body: bytes, content_type: str):
    try:
        return ("data", read(drf_request(body, content_type)))
    except (ParseError, UnsupportedMediaType) as exc:
        return (type(exc).__name__, str(exc.detail))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(documents)
def test_any_json_document_reads_the_same(document):
    body = json.dumps(document).encode()
    assert outcome(json_body, body, "application/json") == outcome(
        lambda request: request.data, body, "application/json"
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"a": NaN}', "application/json"),
        (b'{"a": Infinity}', "application/json"),
        (b"\xef\xbb\xbf{}", "application/json"),  # a UTF-8 byte order mark
        (b'{"a": "\xff"}', "application/json"),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested past the limit
        (b"", "application/json"),
        (b"{", "application/json"),
        ('{"a": "é"}'.encode("latin-1"), "application/json; charset=latin-1"),
        ('{"a": "é"}'.encode("utf-16"), "application/json; charset=utf-16"),
        (b'{"a": 1}', "text/plain"),
        (b"a=1", "application/x-www-form-urlencoded"),
    ],
)
def test_odd_bodies_get_drfs_own_answer(body, content_type):
    expected = outcome(lambda request: request.data, body, content_type)
    assert outcome(json_body, body, content_type) == expected
