"""A month's run in batches of retailers bounded by their month's orders, not by their number.

A batch's figures hold every order of its retailers at once (statements/selectors.py), so a
batch of 500 retailers is as big as their orders: a few big ones would make it hold hundreds
of thousands. Retailers are taken in pk order until their orders of the month reach the
budget (SUMMARY_BATCH_ORDERS); one bigger than the budget goes alone, as its own summary
holds all of its orders anyway. Counting costs one grouped query per chunk of retailers read
(index order_retailer_created), never more than one per batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from orders.models import Retailer

from .selectors import retailer_month_order_counts


@dataclass(frozen=True)
class RetailerBatch:
    retailers: list[Retailer]
    orders: int  # of the month, of all these retailers


def retailer_batches(
    *, month: date, max_retailers: int, order_budget: int
) -> Iterator[RetailerBatch]:
    """Every retailer once, in pk order, in batches of at most max_retailers whose orders of
    the month stay within order_budget (a retailer over the budget alone)."""
    pending: deque[tuple[Retailer, int]] = deque()
    last_pk = 0
    more = True
    while True:
        if more and len(pending) < max_retailers:
            # Enough candidates for a whole batch: read and count the next chunk.
            fetched = list(Retailer.objects.filter(pk__gt=last_pk).order_by("pk")[:max_retailers])
            more = len(fetched) == max_retailers
            if fetched:
                last_pk = fetched[-1].pk
                counts = retailer_month_order_counts(
                    retailer_ids=[retailer.pk for retailer in fetched], month=month
                )
                pending.extend((retailer, counts.get(retailer.pk, 0)) for retailer in fetched)
        if not pending:
            return
        retailers: list[Retailer] = []
        orders = 0
        while pending and len(retailers) < max_retailers:
            retailer, count = pending[0]
            if retailers and orders + count > order_budget:
                break
            pending.popleft()
            retailers.append(retailer)
            orders += count
        yield RetailerBatch(retailers=retailers, orders=orders)
