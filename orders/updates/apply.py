"""Applying an update file's rows through the same services as the portal and the API.

Rows with the same order, action, carrier and tracking number are one shipment; the same
order, action, reason and note one cancellation; an order's acknowledge rows one
acknowledgement. Each group applies on its own, atomically: a bad row (or a group the order's
state refuses) is answered `error` and never blocks the others. One order's groups share one
bounded transaction (one commit, not one per group), each service call its own savepoint. A row
that is wrong in itself makes its whole group an error, so a shipment never goes out with
some of the lines the file put in it. Applying a file for good puts many orders in one
transaction (batch.py), with this per-order path as its fallback.

`dry_run` runs exactly the same code and rolls each order's transaction back: the portal's
preview says what each row would do, and changes nothing (no row, no event, no email: a
rolled-back transaction runs no on-commit callback). An order's groups are rolled back
together, so the preview of a later change sees the earlier ones of the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import OperationalError

from ..models import Order
from ..numbers import order_number_plausible
from ..services import (
    order_acknowledge,
    order_lines_cancel,
    order_shipment_create,
)
from ..services.changes import OrderHold, order_hold, order_hold_flush
from ..services.sources import UpdateSource, source_file
from ..transactions import TransactionTooSlowError, bounded_atomic
from .group_rows import actor_of, lines_described, lines_named, refusal_message
from .parse import UpdateRow

APPLIED, UNCHANGED, ERROR = "applied", "unchanged", "error"
# Orders fetched per query; also how often progress is reported.
BATCH_GROUPS = 200


@dataclass(slots=True)
class _Group:
    rows: list[UpdateRow] = field(default_factory=list)  # the good rows
    bad_rows: list[UpdateRow] = field(default_factory=list)  # rows wrong in themselves


class _Rollback(Exception):
    """Raised inside a dry run's transaction, after the outcome is known, to undo it."""

    def __init__(self, outcome: tuple[str, str]):
        self.outcome = outcome


def _apply_group(
    *,
    hold: OrderHold,
    rows: list[UpdateRow],
    actor: str,
    actor_user,
    source: UpdateSource,
    dry: bool,
):
    action = rows[0].action
    order = hold.order
    if action == "acknowledge":
        _, changed = order_acknowledge(
            order=order, actor=actor, actor_user=actor_user, channel=source, hold=hold
        )
        if not changed:
            return UNCHANGED, f"Order {order.number} was already acknowledged."
        return APPLIED, "Would acknowledge the order." if dry else "Acknowledged."
    if action == "cancel":
        lines = lines_named(hold, rows, "cancel")
        cancellation = order_lines_cancel(
            order=order,
            hold=hold,
            actor=actor,
            actor_user=actor_user,
            reason=rows[0].reason,
            note=rows[0].note,
            lines=lines,
            source=source,
        )
        status = cancellation.order.status
        verb = "Would cancel" if dry else "Cancelled"
        return APPLIED, f"{verb} {lines_described(lines)}; the order {_is(dry)} {status}."
    lines = lines_named(hold, rows, "ship")
    shipment = order_shipment_create(
        order=order,
        hold=hold,
        actor=actor,
        actor_user=actor_user,
        carrier=rows[0].carrier,
        tracking_number=rows[0].tracking_number,
        lines=lines,
        source=source,
    )
    status = shipment.order.status
    verb = "Would ship" if dry else "Shipped"
    return (
        APPLIED,
        f"{verb} {lines_described(lines)} by {shipment.carrier}; the order {_is(dry)} {status}.",
    )


def _is(dry: bool) -> str:
    return "would be" if dry else "is now"


