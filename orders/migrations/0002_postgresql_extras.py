"""PostgreSQL-only objects: the order-number sequence and ORDER HISTORY's trigram search index.

Other databases get neither: SQLite allocates order numbers from orders_counter and scans
the supplier's rows for substring search.
"""

from django.db import migrations

TRIGRAM_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS order_portal_search ON orders_order USING gin "
    "(upper(customer_name) gin_trgm_ops, upper(customer_email) gin_trgm_ops)",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Building the index on a large table outlasts the web's statement timeout; this
    # migration runs in one transaction, so the setting ends with it.
    schema_editor.execute("SET LOCAL statement_timeout = 0")
    schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS orders_order_number_seq START 10001")
    for sql in TRIGRAM_SQL:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_portal_search")
    schema_editor.execute("DROP SEQUENCE IF EXISTS orders_order_number_seq")


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
