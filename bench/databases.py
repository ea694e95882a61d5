"""The benchmarks' PostgreSQL databases: each bench keeps its own, created on first use."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def database_ensure(url: str) -> None:
    """Creates the database `url` names if the server does not have it yet (a new machine).

    Other URLs (SQLite) are left alone.
    """
    if not url.startswith(("postgres://", "postgresql://")):
        return
    params = conninfo_to_dict(url)
    name = params.get("dbname")
    if not name:
        return
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"database {name}: created")
