"""WSGI entry point for gunicorn.

gunicorn runs no system checks: the settings checks run here, so a bad setting stops the web
process at start with its message (common/checks.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")

application = get_wsgi_application()

from common.checks import settings_checks_enforce  # noqa: E402  (needs Django set up)

settings_checks_enforce()
