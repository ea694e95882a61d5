"""The update API's Idempotency-Key store (issue 13, Stripe's model).

One row per (supplier, key): the request's fingerprint and the first answer, replayed to a
retry within SUPPLIER_API_IDEMPOTENCY_HOURS. The row is inserted first, in the same
transaction as the change: a concurrent request with the same key waits on the unique
constraint and then finds the committed answer, so one key applies once. Written only by
orders/services/idempotency.py.
"""

from django.db import models

from suppliers.models import Supplier


class IdempotencyKey(models.Model):
    # Indexed by the unique (supplier, key) constraint, which leads with it.
    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supplier", "key"], name="idempotency_supplier_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.supplier_id}:{self.key}"