def try_group(*, hold: OrderHold, rows: list[UpdateRow], file_name: str, actor_user, dry: bool):
    """One group; its refusal changes nothing. The services run in the order's transaction
    under its hold, without a savepoint each: a refusal (ValidationError) comes before any
    write, so the others go on; anything else breaks the hold (see _run_order)."""
    numbers = [row.row for row in rows]
    # The event's channel names the file and the group's first row; its actor every row.
    source = source_file(name=file_name, row=numbers[0])
    try:
        return _apply_group(
            hold=hold,
            rows=rows,
            actor=actor_of(file_name, numbers),
            actor_user=actor_user,
            source=source,
            dry=dry,
        )
    except ValidationError as exc:  # OrderStateError included: the order's state refuses
        return ERROR, refusal_message(exc, rows)


class _AlreadyAnswered(Exception):
    """Another applier answered this order's rows first: roll this order back, skip it."""


# record(order_outcomes) runs inside the order's transaction, after its changes: the rows'
# outcomes commit with them or not at all. It raises _AlreadyAnswered when it finds them done.
Recorder = Callable[[dict[int, tuple[str, str]]], None]


def _run_order(
    *,
    order: Order,
    groups: list[list[UpdateRow]],
    file_name: str,
    actor_user,
    dry: bool,
    record: Recorder | None,
) -> tuple[list[tuple[str, str]], bool] | None:
    """One order's groups, in file order, in one bounded transaction under one lock (one
    commit per order, not per group); the order row and the events are written once at the
    end (orders/services/changes.py, OrderHold), and with them the rows' outcomes (`record`).
    A dry run rolls the whole back.

    Returns (outcomes, recorded), or None when another applier had answered the rows.
    """
    outcomes: list[tuple[str, str]] = []
    try:
        with bounded_atomic():
            hold = order_hold(order=order, expected_version=None)
            for rows in groups:
                outcomes.append(
                    try_group(
                        hold=hold, rows=rows, file_name=file_name, actor_user=actor_user, dry=dry
                    )
                )
                if hold.broken:
                    raise OperationalError("a change failed after writing")
            if dry:
                raise _Rollback(("", ""))
            order_hold_flush(hold)
            if record is not None:
                record(
                    {
                        row.row: outcome
                        for rows, outcome in zip(groups, outcomes, strict=True)
                        for row in rows
                    }
                )
    except _Rollback:
        pass
    except _AlreadyAnswered:
        return None
    except (TransactionTooSlowError, OperationalError):
        # Nothing of this order was kept (a lock wait, a slow database); the others go on.
        # "in a new file": the same file sent again only repeats its first answer.
        busy = (
            ERROR,
            f"Order {order.number} was busy; nothing was changed. Send the row again in a "
            "new file (this file sent again only repeats this answer).",
        )
        return [busy] * len(groups), False
    return outcomes, record is not None


def batch_sort(
    *, supplier, batch: list[tuple[tuple, _Group]]
) -> tuple[dict[str, Order], dict[str, list[list[UpdateRow]]], dict[int, tuple[str, str]]]:
    """A batch of whole groups sorted out: (the supplier's orders it names, their id and
    number fetched in one query; each of them with its groups, in file order; the outcomes
    of the rows that reach no order: errors in themselves, a group with such a row, an order
    the supplier lacks)."""
    loose: dict[int, tuple[str, str]] = {}
    numbers = {key[0] for key, _ in batch if order_number_plausible(key[0])}
    # Only which of them the supplier has: each path reads and locks its orders again.
    found = Order.objects.filter(supplier=supplier, number__in=numbers).only("id", "number")
    orders = {order.number: order for order in found}
    by_order: dict[str, list[list[UpdateRow]]] = {}
    for key, group in batch:
        for row in group.bad_rows:
            loose[row.row] = (ERROR, row.error)
        if not group.rows:
            continue
        if group.bad_rows:
            outcome = (ERROR, _bad_rows_message(group.bad_rows))
        elif key[0] not in orders:
            outcome = (ERROR, f"order_number: you have no order {key[0]}.")
        else:
            by_order.setdefault(key[0], []).append(group.rows)
            continue
        for row in group.rows:
            loose[row.row] = outcome
    return orders, by_order, loose


