"""A retailer's monthly summary: the figures of one closed month, built and sent once."""

from django.db import models

from orders.models import Retailer


class MonthlySummary(models.Model):
    """One retailer's month; the unique row makes sure a summary is made (and sent) once.

    Its emails are delivery rows whose `source_key` names it (`summary_source_key`): the
    delivery app knows nothing of summaries.
    """

    retailer = models.ForeignKey(Retailer, on_delete=models.PROTECT, related_name="summaries")
    month = models.DateField(help_text="The first day of the month summarised.")
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "retailer_id"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "month"], name="summary_one_per_month"),
        ]
        verbose_name_plural = "monthly summaries"

    def __str__(self) -> str:
        return f"{self.retailer_id}:{self.month:%Y-%m}"

    @property
    def source_key(self) -> str:
        return summary_source_key(self.pk)

    @property
    def deliveries(self):
        """The summary's email deliveries (first send and resends)."""
        from delivery.models import Delivery

        return Delivery.objects.filter(source_key=self.source_key)


SOURCE_PREFIX = "summary:"


def summary_source_key(summary_id: int) -> str:
    """What a summary's Delivery rows carry as their source: "summary:<id>"."""
    return f"{SOURCE_PREFIX}{summary_id}"


def summary_id_from_source_key(source_key: str) -> int | None:
    """The summary id a delivery's source key names, or None (not a summary's delivery)."""
    if not source_key.startswith(SOURCE_PREFIX):
        return None
    tail = source_key[len(SOURCE_PREFIX) :]
    return int(tail) if tail.isdigit() else None
