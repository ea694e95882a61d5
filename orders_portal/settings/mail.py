"""Outgoing email: EMAIL_URL, or files under var/mail/ when it is not set."""

from .base import VAR_DIR, env

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
