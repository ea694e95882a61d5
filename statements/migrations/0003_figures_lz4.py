"""The figures column compressed with lz4 instead of PostgreSQL's default pglz.

A month's figures are ~45 KB of JSON, compressed on every insert and decompressed on every
read (the build writes 500 per statement, each send batch reads 200). Inserting 500 of
bench/summaries.py's figures took PostgreSQL 0.44 s with pglz, 0.20 s with lz4 (the stored
size 3.4 MB against 4.2 MB). Only on
PostgreSQL, and only where the server was built with lz4 (the official images are); rows
already stored keep their compression until rewritten. Reversible.
"""

from django.db import migrations

_LZ4 = (
    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
    "AND 'lz4' = ANY(enumvals)"
)


def _compression(method: str):
    def apply(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(_LZ4)
            if cursor.fetchone() is None:
                return
        schema_editor.execute(
            "ALTER TABLE statements_monthlysummary ALTER COLUMN figures "
            f"SET COMPRESSION {method}"
        )

    return apply


class Migration(migrations.Migration):
    dependencies = [("statements", "0002_monthlysummary_table")]

    operations = [migrations.RunPython(_compression("lz4"), _compression("pglz"))]
