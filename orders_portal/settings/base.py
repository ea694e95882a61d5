"""The core: the environment reader, DEBUG, VAR_DIR, the secret keys, ALLOWED_HOSTS, apps,
middleware, templates, i18n and static files.

The keys are refused here when they are not real in production (DEBUG false), and
ALLOWED_HOSTS when it names no host, before anything else is read.
"""

import base64
import os
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

# The project root: orders_portal/settings/base.py is three levels down.
BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    # Django's own rule (check W009): 50 characters, at least 5 different ones.
    if (
        not SECRET_KEY
        or SECRET_KEY == _DEV_SECRET_KEY
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of 50+ characters when DEBUG is false "
            "(or set DEBUG=true for local development)."
        )
    # Each key as delivery/fields.py reads it (stripped): " DEV" or "NEW, DEV" is the dev key.
    _field_keys = [k.strip() for k in FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not _field_keys or _DEV_FIELD_ENCRYPTION_KEY in _field_keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set to a Fernet key when DEBUG is false "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    try:
        for _key in _field_keys:
            Fernet(_key)
            # A made-up key (AAAA...=, 32 zero bytes) is valid base64 but no secret: random
            # 32 bytes have about 30 different values, fewer than 8 practically never.
            if len(set(base64.urlsafe_b64decode(_key))) < 8:
                raise ValueError("not random")
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not a valid Fernet key (32 random url-safe base64-encoded "
            "bytes; several keys may be given comma-separated, the first one encrypts)."
        ) from None

# Each name stripped ("a, b" is two names), blanks dropped: " , " names no host.
ALLOWED_HOSTS = [
    host.strip()
    for host in env.list(
        "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
    )
    if host.strip()
]
if not DEBUG and not ALLOWED_HOSTS:
    # Else the site starts and answers every request but /healthz 400 (Bad Request).
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must name the host names the site answers to, comma-separated "
        "(e.g. ALLOWED_HOSTS=orders.example.com), when DEBUG is false."
    )
# Stripped the same way ("https://a, https://b" is two origins).
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in env.list("CSRF_TRUSTED_ORIGINS", default=[]) if origin.strip()
]

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
    # /healthz, before the host check: probes ask by IP (orders_portal/views.py).
    "orders_portal.views.HealthzMiddleware",
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
    "common.csp.CSPMiddleware",  # django-csp's, the settings' policy built once
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            # WhiteNoise's, but a name missing from the manifest is no 500 (its docstring).
            else "orders_portal.staticfiles.ManifestStaticFilesStorage"
        )
    },
}
