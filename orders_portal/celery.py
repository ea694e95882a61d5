"""The Celery app: configured from Django settings (CELERY_*), tasks discovered per app."""

import gc
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")

app = Celery("orders_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _settings_checks_enforce(**kwargs) -> None:
    """Celery's Django fixup runs the system checks but ignores what they find: a worker or
    beat with a bad setting stops at start, with its message (common/checks.py)."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.core.exceptions import ImproperlyConfigured

    from common.checks import settings_checks_enforce

    try:
        settings_checks_enforce()
    except ImproperlyConfigured as exc:
        # Celery logs and swallows an Exception from a signal handler; SystemExit it does not.
        raise SystemExit(f"ImproperlyConfigured: {exc}") from None


@signals.task_prerun.connect
def _database_connections_check(task=None, **kwargs) -> None:
    """Drop a broken or too old connection before a task, as Django does per request."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's connection and transaction
    from django.db import close_old_connections

    close_old_connections()


def _ready_mark(name: str) -> None:
    """Leave `<RUN_READY_DIR>/<name>.ready` when set: `make run` waits for it before printing
    its banner (scripts/run-embedded)."""
    folder = os.environ.get("RUN_READY_DIR")
    if folder:
        with open(os.path.join(folder, f"{name}.ready"), "w") as marker:
            marker.write(str(os.getpid()))


@signals.worker_ready.connect
def _worker_ready_mark(**kwargs) -> None:
    # Everything loaded so far lives as long as the process: left out of garbage collection,
    # it is not walked again by every collection, nor by the last one at exit (seconds on a
    # busy machine, which Ctrl-C would wait for).
    gc.freeze()
    _ready_mark("worker")


@signals.beat_init.connect
def _beat_ready_mark(**kwargs) -> None:
    gc.freeze()  # as the worker's, above
    _ready_mark("beat")
