"""Publishing delivery tasks by name: after commit, and never raising into the caller.

When the broker is down the rows stay as they are (the outbox) and the sweeper queues them
later; a failed publish makes us skip the broker for a few seconds so web requests stay fast.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.utils import timezone

from .models import Delivery

logger = logging.getLogger(__name__)

_broker_down_until = 0.0


def task_publish(name: str, *, args: list, countdown: float | None = None) -> bool:
    """Send a task by name; return False (and log) instead of raising when it cannot."""
    global _broker_down_until
    if settings.CELERY_TASK_ALWAYS_EAGER:
        if countdown:
            return False  # eager mode: the sweeper runs it when due
        from . import tasks  # noqa: F401  (registers the tasks in this process)

        current_app.tasks[name].apply(args=args)
        return True
    if time.monotonic() < _broker_down_until:
        return False
    try:
        current_app.send_task(name, args=args, countdown=countdown or None)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure; the sweeper recovers
        _broker_down_until = time.monotonic() + settings.DELIVERY_BROKER_BACKOFF_SECONDS
        logger.warning("could not queue %s%s: %r; the sweeper will queue it", name, args, exc)
        return False


def broker_queue_depth() -> int | None:
    """Messages waiting in the default queue (None: the broker cannot say, or is down)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return 0
    try:
        with current_app.connection_for_write() as connection:  # the URL tasks go to
            queue = current_app.conf.task_default_queue
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception as exc:  # noqa: BLE001 - the sweep goes on as if it were empty
        logger.info("could not read the broker's queue depth: %r", exc)
        return None


def broker_backoff_reset() -> None:
    global _broker_down_until
    _broker_down_until = 0.0


_IDS_PER_UPDATE = 10_000


def deliveries_queue(*, delivery_ids: list[int], countdown: float | None = None) -> list[int]:
    """Queue `delivery.send` for each id; rows that could not be queued are left to the sweeper."""
    queued, failed = [], []
    for delivery_id in delivery_ids:
        if task_publish("delivery.send", args=[delivery_id], countdown=countdown):
            queued.append(delivery_id)
        else:
            failed.append(delivery_id)
    # In chunks: a statement takes at most 65,535 parameters with server-side binding.
    for start in range(0, len(failed), _IDS_PER_UPDATE):
        chunk = failed[start : start + _IDS_PER_UPDATE]
        Delivery.objects.filter(pk__in=chunk, status="pending").update(queued_at=None)
    if countdown:
        due = timezone.now() + timedelta(seconds=countdown)
        for start in range(0, len(queued), _IDS_PER_UPDATE):
            chunk = queued[start : start + _IDS_PER_UPDATE]
            Delivery.objects.filter(pk__in=chunk).update(queued_at=due)
    return queued


def update_file_queue_hook_register() -> None:
    """How `orders` queues a claimed update file (orders/updates/files.py): this task."""
    from orders.updates import update_file_queue_register

    update_file_queue_register(
        lambda update_file_id: task_publish("delivery.update_file_apply", args=[update_file_id])
    )


def update_files_requeue() -> list[int]:
    """Queue again the update files left applying by a worker that stopped (recovery)."""
    from orders.updates import update_files_stale

    ids = update_files_stale()
    return [pk for pk in ids if task_publish("delivery.update_file_apply", args=[pk])]
