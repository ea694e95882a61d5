"""How many orders ORDER HISTORY's filters match: exact up to a cap, an estimate beyond it.

Counting a big supplier's whole list would cost more than the page; so the count reads at
most HISTORY_COUNT_CAP + 1 rows (on the page's own indexes), and beyond that PostgreSQL's
planner estimate of the full query is shown, said to be one ("about 120,000").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection

from suppliers.models import Supplier

from ..models import Order
from .history import HistoryFilters, _history_conditions, order_history_search_sku

HISTORY_COUNT_CAP = 10_000


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


def order_history_count(*, supplier: Supplier, filters: HistoryFilters) -> HistoryCount:
    """The number of the supplier's orders the filters match; two queries at most."""
    q = filters.q.strip()
    sku = order_history_search_sku(supplier=supplier, q=q) if q else None
    qs = Order.objects.filter(*_history_conditions(supplier=supplier, filters=filters, sku=sku))
    capped = qs.order_by().values("pk")[: HISTORY_COUNT_CAP + 1].count()
    if capped <= HISTORY_COUNT_CAP:
        return HistoryCount(count=capped, exact=True)
    estimate = _estimate(qs.order_by().values("pk"))
    return HistoryCount(count=max(estimate or 0, HISTORY_COUNT_CAP), exact=False)


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
