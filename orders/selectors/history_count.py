"""How many orders ORDER HISTORY's filters match: exact up to a cap, an estimate beyond it.

Counting a big supplier's whole list would cost more than the page; so the count reads at
most HISTORY_COUNT_CAP + 1 rows (on the page's own indexes), and beyond that PostgreSQL's
planner estimate of the full query is shown, said to be one ("about 120,000"). A search
whose matches are slow to count (a substring over many customers) gets the same: its count
may take HISTORY_COUNT_TIMEOUT_MS (bench/portal.py measured 170 ms of a 300 ms page for a
surname search at 100,000 orders when counting had no bound).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction

from suppliers.models import Supplier

from ..models import Order
from .history import HistoryFilters, _history_conditions, order_history_search_sku

HISTORY_COUNT_CAP = 10_000
HISTORY_COUNT_TIMEOUT_MS = 50


@dataclass(frozen=True)
class HistoryCount:
    count: int
    exact: bool  # False: `count` is the planner's estimate (or the cap, where there is none)


def _estimate(queryset) -> int | None:
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _count_capped(queryset) -> int | None:
    """Up to HISTORY_COUNT_CAP + 1 rows counted; None when PostgreSQL could not count them in
    HISTORY_COUNT_TIMEOUT_MS (the statement is cancelled; its savepoint rolls back)."""
    capped = queryset.order_by().values("pk")[: HISTORY_COUNT_CAP + 1]
    if connection.vendor != "postgresql":
        return capped.count()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(HISTORY_COUNT_TIMEOUT_MS)}")
            found = capped.count()
            # Back to the connection's own limit for whatever else this transaction runs.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = DEFAULT")
            return found
    except OperationalError:  # canceling statement due to statement timeout
        return None


def order_history_count(*, supplier: Supplier, filters: HistoryFilters) -> HistoryCount:
    """The number of the supplier's orders the filters match: exact, or an estimate."""
    q = filters.q.strip()
    sku = order_history_search_sku(supplier=supplier, q=q) if q else None
    qs = Order.objects.filter(*_history_conditions(supplier=supplier, filters=filters, sku=sku))
    capped = _count_capped(qs)
    if capped is not None and capped <= HISTORY_COUNT_CAP:
        return HistoryCount(count=capped, exact=True)
    estimate = _estimate(qs.order_by().values("pk")) or 0
    floor = HISTORY_COUNT_CAP if capped is not None else 0
    return HistoryCount(count=max(estimate, floor), exact=False)


# The filters ORDER HISTORY can drop one at a time, by their field names in the URL.
_LOOSENABLE = ("q", "status", "placed_from", "placed_to", "overdue")
_EMPTY = {"q": "", "status": "", "placed_from": None, "placed_to": None, "overdue": False}


def order_history_loosen(*, supplier: Supplier, filters: HistoryFilters) -> list[str]:
    """For a list the filters left empty: the active filters whose removal alone would show
    orders (one EXISTS each, at most five)."""
    found = []
    for name in _LOOSENABLE:
        if not getattr(filters, name):
            continue
        looser = HistoryFilters(**{**filters.__dict__, name: _EMPTY[name]})
        q = looser.q.strip()
        sku = order_history_search_sku(supplier=supplier, q=q) if q else None
        if Order.objects.filter(
            *_history_conditions(supplier=supplier, filters=looser, sku=sku)
        ).exists():
            found.append(name)
    return found
