"""The Celery app: configured from Django settings (CELERY_*), tasks discovered per app."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")

app = Celery("orders_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _database_connections_check(task=None, **kwargs) -> None:
    """Drop a broken or too old connection before a task, as Django does per request."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's connection and transaction
    from django.db import close_old_connections

    close_old_connections()
