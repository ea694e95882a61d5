"""Order numbers: unique, increasing, never reused, allocated without a table-wide lock."""

from django.db import connection

from orders_portal.db import execute_prepared

ORDER_NUMBER_PREFIX = "PO-"
ORDER_NUMBER_START = 10001
ORDER_NUMBER_SEQUENCE = "orders_order_number_seq"


def order_numbers_allocate(*, count: int) -> list[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            execute_prepared(
                cursor,
                f"SELECT nextval('{ORDER_NUMBER_SEQUENCE}') FROM generate_series(1, %s)",
                [count],
            )
            values = [row[0] for row in cursor.fetchall()]
    else:
        # SQLite serialises writers, so one upsert ... RETURNING on one row is safe here.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO orders_counter (name, value) VALUES ('order_number', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = orders_counter.value + %s "
                "RETURNING value",
                [ORDER_NUMBER_START - 1 + count, count],
            )
            last = cursor.fetchone()[0]
        values = list(range(last - count + 1, last + 1))
    return [f"{ORDER_NUMBER_PREFIX}{value}" for value in values]
