"""The billing audit: every order that reached us in a summarised month is billed by exactly
one monthly summary (`summaries_audit`).

Summaries bill the orders that reached us in their month (`created_at`, statements/
selectors.py). Until that rule, they billed by the retailer's `placed_at`, so summaries sent
under the old rule can overlap the first ones under the new (an order that arrived on the 1st
before the run with a `placed_at` in the month before is in both) or leave gaps (an order with
a `placed_at` in the future is in neither). This finds both, and any other break of the rule,
from the summaries' own stored order lists, in SQL: nothing is held in memory but the page of
findings being printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection

from orders.models import Order, Retailer

from .models import MonthlySummary
from .months import month_bounds

TWICE = "billed twice"
NEVER = "never billed"


@dataclass(frozen=True)
class Finding:
    problem: str  # TWICE or NEVER
    retailer: str
    number: str
    months: str  # the summaries' months that billed it (TWICE), or the month it arrived in
    created_at: datetime | None = None


def _billed_sql(retailer: str | None) -> tuple[str, list]:
    """A WITH entry `billed(retailer_id, number, month)`: each order each summary billed."""
    t = _tables()
    if connection.vendor == "postgresql":
        expand = "CROSS JOIN LATERAL jsonb_array_elements(s.figures->'orders') AS x(value)"
        number = "x.value->>'number'"
    else:  # SQLite (embedded): the JSON1 functions
        expand, number = (
            "CROSS JOIN json_each(s.figures, '$.orders') AS x",
            ("json_extract(x.value, '$.number')"),
        )
    only, params = "", []
    if retailer:
        only = f" WHERE s.retailer_id IN (SELECT id FROM {t['retailer']} WHERE slug = %s)"
        params = [retailer]
    return (
        f"billed AS (SELECT s.retailer_id, {number} AS number, s.month AS month "
        f"FROM {t['summary']} s {expand}{only})",
        params,
    )


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "summary": q(MonthlySummary._meta.db_table),
        "order": q(Order._meta.db_table),
        "retailer": q(Retailer._meta.db_table),
    }


def summarised_months(*, retailer: str | None = None) -> list[date]:
    """The months some summary covers (of `retailer`, or of anyone)."""
    qs = MonthlySummary.objects.all()
    if retailer:
        qs = qs.filter(retailer__slug=retailer)
    return sorted(set(qs.values_list("month", flat=True)))


def _fetch(sql: str, params: list, *, size: int = 2000) -> Iterator[tuple]:
    """The rows of `sql` in pages of `size` (a server-side cursor on PostgreSQL)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield from rows


def billed_twice(*, retailer: str | None = None) -> Iterator[Finding]:
    """Orders that more than one summary billed, with those summaries' months."""
    billed, params = _billed_sql(retailer)
    t = _tables()
    sql = (
        f"WITH {billed}, twice AS (SELECT retailer_id, number FROM billed "
        "GROUP BY retailer_id, number HAVING COUNT(*) > 1) "
        f"SELECT r.slug, b.number, b.month FROM billed b "
        "JOIN twice w ON w.retailer_id = b.retailer_id AND w.number = b.number "
        f"JOIN {t['retailer']} r ON r.id = b.retailer_id "
        "ORDER BY r.slug, b.number, b.month"
    )
    current, months = None, []
    for slug, order_number, month in _fetch(sql, params):
        if current is not None and current != (slug, order_number):
            yield Finding(TWICE, current[0], current[1], ",".join(months))
            months = []
        current = (slug, order_number)
        months.append(f"{month:%Y-%m}" if isinstance(month, date) else str(month)[:7])
    if current is not None:
        yield Finding(TWICE, current[0], current[1], ",".join(months))


def never_billed(*, months: list[date], retailer: str | None = None) -> Iterator[Finding]:
    """Orders that reached us in one of `months` (months some summary covers) and that no
    summary of their retailer billed, with the month they arrived in."""
    if not months:
        return
    billed, params = _billed_sql(retailer)
    t = _tables()
    adapt = connection.ops.adapt_datetimefield_value
    rows = []
    for month in months:
        start, end = month_bounds(month)
        rows.append("(%s, %s, %s)")
        params += [f"{month:%Y-%m}", adapt(start), adapt(end)]
    only = ""
    if retailer:
        only, params = " AND r.slug = %s", [*params, retailer]
    sql = (
        f"WITH {billed}, months(label, lo, hi) AS (VALUES {', '.join(rows)}) "
        f"SELECT r.slug, o.number, o.created_at, m.label FROM months m "
        f"JOIN {t['order']} o ON o.created_at >= m.lo AND o.created_at < m.hi "
        f"JOIN {t['retailer']} r ON r.id = o.retailer_id "
        "LEFT JOIN billed b ON b.retailer_id = o.retailer_id AND b.number = o.number "
        f"WHERE b.number IS NULL{only} "
        "ORDER BY r.slug, o.created_at, o.id"
    )
    for slug, order_number, created_at, label in _fetch(sql, params):
        if isinstance(created_at, str):
            created_at = datetime.fromisoformat(created_at)
        if created_at.tzinfo is None:  # SQLite's raw rows: naive, in UTC
            created_at = created_at.replace(tzinfo=UTC)
        yield Finding(NEVER, slug, order_number, label, created_at)
