"""Formats in admin: made, checked and previewed by ops; the built-in ones listed, read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Func, OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import Destination
from .catalogue import catalogue
from .lookup import format_destinations, latest_version
from .models import DeliveryFile, FileFormat
from .preview import format_preview, preview_order
from .registry import FORMATS
from .services import SPEC_FIELDS, file_format_save, file_format_values
from .spec import spec_compile


class FileFormatForm(forms.ModelForm):
    class Meta:
        model = FileFormat
        fields = [
            "name",
            "label",
            "availability",
            "owner",
            "suppliers",
            "withdrawn",
            *SPEC_FIELDS,
        ]
        widgets = {"columns": forms.Textarea(attrs={"rows": 12, "spellcheck": "false"})}

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name in FORMATS:
            raise ValidationError(f"{name!r} is a built-in format; choose another name.")
        old = self.instance.name if self.instance.pk else None
        if old is not None and name != old:
            users = _destinations_text(format_destinations(old))
            if users:
                raise ValidationError(
                    f"{old!r} is used by {users}: a format in use keeps its name (set "
                    "theirs to another format first)."
                )
        return name

    def clean(self):
        cleaned = super().clean()
        values = {
            k: cleaned.get(k, getattr(self.instance, k)) for k in file_format_values(self.instance)
        }
        if values.get("kind"):
            try:
                spec_compile(values)
            except ValidationError as exc:
                for field, problems in exc.message_dict.items():
                    for problem in problems:
                        self.add_error(field if field in self.fields else None, problem)
        availability = cleaned.get("availability")
        if availability == "own" and not cleaned.get("owner"):
            self.add_error("owner", "A supplier's own format names its supplier.")
        return cleaned


def _destinations_text(destinations) -> str:
    return ", ".join(f"{d.supplier.slug}'s {d.channel}" for d in destinations)


@admin.register(FileFormat)
class FileFormatAdmin(admin.ModelAdmin):
    form = FileFormatForm
    list_display = (
        "name",
        "label",
        "kind",
        "availability",
        "owner",
        "withdrawn",
        "destinations_count",
        "version",
        "updated_at",
    )
    list_filter = ("kind", "availability", "withdrawn")
    search_fields = ("name", "label", "owner__slug")
    filter_horizontal = ("suppliers",)
    readonly_fields = ("used_by", "version", "versions_sent", "preview")
    change_list_template = "admin/delivery/fileformat/change_list.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "label",
                    "kind",
                    "availability",
                    "owner",
                    "suppliers",
                    "withdrawn",
                    "used_by",
                )
            },
        ),
        (
            "Columns / elements",
            {
                "fields": ("columns",),
                "description": "One a line: <code>Header = field | transform</code>; fields "
                "and transformations are in docs/formats.md and listed below the preview.",
            },
        ),
        (
            "Delimited text",
            {
                "fields": (
                    "delimiter",
                    "quoting",
                    "header_row",
                    "row_per",
                    "encoding",
                    "line_end",
                    "decimal_separator",
                )
            },
        ),
        ("File", {"fields": ("extension", "file_name_pattern")}),
        ("Versions and preview", {"fields": ("version", "versions_sent", "preview")}),
    )

    def get_queryset(self, request):
        # One query for the list's "used by" column, whatever the number of formats.
        users = (
            Destination.objects.filter(supplier__isnull=False)
            .filter(Q(sftp_format=OuterRef("name")) | Q(email_attach_format=OuterRef("name")))
            .order_by()
            .annotate(n=Func(F("pk"), function="COUNT"))
            .values("n")
        )
        return super().get_queryset(request).annotate(destinations_using=Subquery(users))

    @admin.display(description="used by destinations", ordering="destinations_using")
    def destinations_count(self, obj):
        return getattr(obj, "destinations_using", None) or 0

    @admin.display(description="used by")
    def used_by(self, obj):
        """Who still gets files in this format: a withdrawn one keeps rendering for them."""
        users = _destinations_text(format_destinations(obj.name)) if obj.pk else ""
        if not users:
            return "No destination uses this format."
        if obj.withdrawn:
            return (
                f"Withdrawn, still used by {users}: their files keep this format until "
                "they pick another."
            )
        return users

    def save_model(self, request, obj, form, change):
        version = file_format_save(file_format=obj)
        messages.info(request, f"{obj.name} renders with version {version.number}.")

    @admin.display(description="version")
    def version(self, obj):
        latest = latest_version(obj) if obj.pk else None
        return latest.number if latest else "-"

    @admin.display(description="versions")
    def versions_sent(self, obj):
        if not obj.pk:
            return "-"
        return ", ".join(
            f"v{v.number}: {v.files.count()} files sent" for v in obj.versions.order_by("number")
        )

    @admin.display(description="preview (sample order)")
    def preview(self, obj):
        if not obj.pk:
            return "Save to preview."
        shown = format_preview(obj.name)
        url = reverse("admin:delivery_fileformat_preview", args=[obj.name])
        return format_html(
            '<p>File name: <code class="preview-file-name">{}</code> ({} bytes) '
            '<a href="{}">Preview with a real order</a></p><pre class="preview">{}</pre>'
            '<p class="small">Fields: {}</p>',
            shown.file_name,
            shown.size,
            url,
            shown.error or shown.text,
            ", ".join(catalogue()),
        )

    def get_deleted_objects(self, objs, request):
        """A format a destination names is protected, as one a sent file used is: deleted,
        every new file of that destination failed for good ('unknown file format')."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for obj in objs:
            users = _destinations_text(format_destinations(obj.name))
            if users:
                protected = [*protected, f"{obj.name}: used by {users}"]
        return deleted, counts, perms_needed, protected

    def get_urls(self):
        return [
            path(
                "preview/<str:name>/",
                self.admin_site.admin_view(self.preview_view),
                name="delivery_fileformat_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, name: str):
        # admin_view checks only that the user is staff: the format's own page asks for its
        # view permission, and a real order (its customer's name, email, phone and address)
        # for the order's, as the order's page does (found in review: any staff user could
        # read any order here). The sample order needs no more than the format's.
        if not self.has_view_permission(request):
            raise PermissionDenied
        number = request.GET.get("order", "")
        if number and not request.user.has_perm("orders.view_order"):
            raise PermissionDenied
        order = preview_order(number) if number else None
        shown = format_preview(name, order=order)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {name}",
            "preview": shown,
            "number": number,
            "missing": bool(number) and order is None,
            "opts": self.model._meta,
        }
        status = 404 if context["missing"] else 200
        return TemplateResponse(
            request, "admin/delivery/fileformat/preview.html", context, status=status
        )

    def changelist_view(self, request, extra_context=None):
        extra = {"builtin_formats": sorted(FORMATS)} | (extra_context or {})
        return super().changelist_view(request, extra_context=extra)


class DeliveryFileInline(admin.StackedInline):
    """On a delivery's page: the file it sent (format, version, name, size), read-only."""

    model = DeliveryFile
    extra = 0
    can_delete = False
    fields = ("format_name", "format_version", "file_name", "content_type", "size", "created_at")
    readonly_fields = fields

    @admin.display(description="bytes")
    def size(self, obj):
        return len(obj.content)

    def has_add_permission(self, request, obj=None):
        return False
