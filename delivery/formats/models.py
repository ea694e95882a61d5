"""File formats made by ops in admin, their immutable versions, and the files sent.

A `FileFormat` is what ops edit; a `FileFormatVersion` is what a file is rendered with. Saving
a format whose latest version already rendered a sent file makes a new version (the sent file's
version never changes); an unused latest version is edited in place. `DeliveryFile` keeps the
bytes a delivery first sent, so every retry and redelivery sends exactly those bytes under the
same identity, whatever happened to the format or the order since.

Imported by delivery/models.py, so these are the delivery app's models (one migration history).
"""

from __future__ import annotations

from django.db import models

from suppliers.models import Supplier


class FormatKind(models.TextChoices):
    DELIMITED = "delimited", "Delimited text (CSV, TSV, any one-character delimiter)"
    JSON = "json", "JSON"
    XML = "xml", "XML"
    X12_850 = "x12_850", "EDI X12 850 purchase order"


class Availability(models.TextChoices):
    ALL = "all", "All suppliers"
    LISTED = "listed", "Listed suppliers"
    OWN = "own", "One supplier's own"


class Quoting(models.TextChoices):
    MINIMAL = "minimal", "Where needed"
    ALL = "all", "Every cell (keeps leading zeros as text)"
    NONE = "none", "Never (a cell holding the delimiter or a quote is refused)"


class Encoding(models.TextChoices):
    UTF8 = "utf-8", "UTF-8"
    UTF8_BOM = "utf-8-sig", "UTF-8 with BOM (Excel)"
    CP1252 = "cp1252", "Windows-1252"


class LineEnd(models.TextChoices):
    CRLF = "crlf", "CRLF (Windows, RFC 4180)"
    LF = "lf", "LF"


class RowPer(models.TextChoices):
    LINE = "line", "One row per order line"
    ORDER = "order", "One row per order"


class FileFormat(models.Model):
    """A format as ops edit it; its spec fields are copied into versions when saved."""

    name = models.SlugField(
        max_length=64, unique=True, help_text="What a destination names (Destination.sftp_format)."
    )
    label = models.CharField(max_length=100, blank=True, help_text="As the portal shows it.")
    kind = models.CharField(max_length=16, choices=FormatKind.choices)
    availability = models.CharField(
        max_length=8, choices=Availability.choices, default=Availability.ALL
    )
    owner = models.ForeignKey(
        Supplier,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_file_formats",
        help_text="For a supplier's own format.",
    )
    suppliers = models.ManyToManyField(
        Supplier, blank=True, related_name="listed_file_formats", help_text="For listed formats."
    )
    columns = models.TextField(
        blank=True,
        help_text="One column (or element) a line: `Header = field | transform ...`; "
        "see docs/formats.md.",
    )
    delimiter = models.CharField(max_length=4, default=",", blank=True)
    quoting = models.CharField(max_length=8, choices=Quoting.choices, default=Quoting.MINIMAL)
    header_row = models.BooleanField(default=True)
    row_per = models.CharField(max_length=8, choices=RowPer.choices, default=RowPer.LINE)
    encoding = models.CharField(max_length=16, choices=Encoding.choices, default=Encoding.UTF8)
    line_end = models.CharField(max_length=4, choices=LineEnd.choices, default=LineEnd.CRLF)
    decimal_separator = models.CharField(
        max_length=1, choices=[(".", ". (point)"), (",", ", (comma)")], default="."
    )
    extension = models.CharField(max_length=10, default="csv")
    file_name_pattern = models.CharField(
        max_length=150,
        default="{number}.{ext}",
        help_text="Placeholders: {number} (required), {retailer_reference}, "
        "{placed_at:%Y%m%d}, {supplier}, {ext}.",
    )
    withdrawn = models.BooleanField(
        default=False,
        help_text="No longer offered to suppliers: one whose destination already uses it keeps "
        "receiving files in it (and sees that it is withdrawn) until it picks another.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FileFormatVersion(models.Model):
    """What files are rendered with; frozen once a file rendered with it was kept."""

    file_format = models.ForeignKey(FileFormat, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=FormatKind.choices)
    # The compiled spec (delivery/formats/spec.py), JSON: columns, delimiter, encoding, ...
    spec = models.JSONField()
    file_name_pattern = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["file_format_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["file_format", "number"], name="file_format_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_format.name} v{self.number}"


class DeliveryFile(models.Model):
    """The file a delivery sent first: every later try sends these bytes, this name. A
    webhook row keeps its body here the same way (`format_name` "webhook", no file name:
    delivery/channels/webhook.py `webhook_bodies`)."""

    delivery = models.OneToOneField(
        "delivery.Delivery", on_delete=models.CASCADE, primary_key=True, related_name="file"
    )
    format_name = models.CharField(max_length=64)
    # Null for a built-in format (code: its version is the release).
    format_version = models.ForeignKey(
        FileFormatVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="files"
    )
    file_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.file_name
