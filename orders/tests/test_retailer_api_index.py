"""The retailer read API's `updated_after` page reads a range of the retailer's changes by the
index on (retailer, updated_at) (migration 0014), not every order the retailer ever sent
through (retailer, created_at) filtered one by one (found in review)."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderIntake
from orders.selectors.retailer_api import order_list_for_retailer
from testsupport.factories import place_order

OLD_ORDERS = 5000


def _copy_as_old_orders(order: Order, count: int) -> None:
    """`count` copies of the order (each with an intake of its own), made and last changed a
    year ago: a retailer's history, written in two statements."""
    q = connection.ops.quote_name
    intakes, orders = q(OrderIntake._meta.db_table), q(Order._meta.db_table)
    fixed = {"id", "intake_id", "number", "created_at", "updated_at"}
    columns = [f.column for f in Order._meta.concrete_fields if f.column not in fixed]
    listed = ", ".join(q(c) for c in columns)
    copied = ", ".join(f"o.{q(c)}" for c in columns)
    year_ago = timezone.now() - timedelta(days=365)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH i AS (INSERT INTO {intakes} (retailer_id, reference, created_at) "
            f"SELECT retailer_id, 'OLD-' || g, %s FROM {intakes}, generate_series(1, %s) g "
            f"WHERE id = %s RETURNING id, reference) "
            f"INSERT INTO {orders} (intake_id, number, created_at, updated_at, {listed}) "
            f"SELECT i.id, 'OLD' || i.reference, %s, %s, {copied} FROM i, {orders} o "
            f"WHERE o.id = %s",
            [year_ago, count, order.intake_id, year_ago, year_ago, order.pk],
        )
        cursor.execute(f"ANALYZE {intakes}")
        cursor.execute(f"ANALYZE {orders}")


def test_an_updated_after_page_reads_the_retailer_updated_index(
    on_postgres, settings, retailer, acme
):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    (order,) = place_order(
        retailer=retailer, reference="NEW-1", lines=[{"sku": "ACME-001", "quantity": 1}]
    )
    _copy_as_old_orders(order, OLD_ORDERS)
    since = timezone.now() - timedelta(minutes=5)

    with CaptureQueriesContext(connection) as queries:
        page = order_list_for_retailer(retailer=retailer, updated_after=since)

    assert [d["number"] for d in page.documents] == [order.number]
    sql = next(q["sql"] for q in queries if f'FROM "{Order._meta.db_table}"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "order_retailer_updated" in plan, plan
