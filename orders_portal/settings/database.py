"""The database, the cache, and the sessions that depend on which cache."""

from .base import VAR_DIR, env

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, whose health check on a busy connection is a poll of its socket
        # rather than a SELECT 1 round trip (orders_portal/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "orders_portal.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})
    # Prepared statements for the hot fixed statements only (common/db.py): they need
    # server-side parameter binding; nothing is prepared automatically (the threshold is out
    # of reach), the code marks what to prepare.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)
    # Intake transactions are short by design; a statement that hangs is cut off so a
    # transaction can never stay open longer than the supplier API's settle time.
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", f"-c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=15000)}"
    )

DB_PREPARED_STATEMENTS = (
    DATABASES["default"]["ENGINE"].endswith("postgresql")
    and DATABASES["default"]["OPTIONS"].get("server_side_binding") is True
    and DATABASES["default"]["OPTIONS"].get("prepare_threshold") is not None
)

# Rate-limit counters and login-throttle state: Redis when CACHE_URL is set, else per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, reusing its Redis client (orders_portal/cache.py).
    CACHES["default"]["BACKEND"] = "orders_portal.cache.RedisCache"

# Sessions live in the database. With a cache shared by every process (CACHE_URL: Redis or
# memcached) they are read through it, saving a query per request. A per-process cache (locmem,
# the default) would go on serving a session that another process has ended (a logout), so
# without a shared cache every session read goes to the database.
_PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.db"
    if CACHES["default"]["BACKEND"] in _PER_PROCESS_CACHES
    else "django.contrib.sessions.backends.cached_db"
)
