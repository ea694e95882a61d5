"""Settings checks (django.core.checks) and the one place that makes them stop a process.

Each app checks the settings it reads, in its own checks.py, tagged "settings"; `manage.py
check` (and every command that runs checks: migrate, runserver, dispatch_events) reports
them. gunicorn and Celery run no checks of their own, or ignore what they find, so the WSGI
application and the Celery worker and beat call `settings_checks_enforce()`
(orders_portal/wsgi.py, orders_portal/celery.py): a bad value stops them at start, as it
stops `manage.py`. Only what must stop a process before Django is set up stays an error in
settings itself (SECRET_KEY, FIELD_ENCRYPTION_KEY in production, values that do not parse).
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

TAG = "settings"


@checks.register(TAG)
def proxy_count_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """PROXY_COUNT (common/http.py) counts proxies in front: a negative count means nothing."""
    if getattr(settings, "PROXY_COUNT", 0) < 0:
        return [checks.Error("PROXY_COUNT must be 0 or more.", id="common.E001")]
    return []


def settings_checks_enforce() -> None:
    """Raise ImproperlyConfigured naming every settings error the apps' checks find."""
    errors = [
        message
        for message in checks.run_checks(tags=[TAG])
        if message.level >= checks.ERROR and not message.is_silenced()
    ]
    if errors:
        raise ImproperlyConfigured(" ".join(f"{m.msg} ({m.id})" for m in errors))
