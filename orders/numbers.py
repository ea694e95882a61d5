"""Order numbers: unique, increasing, never reused, allocated without a table-wide lock."""

import re

from django.db import connection

from common.db import execute_prepared

ORDER_NUMBER_PREFIX = "PO-"
ORDER_NUMBER_START = 10001
ORDER_NUMBER_SEQUENCE = "orders_order_number_seq"
# The shape of every number ever allocated (the sequence is a bigint): a path or parameter
# of another shape names no order, and is answered 404 without asking the database.
ORDER_NUMBER_PATTERN = re.escape(ORDER_NUMBER_PREFIX) + "[0-9]{1,19}"
_ORDER_NUMBER = re.compile(ORDER_NUMBER_PATTERN)


def order_number_plausible(text: str) -> bool:
    """Whether `text` could be an order number at all."""
    return _ORDER_NUMBER.fullmatch(text) is not None


class OrderNumberConverter:
    """URL converter: only what could be an order number matches (anything else is a 404)."""

    regex = ORDER_NUMBER_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


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