# Bad rows a good row's answer names; the rest are counted (every good row of the change
# carries the message: one naming 1,000 bad rows was 5 kB stored 1,000 times; found in review).
BAD_ROWS_SHOWN = 10


def _bad_rows_message(bad_rows: list[UpdateRow]) -> str:
    shown = ", ".join(str(row.row) for row in bad_rows[:BAD_ROWS_SHOWN])
    if len(bad_rows) > BAD_ROWS_SHOWN:
        shown += f" and {len(bad_rows) - BAD_ROWS_SHOWN} more rows"
    return f"Not applied: row {shown} of the same change has an error."


def orders_run(
    *,
    orders: dict[str, Order],
    by_order: dict[str, list[list[UpdateRow]]],
    file_name: str,
    actor_user,
    dry: bool,
    record: Recorder | None,
) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """Each order's groups in a transaction of its own (`_run_order`): the preview's path,
    and an applied batch's when its one transaction could not be (batch.py).

    Returns (outcomes recorded with their changes, outcomes still to record).
    """
    recorded: dict[int, tuple[str, str]] = {}
    loose: dict[int, tuple[str, str]] = {}
    for number, order_groups in by_order.items():
        result = _run_order(
            order=orders[number],
            groups=order_groups,
            file_name=file_name,
            actor_user=actor_user,
            dry=dry,
            record=record,
        )
        if result is None:
            continue
        results, in_transaction = result
        target = recorded if in_transaction else loose
        for rows, outcome in zip(order_groups, results, strict=True):
            for row in rows:
                target[row.row] = outcome
    return recorded, loose


def update_groups(rows: Iterable[UpdateRow]) -> tuple[dict[tuple, _Group], dict[int, tuple]]:
    """The rows' groups (key: UpdateRow.group_key), and the outcomes of rows that are in no
    group (an error without an order number or a known action)."""
    groups: dict[tuple, _Group] = {}
    loose: dict[int, tuple[str, str]] = {}
    for row in rows:
        if row.error and (
            not row.order_number or row.action not in ("acknowledge", "cancel", "ship")
        ):
            loose[row.row] = (ERROR, row.error)
            continue
        group = groups.setdefault(row.group_key, _Group())
        (group.bad_rows if row.error else group.rows).append(row)
    return groups, loose


def update_rows_apply(
    *,
    supplier,
    rows: Iterable[UpdateRow],
    file_name: str,
    actor_user=None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, tuple[str, str]]:
    """{row number: (result, message)} for every row, each group applied (or tried) on its own.

    The whole file's groups in memory: the portal's preview (`dry_run`) of a pending file.
    Applying a file for good walks its stored rows instead (rows.py), a batch at a time,
    through batch.py's `batch_apply`, which falls back on the same `orders_run`.
    """
    groups, outcomes = update_groups(rows)
    total = len(outcomes) + sum(len(g.rows) + len(g.bad_rows) for g in groups.values())
    done = len(outcomes)
    # A batch of whole orders, as applying takes them (rows.py): an order's changes are
    # previewed in one transaction, so a later one sees the earlier ones however far apart
    # the file has them (found in review: 200 changes apart, each was previewed on its own).
    of_order: dict[str, list[tuple[tuple, _Group]]] = {}
    for key, group in groups.items():
        of_order.setdefault(key[0], []).append((key, group))
    items = iter(of_order.values())
    while chunk := list(islice(items, BATCH_GROUPS)):
        batch = [pair for pairs in chunk for pair in pairs]
        orders, by_order, loose = batch_sort(supplier=supplier, batch=batch)
        _, more = orders_run(
            orders=orders,
            by_order=by_order,
            file_name=file_name,
            actor_user=actor_user,
            dry=dry_run,
            record=None,  # nothing recorded: every outcome comes back in `more`
        )
        outcomes.update(loose)
        outcomes.update(more)
        done += len(loose) + len(more)
        if progress is not None:
            progress(done, total)
    return outcomes
