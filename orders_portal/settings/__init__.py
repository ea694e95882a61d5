"""Settings for the orders portal, all from the environment (django-environ).

With no environment at all and DEBUG=true the project runs embedded: SQLite (WAL) under
var/, Celery on kombu's filesystem transport under var/, email written to var/mail/.
Production (DEBUG false) refuses to start without a real SECRET_KEY and FIELD_ENCRYPTION_KEY
and without ALLOWED_HOSTS. Those, and values that do not parse, are refused here, before Django
is set up; every other rule about a setting's value is a system check in the app that reads it
(common/checks.py).

DJANGO_SETTINGS_MODULE is this package, `orders_portal.settings`. Its parts, one concern each,
are read in this order (a later part may use an earlier one's values); README's configuration
table lists every environment variable, and the part that reads it is the one named here:

- base: DEBUG, VAR_DIR, SECRET_KEY and FIELD_ENCRYPTION_KEY, ALLOWED_HOSTS, apps, middleware,
  templates, TIME_ZONE, static files
- database: DATABASE_URL and the connection options, CACHE_URL, sessions
- auth: login, lockouts (AXES_*), PROXY_COUNT, password reset
- mail: EMAIL_URL, DEFAULT_FROM_EMAIL, EMAIL_TIMEOUT
- celery: CELERY_*, the beat schedule (SWEEP_INTERVAL_SECONDS, SFTP_RUN_CHECK_SECONDS)
- api: REST framework, the supplier and retailer API (rates, settle time, memories), update
  files, intake's body size
- delivery: webhooks, the hosted SFTP server, SFTP runs (SFTP_*), DELIVERY_*, summaries
  (SUMMARY_*), SITE_URL, PLATFORM_NAME
- security: the content security policy, cookies, production's HTTPS settings
- logs: LOG_LEVEL
"""

# In the order above, not sorted: an earlier part's bad value is the one reported.
# isort: skip_file
from .base import *
from .database import *
from .auth import *
from .mail import *
from .celery import *
from .api import *
from .delivery import *
from .security import *
from .logs import *

# Django takes every name for which str.isupper() holds as a setting, these private ones too
# (a leading underscore does not count): kept, so django.conf.settings holds what it did.
from .base import _DEV_FIELD_ENCRYPTION_KEY, _DEV_SECRET_KEY  # noqa: F401
from .database import _PER_PROCESS_CACHES  # noqa: F401

# The embedded run's directories (see the docstring).
if DEBUG or DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    for _sub in ("mail", "celery/queue", "celery/processed", "celery/control", "static"):
        (VAR_DIR / _sub).mkdir(parents=True, exist_ok=True)
