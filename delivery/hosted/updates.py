"""Update files dropped into the hosted updates/ folder: queued when their upload closes."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def update_queue(slug: str, name: str) -> None:
    """Queue the apply of updates/<name> of supplier `slug` (a Celery task)."""
    from ..tasks import hosted_update_apply

    hosted_update_apply.delay(slug, name)
