"""Celery tasks: thin, idempotent, by name; each takes ids and calls one service.

acks_late is on (settings), so a message whose worker dies is delivered again; the services
make a second run harmless (leases, conditional updates, unique rows).
"""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="delivery.send", acks_late=True, ignore_result=True)
def send(delivery_id: int) -> str:
    return services.delivery_send(delivery_id=delivery_id)


@shared_task(name="delivery.dispatch", acks_late=True, ignore_result=True)
def dispatch(event_ids: list[int]) -> int:
    return len(services.events_dispatch(event_ids=event_ids))


@shared_task(name="delivery.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict:
    result = services.deliveries_sweep()
    return {"events": result.events_dispatched, "deliveries": result.deliveries_queued}


@shared_task(name="delivery.sftp_run_due", acks_late=True, ignore_result=True)
def sftp_run_due() -> list[int]:
    return services.sftp_runs_due()


@shared_task(name="delivery.sftp_run", acks_late=True, ignore_result=True)
def sftp_run(destination_id: int) -> int:
    return len(services.sftp_run(destination_id=destination_id))


@shared_task(name="delivery.hosted_update_apply", acks_late=True, ignore_result=True)
def hosted_update_apply(slug: str, name: str) -> str | None:
    """An update file uploaded to the hosted server (queued when its upload closed)."""
    from .hosted.updates import hosted_update_apply as apply

    return apply(slug=slug, name=name)


@shared_task(name="delivery.hosted_leftovers_remove", acks_late=True, ignore_result=True)
def hosted_leftovers_remove() -> int:
    """Hourly: the hosted folders' temporary files nobody will finish."""
    from django.conf import settings

    from .hosted.storage import leftovers_remove

    removed = leftovers_remove(older_than=settings.HOSTED_SFTP_LEFTOVER_HOURS * 3600)
    if removed:
        logger.info("hosted leftovers removed: %s", removed)
    return len(removed)


@shared_task(name="delivery.update_file_apply", acks_late=True, ignore_result=True)
def update_file_apply(update_file_id: int) -> str | None:
    """A claimed update file (a large portal upload, or one the sweep found stopped): apply
    or resume it; nothing when another worker holds it."""
    from orders.updates import update_file_run

    update_file = update_file_run(update_file_id=update_file_id)
    return None if update_file is None else update_file.status


@shared_task(name="delivery.acknowledge_reminders", acks_late=True, ignore_result=True)
def acknowledge_reminders() -> list[int]:
    return services.acknowledge_reminders_send()
