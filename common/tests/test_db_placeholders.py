"""common/db.py's placeholder rewrite for statements sent through a RawCursor."""

import pytest

from common.db import native_placeholders


def test_each_placeholder_gets_its_number_in_order():
    assert native_placeholders("SELECT %s, %s::int FROM t WHERE a = %s") == (
        "SELECT $1, $2::int FROM t WHERE a = $3"
    )
    assert native_placeholders("SELECT 1") == "SELECT 1"


def test_any_other_percent_sign_is_refused():
    with pytest.raises(ValueError):
        native_placeholders("SELECT %s WHERE a LIKE 'x%%'")
