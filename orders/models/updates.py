"""Update files: one supplier's CSV of acknowledgements, cancellations and shipments.

A row per file a supplier handed us (portal upload; SFTP in the hosted-SFTP issue). The
unique (supplier, sha256) is what makes a file apply once: the same bytes again find this row
and change nothing. The bytes are kept so the portal's preview and its confirmation read the
same file, and so the result can be rebuilt; the result CSV is stored once applied.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from suppliers.models import Supplier


class UpdateFileSource(models.TextChoices):
    PORTAL = "portal", "Portal upload"
    SFTP = "sftp", "SFTP"


class UpdateFileStatus(models.TextChoices):
    # Uploaded and previewed, not applied: confirming applies it.
    PENDING = "pending", "Not applied"
    # Taken by one applier (the status update is the claim); rows are being applied.
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"


class UpdateFile(models.Model):
    # Indexed by the unique (supplier, sha256) constraint, which leads with it.
    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="update_files", db_index=False
    )
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=UpdateFileSource.choices)
    status = models.CharField(
        max_length=16, choices=UpdateFileStatus.choices, default=UpdateFileStatus.PENDING
    )
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    row_count = models.PositiveIntegerField(default=0)
    applied_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # Rows answered so far while applying (the portal shows it to the person waiting).
    progress_rows = models.PositiveIntegerField(default=0)
    # The result CSV (every input row plus result and message), once applied.
    result = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sha256"], name="updatefile_unique_sha256"),
            models.CheckConstraint(
                condition=Q(source__in=UpdateFileSource.values), name="updatefile_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["supplier", "created_at"], name="updatefile_supplier_time")]

    def __str__(self) -> str:
        return f"{self.name} ({self.supplier_id})"
