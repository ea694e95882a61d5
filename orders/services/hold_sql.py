"""The order hold's statements on PostgreSQL, written from the models' `_meta` once rather
than compiled by the ORM on every change (about 2 ms a change: changes.py's hold read and
flush were most of an API update's own time).

- `hold_read`: the order (with its retailer) and its lines, locked, order first, in one
  round trip: the two SELECT ... FOR UPDATE go in one psycopg pipeline, behind the BEGIN and
  the transaction's bound (orders/transactions.py `bounded_atomic(bound_with_first=True)`)
  when the caller's block left them to it. PostgreSQL runs the statements in order, so the
  lock order is every writer's.
- `hold_write`: the order row's UPDATE and the changes' events' INSERT as one statement.
"""

from __future__ import annotations

from functools import cache, lru_cache

from django.db import DatabaseError, connections

from common.db import execute_prepared, statements_pipelined, values_from_db
from common.inserts import insert_fields, insert_params

from ..models import Order, OrderEvent, OrderLine, Retailer
from ..transactions import bounded_bound_take


def _qn(name: str) -> str:
    return connections["default"].ops.quote_name(name)


@cache
def _read_sql() -> tuple[str, str]:
    orders, lines = Order._meta.db_table, OrderLine._meta.db_table
    o_cols = ", ".join(f"o.{_qn(f.column)}" for f in Order._meta.concrete_fields)
    r_cols = ", ".join(f"r.{_qn(f.column)}" for f in Retailer._meta.concrete_fields)
    l_cols = ", ".join(f"l.{_qn(f.column)}" for f in OrderLine._meta.concrete_fields)
    order_sql = (
        f"SELECT {o_cols}, {r_cols} FROM {_qn(orders)} o "
        f"JOIN {_qn(Retailer._meta.db_table)} r ON r.id = o.retailer_id "
        "WHERE o.supplier_id = %s AND o.number = %s FOR UPDATE OF o"
    )
    # Runs after the order's lock is held (the statement before it in the pipeline).
    lines_sql = (
        f"SELECT {l_cols} FROM {_qn(lines)} l WHERE l.order_id = "
        f"(SELECT id FROM {_qn(orders)} WHERE supplier_id = %s AND number = %s) "
        "ORDER BY l.line_no FOR UPDATE"
    )
    return order_sql, lines_sql


def hold_read(*, supplier_id: int, number: str) -> tuple[Order, list[OrderLine]] | None:
    """The supplier's order `number` (retailer cached on it) and its lines, both locked;
    None if the supplier has no such order. Inside the caller's transaction."""
    connection = connections["default"]
    order_sql, lines_sql = _read_sql()
    statements = [(order_sql, [supplier_id, number]), (lines_sql, [supplier_id, number])]
    bound = bounded_bound_take()
    if bound is not None:
        statements.insert(0, bound)
    order_rows, line_rows = statements_pipelined(connection, statements)[-2:]
    if not order_rows:
        return None
    row = order_rows[0]
    order_fields = Order._meta.concrete_fields
    width = len(order_fields)
    order = Order.from_db(connection.alias, None, values_from_db(order_fields, row[:width]))
    retailer_fields = Retailer._meta.concrete_fields
    retailer = Retailer.from_db(
        connection.alias, None, values_from_db(retailer_fields, row[width:])
    )
    Order.retailer.field.set_cached_value(order, retailer)
    line_fields = OrderLine._meta.concrete_fields
    lines = [
        OrderLine.from_db(connection.alias, None, values_from_db(line_fields, line))
        for line in line_rows
    ]
    for line in lines:
        OrderLine.order.field.set_cached_value(line, order)
    return order, lines


@lru_cache(maxsize=256)
def _write_sql(columns: tuple[str, ...], events: int) -> str:
    sets = ", ".join(f"{_qn(column)} = %s" for column in columns)
    fields = insert_fields(OrderEvent)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"WITH u AS (UPDATE {_qn(Order._meta.db_table)} SET {sets} "
        f"WHERE {_qn(Order._meta.pk.column)} = %s RETURNING 1) "
        f"INSERT INTO {_qn(OrderEvent._meta.db_table)} "
        f"({', '.join(_qn(f.column) for f in fields)}) VALUES {', '.join([row] * events)} "
        f"RETURNING {_qn(OrderEvent._meta.pk.column)}, (SELECT count(*) FROM u)"
    )


def hold_write(*, order: Order, fields: list[str], events: list[OrderEvent]) -> None:
    """UPDATE the order's `fields` (as `save(update_fields=...)` would) and INSERT `events`
    (setting their ids), in one statement."""
    connection = connections["default"]
    meta = Order._meta
    chosen = [meta.get_field(name) for name in dict.fromkeys(fields)]
    params = [f.get_db_prep_save(f.pre_save(order, False), connection) for f in chosen]
    params.append(order.pk)
    params += insert_params(events)
    sql = _write_sql(tuple(f.column for f in chosen), len(events))
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        rows = cursor.fetchall()
    if not rows or rows[0][1] != 1:
        raise DatabaseError("The order's UPDATE did not affect its row.")
    for event, (pk, _) in zip(events, rows, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = connection.alias
