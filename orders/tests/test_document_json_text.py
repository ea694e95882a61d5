"""The stored document's JSON text (orders/documents.py json_text, written with orjson): the
bytes DRF's renderer writes for the same document, for anything a document can hold, and
json.dumps' answer where orjson refuses a value."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from orders.documents import json_text

# Any code point but a lone surrogate (intake refuses those), U+2028/U+2029 made likely.
_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)), st.sampled_from('\u2028\u2029"\\\x00\x1f')
    )
)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), _text)
_document = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=20,
)


def _dumps(value) -> str:
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(document=st.dictionaries(_text, _document, max_size=6))
def test_the_text_is_the_renderers_bytes(document):
    # A document is an object (DRF's renderer writes a bare None as no bytes at all).
    text = json_text(document)
    assert text == _dumps(document)
    assert text.encode() == JSONRenderer().render(document)


@pytest.mark.parametrize(
    "value",
    [
        {"note": "lone \ud800 surrogate"},
        {"quantity": 2**64},
        {"quantity": -(2**63) - 1},
        {1: "a key that is not text"},
    ],
    ids=["lone-surrogate", "past-64-bits", "below-64-bits", "int-key"],
)
def test_what_orjson_refuses_is_written_as_json_dumps_writes_it(value):
    assert json_text(value) == _dumps(value)


def test_a_time_is_refused_as_json_dumps_refuses_it():
    with pytest.raises(TypeError):
        json_text({"at": datetime(2026, 1, 1, tzinfo=timezone.utc)})
