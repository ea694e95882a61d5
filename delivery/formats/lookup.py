"""Which formats a supplier may use, and a format by name ready for one destination.

Built-in formats (code, `FORMATS`) come first and are offered to everyone; formats made in
admin follow, by availability: all suppliers, listed suppliers, or one supplier's own. A
destination's options (formula neutralising, X12 IDs) are applied here, so channels only call
`render` and `file_name`.
"""

from __future__ import annotations

from django.db.models import Q

from . import registry
from .csv_format import CsvFormat
from .custom import CustomFormat
from .models import Availability, FileFormat, FileFormatVersion
from .registry import UnknownFormat


def file_formats_for_supplier(supplier):
    """The admin-made formats this supplier may pick (None: every one, for ops): a withdrawn
    one is offered to nobody."""
    queryset = FileFormat.objects.all()
    if supplier is not None:
        queryset = queryset.filter(
            Q(availability=Availability.ALL)
            | Q(availability=Availability.LISTED, suppliers=supplier)
            | Q(availability=Availability.OWN, owner=supplier),
            withdrawn=False,
        ).distinct()
    return queryset.order_by("name")


WITHDRAWN_LABEL = "{label} (withdrawn: still sent; choose another)"


def formats_kept(supplier, *, field: str | None = None) -> list[str]:
    """The formats this supplier's destinations name that it is no longer offered (withdrawn,
    or no longer available to it): they keep rendering its files, as a deprecated format keeps
    working for those already on it, but nobody picks them anew. `field` (`sftp_format` or
    `email_attach_format`): only those that setting names, so a format kept for the file drop
    is not taken up anew for the email's attachment."""
    from ..models import Destination  # delivery/models.py imports this package

    if supplier is None:
        return []
    fields = (field,) if field else ("sftp_format", "email_attach_format")
    used = set()
    for row in Destination.objects.filter(supplier=supplier).values_list(*fields):
        used |= set(row)
    used -= {"", *registry.FORMATS}
    offered = set(file_formats_for_supplier(supplier).values_list("name", flat=True))
    return sorted(FileFormat.objects.filter(name__in=used - offered).values_list("name", flat=True))


def format_choices(supplier=None, *, field: str | None = None) -> list[tuple[str, str]]:
    """(name, label) of every format the supplier may pick, built-in ones first, then the
    ones it already uses and may keep (`formats_kept`, for that `field`), so its settings
    still save."""
    choices = [(name, fmt.label or name.upper()) for name, fmt in registry.FORMATS.items()]
    choices += [(f.name, f.label or f.name) for f in file_formats_for_supplier(supplier)]
    kept = formats_kept(supplier, field=field)
    if kept:
        labels = dict(FileFormat.objects.filter(name__in=kept).values_list("name", "label"))
        choices += [(n, WITHDRAWN_LABEL.format(label=labels[n] or n)) for n in kept]
    return choices


def format_available(name: str, *, supplier, field: str | None = None) -> bool:
    """Whether the supplier may name this format: offered to it, or already used by it (in
    that `field`)."""
    return (
        name in registry.FORMATS
        or file_formats_for_supplier(supplier).filter(name=name).exists()
        or name in formats_kept(supplier, field=field)
    )


def format_destinations(name: str):
    """The supplier destinations that name this format (SFTP files or the email's
    attachment), on or off: renaming or deleting it would fail every file they make."""
    from ..models import Destination  # delivery/models.py imports this package

    return (
        Destination.objects.filter(supplier__isnull=False)
        .filter(Q(sftp_format=name) | Q(email_attach_format=name))
        .select_related("supplier")
        .order_by("supplier__slug", "channel")
    )


def latest_version(file_format: FileFormat) -> FileFormatVersion | None:
    return file_format.versions.order_by("-number").first()


def custom_format(version: FileFormatVersion, *, destination=None) -> CustomFormat:
    d = destination
    return CustomFormat(
        name=version.file_format.name,
        label=version.file_format.label,
        kind=version.kind,
        spec=version.spec,
        file_name_pattern=version.file_name_pattern,
        version=version,
        neutralise=getattr(d, "csv_neutralise", True),
        x12_sender_id=getattr(d, "x12_sender_id", ""),
        x12_receiver_id=getattr(d, "x12_receiver_id", ""),
    )


def format_for(name: str, *, destination=None):
    """The format called `name` (its latest version), with the destination's options."""
    builtin = registry.FORMATS.get(name)
    if builtin is not None:
        if isinstance(builtin, CsvFormat) and destination is not None:
            if not destination.csv_neutralise:
                return builtin.without_neutralising()
        return builtin
    version = (
        FileFormatVersion.objects.select_related("file_format")
        .filter(file_format__name=name)
        .order_by("-number")
        .first()
    )
    if version is None:
        known = ", ".join([*registry.FORMATS, *FileFormat.objects.values_list("name", flat=True)])
        raise UnknownFormat(f"unknown file format {name!r}; known: {known}")
    return custom_format(version, destination=destination)
