"""WSGI entry point for gunicorn.

gunicorn runs no system checks: the settings checks run here, so a bad setting stops the web
process at start with its message (common/checks.py).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")

application = get_wsgi_application()

from common.checks import settings_checks_enforce  # noqa: E402  (needs Django set up)

settings_checks_enforce()

from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: E402

# The static files storage is made now, reading its manifest as WhiteNoise has just listed
# STATIC_ROOT: made at the first request, it named files collected since, which nothing
# served, and /healthz said 200 (orders_portal/staticfiles.py).
staticfiles_storage.base_location  # noqa: B018 - the attribute's read makes the storage

# What is loaded by now lives as long as the process: out of garbage collection, it is not
# walked by every collection again, nor by the last one at exit (a web process then stops
# in a moment, not seconds later on a busy machine).
gc.freeze()
