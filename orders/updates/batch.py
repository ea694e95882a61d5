"""Applying an update file's rows set-based: many orders in one transaction, a few statements.

The per-order path (apply.py's `orders_run`) takes two locks, writes each change's records,
the order row, the events and the rows' outcomes, and commits, for every order: some ten
round trips an order.
Here a transaction takes `UPDATE_FILE_BATCH_ORDERS` orders (default 50) of a batch:

1. their rows locked in one statement and their lines in another (orders first, as every
   writer does, then lines, both in id order);
2. each order's groups checked and applied in Python against that locked state by the very
   services the portal and the API call (`try_group` under an OrderHold: a refusal is an
   `error` row and writes nothing; an acknowledgement repeated is `unchanged`); each
   cancellation or shipment is handed to the batch's `RecordWrites` (batch_records.py),
   with an id taken ahead from its table's sequence;
3. then, for all of them at once: the lines' units in one UPDATE, the cancellations and
   shipments and their lines in one INSERT a table, the order rows in one UPDATE (derived
   status, version, acknowledgement, commission, stored document: `order_hold_fields`), the
   events in one INSERT (announced on commit: webhooks and the retailer's cancellation
   emails follow them as from the portal), the rows' outcomes in one UPDATE; one commit.

Whatever goes wrong with that transaction (a busy order's lock wait, a change that failed
after writing, another applier that answered the rows first, a slow database), it is rolled
back whole and its orders go through the per-order path, so one bad order never blocks the
others and the outcome is the per-order path's. `UPDATE_FILE_BATCH_ORDERS = 0` applies every
order that way.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.db import DatabaseError, connection

from common.db import values_list
from common.inserts import rows_insert

from ..models import Cancellation, Order, OrderLine, Shipment
from ..services.changes import OrderHold, order_hold_fields
from ..services.events import announce_on_commit
from ..transactions import bounded_atomic
from .apply import Recorder, _AlreadyAnswered, _Group, batch_sort, orders_run, try_group
from .batch_records import RecordWrites
from .parse import UpdateRow

logger = logging.getLogger(__name__)


class _Fallback(Exception):
    """The batch's transaction cannot stand as it is: roll it back, apply order by order."""


def batch_apply(
    *,
    supplier,
    batch: list[tuple[tuple, _Group]],
    file_name: str,
    actor_user,
    record: Recorder,
) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """A batch of whole groups (every group of an order in the same batch) applied for good,
    `UPDATE_FILE_BATCH_ORDERS` orders a transaction (apply.py's `orders_run` when that is 1
    or less). Returns (outcomes recorded with their changes, outcomes still to record)."""
    orders, by_order, loose = batch_sort(supplier=supplier, batch=batch)
    size = settings.UPDATE_FILE_BATCH_ORDERS
    recorded: dict[int, tuple[str, str]] = {}
    numbers = list(by_order)
    step = size if size > 1 else max(1, len(numbers))
    for start in range(0, len(numbers), step):
        part = {number: by_order[number] for number in numbers[start : start + step]}
        if size > 1:
            try:
                recorded.update(
                    _part_apply(
                        orders=orders,
                        part=part,
                        file_name=file_name,
                        actor_user=actor_user,
                        record=record,
                    )
                )
                continue
            except (_Fallback, _AlreadyAnswered, DatabaseError) as exc:
                logger.info(
                    "update file %s: %d orders in one transaction failed (%r); one by one",
                    file_name,
                    len(part),
                    exc,
                )
        done, more = orders_run(
            orders=orders,
            by_order=part,
            file_name=file_name,
            actor_user=actor_user,
            dry=False,
            record=record,
        )
        recorded.update(done)
        loose.update(more)
    return recorded, loose


def _part_apply(
    *,
    orders: dict[str, Order],
    part: dict[str, list[list[UpdateRow]]],
    file_name: str,
    actor_user,
    record: Recorder,
) -> dict[int, tuple[str, str]]:
    """The part's orders in one transaction; every row's outcome, recorded with them."""
    outcomes: dict[int, tuple[str, str]] = {}
    with bounded_atomic():
        holds = _holds([orders[number].pk for number in part])
        writes = None
        if connection.vendor == "postgresql":
            actions = [rows[0].action for groups in part.values() for rows in groups]
            writes = RecordWrites.take(
                {Cancellation: actions.count("cancel"), Shipment: actions.count("ship")}
            )
            for hold in holds.values():
                hold.writes = writes
        changed: list[OrderHold] = []
        for number, groups in part.items():
            hold = holds[orders[number].pk]
            for rows in groups:
                outcome = try_group(
                    hold=hold, rows=rows, file_name=file_name, actor_user=actor_user, dry=False
                )
                if hold.broken:
                    raise _Fallback(f"order {number}: a change failed after writing")
                for row in rows:
                    outcomes[row.row] = outcome
            if hold.changed:
                changed.append(hold)
        if writes is not None:
            writes.write()  # before the orders' rows: a stored document may read them
        _holds_write(changed)
        record(outcomes)
    return outcomes


def _holds(pks: list[int]) -> dict[int, OrderHold]:
    """The orders locked (one statement), then their lines (another): {order id: hold}."""
    pks = sorted(pks)
    locked = list(Order.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
    if len(locked) != len(pks):
        raise _Fallback("an order went away")
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in (
        OrderLine.objects.select_for_update()
        .filter(order_id__in=pks)
        .order_by("order_id", "line_no")
    ):
        lines[line.order_id].append(line)
    return {order.pk: OrderHold(order, lines[order.pk]) for order in locked}


def _holds_write(holds: list[OrderHold]) -> None:
    """What `order_hold_flush` writes for one hold, for all of them: the order rows in one
    UPDATE, the events in one INSERT, announced on commit."""
    if not holds:
        return
    fields_of = [order_hold_fields(hold) for hold in holds]
    _orders_update([hold.order for hold in holds], sorted({f for fs in fields_of for f in fs}))
    events = [event for hold in holds for event in hold.events]
    rows_insert(events)
    for hold in holds:
        hold.events = []
    announce_on_commit([event.pk for event in events])


def _orders_update(orders: list[Order], names: list[str]) -> None:
    """Write `names` of every order as it is in memory (each was read under its lock, so a
    field one order's changes left alone is written as it was). PostgreSQL: one UPDATE
    from a VALUES list; elsewhere one save an order."""
    if connection.vendor != "postgresql":
        for order in orders:
            order.save(update_fields=names)
        return
    fields = [Order._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = [quote(field.column) for field in fields]
    values = values_list(["bigint", *(f.cast_db_type(connection) for f in fields)], len(orders))
    sql = (
        f"UPDATE {quote(Order._meta.db_table)} o SET "
        + ", ".join(f"{column} = v.{column}" for column in columns)
        + f" FROM ({values}) AS v(id, {', '.join(columns)}) WHERE o.id = v.id"
    )
    params = []
    for order in orders:
        params.append(order.pk)
        params += [
            field.get_db_prep_save(getattr(order, field.attname), connection) for field in fields
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(orders):
            raise _Fallback(f"{cursor.rowcount} of {len(orders)} orders updated")
