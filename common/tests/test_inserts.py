"""Intake's hot-path INSERT parameters (common/inserts.py) are the ones each field's own
preparation gives."""

import warnings
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from psycopg.types.json import Jsonb

from common.inserts import insert_fields, insert_params
from orders.models import OrderEvent, OrderLine
from testsupport.factories import make_products, make_retailer, make_supplier


def _state(obj) -> dict:
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    cached = dict(obj._state.fields_cache)
    return {"values": values, "cached": cached, "adding": obj._state.adding, "db": obj._state.db}


@pytest.fixture
def rows(db):
    retailer, _ = make_retailer()
    (product,) = make_products(supplier=make_supplier(), skus={"INS-1": "4.25"})
    return retailer, product


def _comparable(params: list) -> list:
    return [(type(v).__name__, v.obj) if isinstance(v, Jsonb) else v for v in params]


def _prepared(obj) -> list:
    fields = insert_fields(type(obj))
    return _comparable([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def test_parameters_are_each_fields_own_preparation(rows):
    retailer, product = rows
    line = OrderLine(
        order_id=1,
        line_no=1,
        product=product,
        sku="S",
        name="N",
        quantity=2,
        unit_price=Decimal("4.25"),
        line_total=Decimal("8.50"),
    )
    event = OrderEvent(order_id=1, type="created", actor="a", data={"k": 1}, created_at=None)
    event.created_at = timezone.now()
    for obj in (line, event):
        assert _comparable(insert_params([obj])) == _prepared(obj)


def test_values_the_shortcut_does_not_pass_still_go_through_the_field(rows):
    retailer, product = rows
    line = OrderLine(order_id=1, line_no=1, product=product, sku="S", name="N", quantity=1)
    line.unit_price, line.line_total = Decimal("NaN"), Decimal("1")
    with pytest.raises(ValidationError):
        insert_params([line])
    naive = datetime(2026, 11, 27, 10, 0)
    event = OrderEvent(order_id=1, type="created", actor="a", data={}, created_at=naive)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params, expected = insert_params([event]), _prepared(event)
    assert params[-2] == expected[-2]  # made aware (PostgreSQL), or naive text (SQLite)
    assert any("naive datetime" in str(w.message) for w in caught)
