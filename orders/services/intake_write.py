"""Intake's write on PostgreSQL: the intake row, its orders (numbered), lines and events in
one data-modifying statement.

Five INSERTs and a `nextval` were six statements, each its own round trip; here they are
one `WITH ... INSERT ... RETURNING` statement. Each INSERT takes the ids it needs from the
one before (the orders the intake's id, the lines and events their order's, matched by
supplier: an intake has one order per supplier), so every foreign key is the real one and
is checked as usual. The unique (retailer, reference) index decides a race as before: the
twin's statement waits for the first transaction and fails with IntegrityError, as a whole.
Numbers come from the same sequence (`nextval` in the orders' INSERT, in line order).

Built from remembered catalogue rows (suppliers/catalogue_memory.py), the intake's INSERT
carries a guard: it inserts its row only if every product used is still active, of an
active supplier, with the remembered values; otherwise no INSERT after it has a row to join,
the statement stores nothing and returns no rows, and `intake_insert_apply` raises
`CatalogueChanged` (the caller reads the catalogue again and writes once more).

The statement's text depends only on the shape (lines per order, products guarded), so it
is built once per shape and prepared once per connection. Values are bound as parameters
with the column's own type, prepared by each field as `bulk_create` would
(common/inserts.py).
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from common.inserts import insert_fields, insert_params
from common.instances import relation_set
from suppliers.models import Product, Supplier

from ..models import Order, OrderEvent, OrderIntake, OrderLine
from ..numbers import ORDER_NUMBER_PREFIX, ORDER_NUMBER_SEQUENCE

# Set by the statement, not taken from the instances.
_INTAKE_EXCLUDE: tuple[str, ...] = ()
_ORDER_EXCLUDE = ("number", "intake")
_LINE_EXCLUDE = ("order",)
_EVENT_EXCLUDE = ("order",)
_ORDER_INTAKE = Order._meta.get_field("intake")
_LINE_ORDER = OrderLine._meta.get_field("order")
_EVENT_ORDER = OrderEvent._meta.get_field("order")


# What the guard compares of each remembered product and of its supplier.
_GUARD_PRODUCT = ("id", "supplier_id", "sku", "name", "price", "currency")
_GUARD_SUPPLIER = ("slug", "name")


class CatalogueChanged(Exception):
    """A remembered product or its supplier changed: the guarded write stored nothing."""


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _casts(model, exclude) -> list[str]:
    return [f"%s::{field.db_type(connection)}" for field in insert_fields(model, exclude)]


def _columns(model, exclude) -> list[str]:
    return [_qn(field.column) for field in insert_fields(model, exclude)]


def _row(casts: list[str], lead: str = "") -> str:
    return "(" + ", ".join(([lead] if lead else []) + casts) + ")"


def _guard_sql(count: int) -> str:
    """A condition true when `count` remembered products (their values in the parameters,
    `_GUARD_PRODUCT` and `_GUARD_SUPPLIER` each) are all still as remembered and active."""
    product_t, supplier_t = _qn(Product._meta.db_table), _qn(Supplier._meta.db_table)
    fields = [Product._meta.get_field(name) for name in _GUARD_PRODUCT]
    fields += [Supplier._meta.get_field(name) for name in _GUARD_SUPPLIER]
    names = [f"p{k}" for k in range(len(fields))]
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in fields) + ")"
    columns = [f"p.{_qn(Product._meta.get_field(n).column)}" for n in _GUARD_PRODUCT]
    columns += [f"s.{_qn(n)}" for n in _GUARD_SUPPLIER]
    same = " AND ".join(f"{column} = g.{name}" for column, name in zip(columns, names))
    return (
        f"(SELECT count(*) FROM (VALUES {', '.join([row] * count)}) g ({', '.join(names)}) "
        f"JOIN {product_t} p ON p.{_qn('id')} = g.p0 "
        f"JOIN {supplier_t} s ON s.{_qn('id')} = p.{_qn('supplier_id')} "
        f"WHERE p.{_qn('is_active')} AND s.{_qn('is_active')} AND {same}) = {count}"
    )


def _guard_params(products) -> list:
    params: list = []
    for product in products:
        params += [getattr(product, name) for name in _GUARD_PRODUCT]
        params += [getattr(product.supplier, name) for name in _GUARD_SUPPLIER]
    return params


@lru_cache(maxsize=256)
def intake_insert_sql(shape: tuple[int, ...], guarded: int = 0) -> str:
    """The statement for an intake of len(shape) orders, shape[k] lines in order k; with
    `guarded` remembered products checked first (none: no guard)."""
    intake_t, order_t = _qn(OrderIntake._meta.db_table), _qn(Order._meta.db_table)
    line_t, event_t = _qn(OrderLine._meta.db_table), _qn(OrderEvent._meta.db_table)
    order_cols = _columns(Order, _ORDER_EXCLUDE)
    line_cols = _columns(OrderLine, _LINE_EXCLUDE)
    event_cols = _columns(OrderEvent, _EVENT_EXCLUDE)
    order_rows = ", ".join(
        _row(_casts(Order, _ORDER_EXCLUDE), lead=str(k)) for k in range(len(shape))
    )
    line_row = _row(_casts(OrderLine, _LINE_EXCLUDE), lead="%s::bigint")
    line_rows = ", ".join([line_row] * sum(shape))
    v_cols = ", ".join(order_cols)
    w_cols = ", ".join(line_cols)
    x_cols = ", ".join(event_cols)
    supplier, line_no = _qn("supplier_id"), _qn("line_no")
    return (
        f"WITH i AS (INSERT INTO {intake_t} ({', '.join(_columns(OrderIntake, _INTAKE_EXCLUDE))}) "
        f"SELECT {', '.join(_casts(OrderIntake, _INTAKE_EXCLUDE))}"
        f"{f' WHERE {_guard_sql(guarded)}' if guarded else ''} RETURNING id), "
        f"v (k, {v_cols}) AS (VALUES {order_rows}), "
        f"o AS (INSERT INTO {order_t} ({_qn('number')}, {_qn('intake_id')}, {v_cols}) "
        f"SELECT %s::text || nextval('{ORDER_NUMBER_SEQUENCE}')::text, i.id, "
        f"{', '.join('v.' + c for c in order_cols)} FROM i CROSS JOIN v ORDER BY v.k "
        f"RETURNING id, {supplier}, {_qn('number')}), "
        f"w (s, {w_cols}) AS (VALUES {line_rows}), "
        f"l AS (INSERT INTO {line_t} ({_qn('order_id')}, {w_cols}) "
        f"SELECT o.id, {', '.join('w.' + c for c in line_cols)} FROM w "
        f"JOIN o ON o.{supplier} = w.s ORDER BY o.id, w.{line_no} "
        f"RETURNING id, {_qn('order_id')}, {line_no}), "
        f"x ({x_cols}) AS (VALUES {_row(_casts(OrderEvent, _EVENT_EXCLUDE))}), "
        f"e AS (INSERT INTO {event_t} ({_qn('order_id')}, {x_cols}) "
        f"SELECT o.id, {', '.join('x.' + c for c in event_cols)} FROM o CROSS JOIN x "
        f"ORDER BY o.id RETURNING id, {_qn('order_id')}) "
        "SELECT 0, id, NULL::bigint, NULL::text FROM i "
        f"UNION ALL SELECT 1, id, {supplier}, {_qn('number')} FROM o "
        f"UNION ALL SELECT 2, id, {_qn('order_id')}, {line_no}::text FROM l "
        f"UNION ALL SELECT 3, id, {_qn('order_id')}, NULL FROM e"
    )


def intake_insert_statement(
    *,
    intake: OrderIntake,
    orders: list[Order],
    lines: list[list[OrderLine]],
    event: OrderEvent,
    guard: list | None = None,
) -> tuple[str, list]:
    """The statement and its parameters; `event` is the one every order gets; `guard` the
    remembered products (with their suppliers) to check first, if any."""
    params = insert_params([intake], exclude=_INTAKE_EXCLUDE)
    if guard:
        params += _guard_params(guard)
    params += insert_params(orders, exclude=_ORDER_EXCLUDE)
    params.append(ORDER_NUMBER_PREFIX)
    for order, order_lines in zip(orders, lines, strict=True):
        for line_params in insert_params(order_lines, exclude=_LINE_EXCLUDE, per_row=True):
            params.append(order.supplier_id)
            params += line_params
    params += insert_params([event], exclude=_EVENT_EXCLUDE)
    shape = tuple(len(order_lines) for order_lines in lines)
    return intake_insert_sql(shape, len(guard) if guard else 0), params


def intake_insert_apply(
    rows,
    *,
    intake: OrderIntake,
    orders: list[Order],
    lines: list[list[OrderLine]],
    events: list[OrderEvent],
) -> None:
    """Set the ids and numbers the statement returned on the instances; no rows at all
    mean the guard found the catalogue changed (CatalogueChanged)."""
    if not rows:
        raise CatalogueChanged("A remembered product or supplier changed; nothing was stored.")
    db = connection.alias
    by_supplier: dict[int, Order] = {order.supplier_id: order for order in orders}
    by_id: dict[int, Order] = {}
    line_ids: dict[tuple[int, int], int] = {}
    event_ids: dict[int, int] = {}
    for kind, pk, key, text in rows:
        if kind == 0:
            intake.pk = pk
        elif kind == 1:
            order = by_supplier[key]
            order.pk, order.number = pk, text
            by_id[pk] = order
        elif kind == 2:
            line_ids[(key, int(text))] = pk
        else:
            event_ids[key] = pk
    for obj in [intake, *orders]:
        obj._state.adding, obj._state.db = False, db
    for order, order_lines, event in zip(orders, lines, events, strict=True):
        relation_set(order, _ORDER_INTAKE, intake)
        for line in order_lines:
            relation_set(line, _LINE_ORDER, order)
            line.pk = line_ids[(order.pk, line.line_no)]
            line._state.adding, line._state.db = False, db
        relation_set(event, _EVENT_ORDER, order)
        event.pk = event_ids[order.pk]
        event._state.adding, event._state.db = False, db
