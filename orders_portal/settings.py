"""Settings for the orders portal, all from the environment (django-environ).

With no environment at all and DEBUG=true the project runs embedded: SQLite (WAL) under
var/, Celery on kombu's filesystem transport under var/, email written to var/mail/.
Production (DEBUG false) refuses to start without a real SECRET_KEY and FIELD_ENCRYPTION_KEY.
Those, and values that do not parse, are refused here, before Django is set up; every other
rule about a setting's value is a system check in the app that reads it (common/checks.py).

One module on purpose, over the usual size: every setting, its environment variable, its
default and its check read top to bottom in one place, as README's configuration table lists
them; split, a reader would hunt for where a variable is read.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

_DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef"
# A Fernet key, for development only: base64 of 32 bytes.
_DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="


def _secret(name: str, default: str = "") -> str:
    """A secret read as is: django-environ would treat a leading '$' as a reference."""
    return os.environ.get(name, default)


SECRET_KEY = _secret("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
FIELD_ENCRYPTION_KEY = _secret(
    "FIELD_ENCRYPTION_KEY", default=_DEV_FIELD_ENCRYPTION_KEY if DEBUG else ""
)
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of 50+ characters when DEBUG is false "
            "(or set DEBUG=true for local development)."
        )
    if not FIELD_ENCRYPTION_KEY or _DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEY.split(","):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set to a Fernet key when DEBUG is false "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    try:
        for _key in [k.strip() for k in FIELD_ENCRYPTION_KEY.split(",") if k.strip()] or [""]:
            Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes; "
            "several keys may be given comma-separated, the first one encrypts)."
        ) from None

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "orders_portal",  # the project package: only for its seed_demo command (it uses every app)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "common",
    "suppliers",
    "orders",
    "delivery",
    "statements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RejectNulMiddleware",
    # A database outage is a 503 with a plain page and Retry-After, never a 500.
    "common.outage.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orders_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "suppliers.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "orders_portal.wsgi.application"

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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's supplier membership with the user.
    "suppliers.backends.PortalModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/orders/"
# A page that says so, with a link to log in again (templates/registration/logged_out.html).
LOGOUT_REDIRECT_URL = "/accounts/logged-out/"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# A lockout is of one user name from one address: failures from an address do not lock the
# user out everywhere, and failures on unknown names do not lock out a known one.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's address: REMOTE_ADDR, or with PROXY_COUNT proxies in front the address they
# recorded in X-Forwarded-For (common/http.py). django-ipware (axes' own way) is not installed.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)  # 0 or more: common/checks.py
AXES_CLIENT_IP_CALLABLE = "common.http.client_address"
AXES_RESET_ON_SUCCESS = True
# A locked-out login gets a page that says which user name from which address is paused, and
# for how long (HTTP 429), not a bare error.
AXES_LOCKOUT_CALLABLE = "suppliers.auth_views.login_locked_out"

# Password reset links are built from the request's host; they expire after a day.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)
# Reset requests per client address and per email address (common.ratelimit rates); over
# either the page looks the same and nothing is sent (checked: suppliers/checks.py).
PASSWORD_RESET_ADDRESS_RATE = env.str("PASSWORD_RESET_ADDRESS_RATE", default="5/hour")
PASSWORD_RESET_EMAIL_RATE = env.str("PASSWORD_RESET_EMAIL_RATE", default="3/hour")

# --- Content security policy (django-csp 4) -----------------------------------------------
# Everything the portal loads is its own: one stylesheet, one small script, no inline code.
CONTENT_SECURITY_POLICY = {
    # Swagger UI and Redoc (the API docs pages) run inline bootstrap scripts.
    "EXCLUDE_URL_PREFIXES": ["/api/docs/", "/api/redoc/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- i18n / time --------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# How dates and times read where no template names a format (the admin): as in the portal.
FORMAT_MODULE_PATH = ["orders_portal.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email --------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    # The embedded default: one file per message under var/mail/ (an absolute path; a
    # filemail:// URL would lose its leading slash and land relative to the working dir).
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orders@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "store_processed": False,
        # Broadcast (worker control) messages live under var/ too, not in the working dir.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        # The worker looks for new files this often (kombu's default is 1 s); its loop sees a
        # shutdown request only between looks, so Ctrl-C stops it this much sooner too.
        "polling_interval": 0.1,
    }
else:
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport with the fix that keeps a worker alive when Redis restarts.
        CELERY_BROKER_TRANSPORT = "orders_portal.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Long retry delays are scheduled from the database by the sweeper, never as a
        # countdown that could outlive this timeout.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when the broker is down: the outbox and the
# sweeper make sure nothing is lost.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Celery's Django fixup closes the database connection around every task unless this is set
# (a new PostgreSQL connection per task costs more than most tasks). Connections are reused;
# orders_portal.celery checks them before each task (CONN_MAX_AGE, CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A cold shutdown (SIGQUIT; what `make run`'s Ctrl-C asks) lets running tasks finish for this
# long, then cancels them (the sweeper sends their deliveries again). SIGTERM stays a warm
# shutdown that waits for every running task.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=3.0)
CELERY_BEAT_SCHEDULE = {
    "delivery-sweep": {
        "task": "delivery.sweep",
        "schedule": timedelta(seconds=env.int("SWEEP_INTERVAL_SECONDS", default=30)),
    },
    "delivery-sftp-due": {
        "task": "delivery.sftp_run_due",
        "schedule": timedelta(seconds=env.int("SFTP_RUN_CHECK_SECONDS", default=60)),
    },
    "delivery-acknowledge-reminders": {
        "task": "delivery.acknowledge_reminders",
        "schedule": timedelta(minutes=15),
    },
    "statements-monthly-summaries": {
        "task": "statements.send_monthly_summaries",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
}

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
# An applier holds a file this long, renewed every batch of orders; past it (a worker
# killed) the recovery sweep queues the file again and the next applier resumes it.
UPDATE_FILE_LEASE_SECONDS = env.int("UPDATE_FILE_LEASE_SECONDS", default=120)
# A file claimed but not taken by a worker within this is queued again.
UPDATE_FILE_QUEUE_GRACE_SECONDS = env.int("UPDATE_FILE_QUEUE_GRACE_SECONDS", default=300)
# After this many appliers took a file and none finished it, it is marked failed.
UPDATE_FILE_MAX_ATTEMPTS = env.int("UPDATE_FILE_MAX_ATTEMPTS", default=3)
SUPPLIER_API_DEFAULT_LIMIT = 100

# Largest intake body accepted, in bytes.
INTAKE_MAX_BODY_BYTES = env.int("INTAKE_MAX_BODY_BYTES", default=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INTAKE_MAX_BODY_BYTES, 2_621_440)

# --- Delivery -----------------------------------------------------------------------------
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# The hosted SFTP server (delivery/hosted/, `manage.py serve_sftp`). ROOT is the hosted
# storage the server and every worker share; ADDRESS is the host name suppliers are told.
HOSTED_SFTP_PORT = env.int("HOSTED_SFTP_PORT", default=2222)
HOSTED_SFTP_BIND = env.str("HOSTED_SFTP_BIND", default="127.0.0.1")
HOSTED_SFTP_ADDRESS = env.str("HOSTED_SFTP_ADDRESS", default="localhost")
HOSTED_SFTP_ROOT = env.str("HOSTED_SFTP_ROOT", default=str(VAR_DIR / "sftp"))
HOSTED_SFTP_HOST_KEY_FILE = env.str(
    "HOSTED_SFTP_HOST_KEY_FILE", default=str(VAR_DIR / "sftp_host_key")
)
# "Fetch fingerprint" and "Test connection" run in a web request: connect, handshake and each
# request are bounded by this (deliveries have their own, longer bounds).
SFTP_PROBE_TIMEOUT_SECONDS = env.float("SFTP_PROBE_TIMEOUT_SECONDS", default=5.0)
# How many of those two a supplier may run per minute (each opens a connection).
SFTP_PROBES_PER_MINUTE = env.int("SFTP_PROBES_PER_MINUTE", default=10)
# Seconds before each try of a delivery: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 24 h (about three days); each delay gets +-10% jitter. After the last, it fails.
DELIVERY_RETRY_SCHEDULE = env.list(
    "DELIVERY_RETRY_SCHEDULE",
    cast=int,
    default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
)
# An SFTP run that failed (or never reported: lost with the broker, its worker killed) is due
# again after these many seconds, the Nth entry after N such runs in a row (the last repeats),
# each capped at the destination's interval; a run that sent everything clears it. The beat
# looks every minute, so the first retry is the next minute's run.
SFTP_RUN_RETRY_SECONDS = env.list(
    "SFTP_RUN_RETRY_SECONDS", cast=int, default=[60, 120, 240, 480, 900]
)
# Seconds in one minute of a destination's SFTP interval. Always 60 in use; only the chaos
# soak's CI run (delivery/tests/test_chaos.py) shortens it, with SFTP_RUN_CHECK_SECONDS (how
# often the beat looks for due runs), to see minutes of SFTP runs in seconds.
SFTP_INTERVAL_MINUTE_SECONDS = env.int("SFTP_INTERVAL_MINUTE_SECONDS", default=60)
# Retries due within this many seconds go out as a countdown; later ones the sweeper queues
# from the database (never a countdown that could outlive the broker's visibility timeout).
DELIVERY_MAX_COUNTDOWN_SECONDS = env.int("DELIVERY_MAX_COUNTDOWN_SECONDS", default=300)
# A worker's lease on a delivery while sending; longer than any channel's timeout.
DELIVERY_CLAIM_SECONDS = env.int("DELIVERY_CLAIM_SECONDS", default=120)
# The sweeper re-queues lost deliveries only while the broker's queue holds fewer messages.
DELIVERY_SWEEP_QUEUE_LIMIT = env.int("DELIVERY_SWEEP_QUEUE_LIMIT", default=200)
# After a success, a worker takes up to this many of that webhook or email destination's
# other due deliveries along, over one connection (their lease covers the whole batch).
DELIVERY_DESTINATION_BATCH = env.int("DELIVERY_DESTINATION_BATCH", default=50)
# After a delivery to a webhook or email destination succeeds, that destination's rows waiting
# on a retry whose last try failed at least this long ago go along at once (they need not wait
# out their backoff: the receiver or relay is back).
DELIVERY_HEALED_MIN_WAIT_SECONDS = env.int("DELIVERY_HEALED_MIN_WAIT_SECONDS", default=30)
# A delivery redelivered on request (portal, admin, `redeliver`) cannot be again for this long.
DELIVERY_REDELIVER_COOLDOWN_SECONDS = env.int("DELIVERY_REDELIVER_COOLDOWN_SECONDS", default=60)
# The sweeper queues a due delivery again when its last queuing is older than this.
DELIVERY_REQUEUE_AFTER_SECONDS = env.int("DELIVERY_REQUEUE_AFTER_SECONDS", default=60)
# Who turns committed order events into deliveries (docs/architecture.md, the flow's step 3):
# - "listener": `manage.py dispatch_events`, woken by PostgreSQL's NOTIFY at each commit; web
#   requests do no dispatch work at all. The default on PostgreSQL; run at least one.
# - "inline": the web request (or command) that wrote the events, right after its commit.
#   The default on SQLite, where nothing else can be woken at commit.
# Either way the sweeper dispatches whatever is still undispatched after the grace below.
# Any other value is refused (delivery/checks.py).
DELIVERY_DISPATCH = env.str(
    "DELIVERY_DISPATCH",
    default="listener" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "inline",
)
# The sweeper dispatches events still undispatched after this many seconds.
DELIVERY_DISPATCH_GRACE_SECONDS = env.int("DELIVERY_DISPATCH_GRACE_SECONDS", default=5)
# After a failed publish, stop trying the broker for this long (web requests stay fast).
DELIVERY_BROKER_BACKOFF_SECONDS = env.float("DELIVERY_BROKER_BACKOFF_SECONDS", default=5.0)
SUMMARY_SEND_EMPTY = env.bool("SUMMARY_SEND_EMPTY", default=True)
# A summary of more orders than this carries its order list as a CSV attachment instead of
# the table (docs/summaries.md).
SUMMARY_EMAIL_ORDER_LIMIT = env.int("SUMMARY_EMAIL_ORDER_LIMIT", default=200)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The platform's name, as emails and their subjects' readers know it.
PLATFORM_NAME = env.str("PLATFORM_NAME", default="Orders portal")

# --- Security (production) ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # asyncssh logs every channel and SFTP request at INFO; serve_sftp logs logins itself.
        "asyncssh": {"level": "WARNING"},
    },
}

if DEBUG or DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    for _sub in ("mail", "celery/queue", "celery/processed", "celery/control", "static"):
        (VAR_DIR / _sub).mkdir(parents=True, exist_ok=True)
