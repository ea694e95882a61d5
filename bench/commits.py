"""What a COMMIT costs on this machine: the fixed cost of every write transaction.

A transaction that wrote anything to the WAL, a row lock (SELECT ... FOR UPDATE) included,
waits at COMMIT for the WAL flush (`synchronous_commit = on`, fsync of the disk); one that
only read does not. The update API's every request locks its order, so even an update with
nothing to write pays one flush, which the read API never does.
"""

from __future__ import annotations

import statistics
import time

import psycopg

_TABLE = "bench_commit_probe"  # a plain table: a temporary one's writes are not WAL-logged


def commit_latencies(dsn: str, *, count: int = 200) -> dict[str, float]:
    """p50 ms of COMMIT after a read, after a row lock, and after a row's UPDATE."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (id int PRIMARY KEY, x int)")
        conn.execute(f"INSERT INTO {_TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING")
        setting = conn.execute("SHOW synchronous_commit").fetchone()[0]
        result: dict[str, float] = {}
        try:
            for name, sql in (
                ("read", f"SELECT x FROM {_TABLE} WHERE id = 1"),
                ("lock", f"SELECT x FROM {_TABLE} WHERE id = 1 FOR UPDATE"),
                ("write", f"UPDATE {_TABLE} SET x = x + 1 WHERE id = 1"),
            ):
                times = []
                for _ in range(count):
                    conn.execute("BEGIN")
                    conn.execute(sql)
                    started = time.perf_counter()
                    conn.execute("COMMIT")
                    times.append((time.perf_counter() - started) * 1000)
                result[name] = statistics.median(times)
        finally:
            conn.execute(f"DROP TABLE {_TABLE}")
    result["synchronous_commit"] = setting
    return result
