"""The APIs: REST framework, the schema, and the supplier API's promises and limits."""

from django.core.exceptions import ImproperlyConfigured

from .base import env

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["orders.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orders.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "supplier_token": env.str("SUPPLIER_API_RATE", default="600/min"),
        "retailer_key": env.str("RETAILER_API_RATE", default="6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orders portal API",
    "DESCRIPTION": "Retailer order intake and supplier order polling.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Supplier read API: the no-gap promise ---------------------------------------------------
# Order writes (intake, status changes) commit within ORDERS_TRANSACTION_TIMEOUT_SECONDS of the
# timestamp they write, plus at most as long again for a stalled client before COMMIT (see
# orders/transactions.py), or they roll back. The supplier API lists an order only once its
# created_at (updated_at for `updated_after`) is SUPPLIER_API_SETTLE_SECONDS old, so a poller
# walking consecutive windows never misses one. The settle time must cover 2 x the bound plus
# commit latency and clock skew between app servers (checked: orders/checks.py).
ORDERS_TRANSACTION_TIMEOUT_SECONDS = env.float("ORDERS_TRANSACTION_TIMEOUT_SECONDS", default=3.0)
SUPPLIER_API_SETTLE_SECONDS = env.float("SUPPLIER_API_SETTLE_SECONDS", default=10.0)
# How long a web process remembers a supplier API token it has read; every change to a token
# or supplier makes all processes forget at once (suppliers/token_memory.py). Redis cache
# only; 0 reads the token from the database on every request.
SUPPLIER_API_TOKEN_MEMORY_SECONDS = env.float("SUPPLIER_API_TOKEN_MEMORY_SECONDS", default=10.0)
# The same for a retailer's API key (orders/retailer_memory.py): intake's key look-up.
RETAILER_API_KEY_MEMORY_SECONDS = env.float("RETAILER_API_KEY_MEMORY_SECONDS", default=10.0)
# How long a web process takes intake's products from its memory (suppliers/catalogue_memory.py);
# each write checks them against the catalogue, so this bounds only the memory's size in time.
CATALOGUE_MEMORY_SECONDS = env.float("CATALOGUE_MEMORY_SECONDS", default=300.0)
SUPPLIER_API_MAX_LIMIT = 250
# The update API's Idempotency-Key: how long a key's first answer is replayed (issue 13).
SUPPLIER_API_IDEMPOTENCY_HOURS = 24
# A supplier acknowledges an order within this many hours of placed_at, or it is overdue
# (marked in ORDER HISTORY, and its order addresses get one reminder listing it).
ORDER_ACKNOWLEDGE_HOURS = env.float("ORDER_ACKNOWLEDGE_HOURS", default=24.0)
if ORDER_ACKNOWLEDGE_HOURS <= 0:
    raise ImproperlyConfigured("ORDER_ACKNOWLEDGE_HOURS must be positive.")
# Update files (orders/updates/files.py): a portal upload of more rows than this is applied
# by a Celery task (the page shows its progress); smaller ones in the request.
UPDATE_FILE_INLINE_ROWS = env.int("UPDATE_FILE_INLINE_ROWS", default=200)
# A pending file's page previews this many of its first rows (a dry run, rolled back): the
# preview's time and memory stay those of this many rows whatever the file's size; the rest
# are checked when the file is applied.
UPDATE_FILE_PREVIEW_ROWS = env.int("UPDATE_FILE_PREVIEW_ROWS", default=1000)
# An applier holds a file this long, renewed every batch of orders; past it (a worker
# killed) the recovery sweep queues the file again and the next applier resumes it.
UPDATE_FILE_LEASE_SECONDS = env.int("UPDATE_FILE_LEASE_SECONDS", default=120)
# Orders an update file applies in one transaction (orders/updates/batch.py); 0: one each.
UPDATE_FILE_BATCH_ORDERS = env.int("UPDATE_FILE_BATCH_ORDERS", default=50)
# A file claimed but not taken by a worker within this is queued again.
UPDATE_FILE_QUEUE_GRACE_SECONDS = env.int("UPDATE_FILE_QUEUE_GRACE_SECONDS", default=300)
# After this many appliers took a file and none finished it, it is marked failed.
UPDATE_FILE_MAX_ATTEMPTS = env.int("UPDATE_FILE_MAX_ATTEMPTS", default=3)
SUPPLIER_API_DEFAULT_LIMIT = 100

# Largest intake body accepted, in bytes.
INTAKE_MAX_BODY_BYTES = env.int("INTAKE_MAX_BODY_BYTES", default=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INTAKE_MAX_BODY_BYTES, 2_621_440)
