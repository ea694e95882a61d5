"""Celery task: the monthly run, thin; the service makes a second run harmless."""

from celery import shared_task

from .services import summaries_send_for_month_task

_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "ignore_result": True,
    "max_retries": 6,
    "default_retry_delay": 900,
}


def _send_monthly_summaries(self, month: str | None = None) -> dict:
    """Beat, on the 1st: last month's summaries, once each; retried while some fail to build."""
    result = summaries_send_for_month_task(month=month)
    if result["failed"]:
        raise self.retry(kwargs={"month": result["month"]})
    return result


send_monthly_summaries = shared_task(name="statements.send_monthly_summaries", **_OPTIONS)(
    _send_monthly_summaries
)
# The name the task had while it lived in delivery: a retry queued by a release before the move
# still runs. Nothing schedules this name any more (the beat entry uses the one above).
send_monthly_summaries_under_old_name = shared_task(
    name="delivery.send_monthly_summaries", **_OPTIONS
)(_send_monthly_summaries)
