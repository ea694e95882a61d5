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
    # Taken by one applier (the status update is the claim); rows are being applied, by the
    # worker holding `lease_until`, or queued for one (no lease yet).
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    # Its applier died UPDATE_FILE_MAX_ATTEMPTS times: given up. The rows it applied stay
    # applied; the result says which, and that the others were not.
    FAILED = "failed", "Failed"


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
    # The result CSV of a file applied before its rows were kept (UpdateFileRow); newer
    # files build it from their rows when asked (orders/updates/results.py).
    result = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    # Applying: when it was claimed; until when its applier holds it (renewed every batch;
    # past it, the recovery sweep queues it again and the next applier resumes it); how
    # many appliers have taken it.
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

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


class UpdateFileRow(models.Model):
    """One data row of an update file being applied: what it says, and its outcome.

    Rows are stored (parsed) when applying starts and walked an order at a time, so applying
    holds one batch of orders' rows, whatever the file's size. A row's outcome (`result`,
    `message`) is written in the same transaction as the change it made: a row with a result
    is done and a resumed apply skips it; the unique (file, row) and the `result = ''`
    condition of that write make each row apply once even if two appliers race.
    """

    update_file = models.ForeignKey(
        UpdateFile, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    row = models.PositiveIntegerField()
    order_number = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=16, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    quantity = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    note = models.TextField(blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    # What is wrong with the row itself ("" if nothing), from parsing.
    error = models.TextField(blank=True)
    # "" until answered; then applied, unchanged or error.
    result = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update_file", "row"], name="updatefilerow_unique_row"),
        ]
        indexes = [
            # The walk: the file's rows an order at a time.
            models.Index(fields=["update_file", "order_number", "row"], name="updatefilerow_walk"),
        ]

    def __str__(self) -> str:
        return f"{self.update_file_id} row {self.row}"
