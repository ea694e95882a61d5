"""What a web process remembers of the catalogue rows intake has read.

Intake reads the products of an order's SKUs (with their supplier) before it writes; that
read was one of its two PostgreSQL round trips. A process remembers each row it read for
CATALOGUE_MEMORY_SECONDS (default 300) and takes an order's products from memory when it
remembers every one of its SKUs.

Nothing has to tell the process that the catalogue changed: the write checks it. A write
built from remembered rows carries a guard (orders/services/intake_write.py) that inserts
nothing unless every product it used is still active, of an active supplier, and still has
the remembered price, name, SKU, currency and supplier (slug and name). If one changed
(any way: the portal, an import, SQL), the write stores nothing, the process forgets those
SKUs, reads them again and writes with what it read (orders/services/intake.py). So an
order is never stored with a price or a name its product no longer had when the order's
transaction began, which is more than the read before the write ever promised.

PostgreSQL only (the guard is part of the one-statement write); `0` reads every time.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

# Past this many SKUs, the oldest are forgotten (a tenth at least).
MAX_REMEMBERED = 20_000

# sku -> (the catalogue read's row for it, monotonic time it expires at)
_remembered: dict[str, tuple[tuple, float]] = {}


def enabled() -> bool:
    return settings.CATALOGUE_MEMORY_SECONDS > 0 and connection.vendor == "postgresql"


def recall(skus: list[str]) -> list[tuple] | None:
    """The rows of these (distinct) SKUs, if every one is remembered and fresh; else None."""
    now = time.monotonic()
    rows = []
    for sku in skus:
        entry = _remembered.get(sku)
        if entry is None or entry[1] <= now:
            return None
        rows.append(entry[0])
    return rows


def remember(rows: list[tuple], *, sku_index: int) -> None:
    """Remember the catalogue read's rows (each row's SKU at `sku_index`)."""
    over = len(_remembered) + len(rows) - MAX_REMEMBERED
    if over > 0:
        for sku in list(_remembered)[: max(over, MAX_REMEMBERED // 10)]:  # the oldest first
            _remembered.pop(sku, None)  # another thread may have taken it
    expires_at = time.monotonic() + settings.CATALOGUE_MEMORY_SECONDS
    for row in rows:
        sku = row[sku_index]
        _remembered.pop(sku, None)  # re-inserted: counts as new for the oldest-first trim
        _remembered[sku] = (row, expires_at)


def forget(skus) -> None:
    for sku in skus:
        _remembered.pop(sku, None)


def forget_all() -> None:
    _remembered.clear()
