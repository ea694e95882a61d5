"""Ops screens: destinations (secrets never shown), deliveries and attempts, redelivery."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models

from common.admin_dates import DateHierarchyBounded
from common.labels import when_text
from suppliers.services import emails_clean

from .channels import channel_get
from .formats import admin as formats_admin  # noqa: F401 - registers FileFormat
from .formats import format_available, format_choices
from .models import Channel, Delivery, DeliveryAttempt, Destination
from .selectors import delivery_facts
from .services import (
    SFTP_INTERVAL_MAX_MINUTES,
    SFTP_INTERVAL_RULE,
    delivery_redeliver,
    event_types_clean,
    retailer_event_types_clean,
    sftp_updates_path_clean,
    webhook_url_clean,
)
from .services.channel_off import destination_off_pending_cancel

SECRET_FIELDS = ("webhook_secret", "sftp_password", "sftp_private_key")
# Where an SFTP drop connects and as whom: changed only by `set_channel` or the portal, whose
# service drops the stored password or key when host, port or user name change (docs/delivery.md).
SFTP_CONNECTION_FIELDS = (
    "sftp_hosted",
    "sftp_host",
    "sftp_port",
    "sftp_username",
    "sftp_path",
    "sftp_host_key",
)


class DestinationAdminForm(forms.ModelForm):
    def clean_webhook_url(self):
        url = self.cleaned_data.get("webhook_url") or ""
        if not url:
            return url
        try:
            return webhook_url_clean(url)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("url", exc.messages)) from None

    def clean(self):
        """A supplier's row takes the event types `set_channel --events` takes (the
        dispatcher reads them for every event of the supplier). A retailer's row (issue 19)
        takes the retailer's four event types only. A webhook gets its secret from
        `set_channel` or the portal (a supplier's) or `set_retailer_channel` (a retailer's),
        which show it once; the admin never shows or makes one, so a webhook row without one
        is not turned on here, though it can still be turned off (found in review: a
        supplier's webhook added here had none, and every order to it failed)."""
        cleaned = super().clean()
        # Owner and channel are read-only once the row exists (DestinationAdmin).
        retailer = cleaned.get("retailer") if "retailer" in self.fields else self.instance.retailer
        channel = cleaned.get("channel") if "channel" in self.fields else self.instance.channel
        if channel == "webhook" and cleaned.get("enabled") and not self.instance.webhook_secret:
            self.add_error(
                "channel" if "channel" in self.fields else "enabled",
                (
                    "Set a retailer's webhook with `manage.py set_retailer_channel SLUG webhook "
                    "--url URL` first"
                    if retailer is not None
                    else "Set a supplier's webhook with `manage.py set_channel SLUG webhook "
                    "--url URL` (or in its portal settings) first"
                )
                + ": it makes the signing secret and shows it once.",
            )
        if retailer is None:
            self._supplier_row_clean(cleaned, channel=channel)
            return cleaned
        adding = "channel" in self.fields
        wrong = channel and channel not in (Channel.EMAIL, Channel.WEBHOOK)
        if wrong and (adding or cleaned.get("enabled")):
            # A retailer hears back by its webhook and its email row (shipment emails on or
            # off) only; an SFTP row made here sent nothing, and its runs failed every few
            # minutes for good ("The SFTP host and username are not set"), found in review.
            # One made before can still be turned off.
            self.add_error(
                "channel" if adding else "enabled",
                f"A retailer has no {channel} channel: its rows are its webhook and its email "
                "row (shipment emails on or off), as `manage.py set_retailer_channel` sets them.",
            )
        try:
            cleaned["event_types"] = retailer_event_types_clean(cleaned.get("event_types"))
        except ValidationError as exc:
            self.add_error("event_types", exc.message_dict["events"])
        return cleaned

    def _supplier_row_clean(self, cleaned, *, channel: str) -> None:
        """What `set_channel` and the portal check, checked here too where it changed: the
        addresses (emails_clean) and formats the supplier may use (format_available). An
        SFTP drop is on only with its server or the hosted one set (by the command or the
        portal, which check the server, its key and the login; here they are read-only)."""
        d = self.instance
        if channel == "sftp" and cleaned.get("enabled") and not d.sftp_hosted:
            if not (d.sftp_host and d.sftp_username):
                self.add_error(
                    "enabled",
                    "Set the file drop with `manage.py set_channel SLUG sftp --host H ...` (or "
                    "--hosted), or in the portal's settings, first: this one has no server, so "
                    "every order to it would fail.",
                )
        if channel == "sftp":
            self._sftp_row_clean(cleaned)
        if "event_types" in cleaned:
            try:
                cleaned["event_types"] = event_types_clean(cleaned["event_types"])
            except ValidationError as exc:
                self.add_error("event_types", exc.message_dict["event_types"])
        if cleaned.get("email_addresses") and "email_addresses" in self.changed_data:
            try:
                cleaned["email_addresses"] = emails_clean(
                    value=cleaned["email_addresses"], field="email_addresses"
                )
            except ValidationError as exc:
                self.add_error("email_addresses", exc.message_dict["email_addresses"])
        supplier = cleaned.get("supplier") if "supplier" in self.fields else self.instance.supplier
        for field in ("sftp_format", "email_attach_format"):
            name = cleaned.get(field)
            if not name or supplier is None or field not in self.changed_data:
                continue
            if not format_available(name, supplier=supplier, field=field):
                names = ", ".join(choice for choice, _ in format_choices(supplier, field=field))
                self.add_error(field, f"Unknown format '{name}' for {supplier.slug}; use {names}.")

    def _sftp_row_clean(self, cleaned) -> None:
        """What `set_channel` and the portal refuse for a file drop, refused here too: an
        updates directory that is the order files' own (each run took the order files it had
        just uploaded as update files, and the supplier never saw them), and an interval
        outside 1 to 1440 minutes."""
        d = self.instance
        if "sftp_updates_path" in self.changed_data and not d.sftp_hosted:
            try:
                cleaned["sftp_updates_path"] = sftp_updates_path_clean(
                    cleaned.get("sftp_updates_path", ""), path=d.sftp_path
                )
            except ValidationError as exc:
                self.add_error("sftp_updates_path", exc.message_dict["updates_path"])
        minutes = cleaned.get("sftp_interval_minutes")
        if "sftp_interval_minutes" in self.changed_data and minutes is not None:
            if not 1 <= minutes <= SFTP_INTERVAL_MAX_MINUTES:
                self.add_error("sftp_interval_minutes", SFTP_INTERVAL_RULE)


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    form = DestinationAdminForm
    # A retailer's rows (its webhook; its email row = shipment emails on/off) are here too.
    list_display = (
        "supplier",
        "retailer",
        "channel",
        "enabled",
        "target",
        "secret_set",
        "updated_at",
    )
    list_filter = ("channel", "enabled", ("retailer", admin.EmptyFieldListFilter))
    list_select_related = ("supplier", "retailer")  # both may be NULL: named, or one query a row
    search_fields = (
        "supplier__slug",
        "retailer__slug",
        "webhook_url",
        "sftp_host",
        "email_addresses",
    )
    # Secrets are set with `set_channel` or the portal; never shown or edited here.
    exclude = SECRET_FIELDS
    readonly_fields = (
        "secret_set",
        *SFTP_CONNECTION_FIELDS,
        "sftp_last_run_at",
        "sftp_failed_runs",
        "sftp_retry_at",
        "created_at",
        "updated_at",
    )
    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"},
    }

    def get_readonly_fields(self, request, obj=None):
        # Whose row it is and its channel stay as made: moving cole's webhook or SFTP row to
        # acme would send acme's orders to cole's URL or server, with cole's secret.
        owner = ("supplier", "retailer", "channel") if obj is not None else ()
        return (*owner, *super().get_readonly_fields(request, obj))

    @admin.display(description="target")
    def target(self, obj):
        return channel_get(obj.channel).target(obj)

    @admin.display(description="secret set", boolean=True)
    def secret_set(self, obj):
        return bool(obj.webhook_secret or obj.sftp_password or obj.sftp_private_key)

    def save_model(self, request, obj, form, change):
        """Unticking `enabled` (or adding a row off) turns the channel off as the portal,
        `set_channel` and `set_retailer_channel` do: its pending deliveries (a retailer's
        shipment emails made before its row, too) are cancelled now, in the same transaction
        (Django admin saves in one)."""
        super().save_model(request, obj, form, change)
        if not obj.enabled and (not change or "enabled" in form.changed_data):
            cancelled = destination_off_pending_cancel(destination=obj)
            if cancelled:
                self.message_user(
                    request,
                    f"{cancelled} pending deliveries of this {obj.channel} channel were "
                    "cancelled; redeliver them once it is on again.",
                    messages.WARNING,
                )

    def has_delete_permission(self, request, obj=None):
        # Turn a channel off instead: a deleted destination left its pending SFTP rows with
        # no destination, which no run takes and the sweep skips (pending for good).
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "duration_ms", "success", "status_code", "error", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


REDELIVER_ADMIN_MAX = 500


@admin.action(description="Redeliver (same identity)", permissions=["redeliver"])
def redeliver(modeladmin, request, queryset):
    # One transaction a row, in the web request: "select all" over a big list held a web
    # worker past its timeout and stopped part way, unreported. More is the command's.
    chosen = list(queryset[: REDELIVER_ADMIN_MAX + 1])
    if len(chosen) > REDELIVER_ADMIN_MAX:
        modeladmin.message_user(
            request,
            f"Select at most {REDELIVER_ADMIN_MAX} deliveries to redeliver here; `manage.py "
            "redeliver` (--supplier, --channel, --since, --until, --failed-only) takes any "
            "number. Nothing was changed.",
            messages.ERROR,
        )
        return
    count, refused = 0, []
    for delivery in chosen:
        try:
            delivery_redeliver(delivery=delivery)
        except ValidationError as exc:
            refused.append(f"{delivery.identity}: {' '.join(exc.message_dict['delivery'])}")
        else:
            count += 1
    modeladmin.message_user(request, f"Queued {count} deliveries again.", messages.SUCCESS)
    if refused:
        modeladmin.message_user(
            request, f"Left alone: {'; '.join(refused)}"[:2000], messages.WARNING
        )


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the delivery services write: shown, never edited (no save button) nor deleted: a
    deleted delivery is one nobody sends (the retailer's cancellation email, which nothing may
    suppress, among them), and its attempts are the record of what was sent."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(DateHierarchyBounded, _ReadOnlyAdmin):
    list_display = (
        "order_number",
        "supplier_name",
        "channel",
        "purpose",
        "state",
        "tries",
        "next_try",
        "created_at",
    )
    list_filter = ("status", "channel", "purpose", "supplier", "created_at")
    search_fields = ("identity", "recipient", "event__order__number", "supplier__slug")
    date_hierarchy = "created_at"
    list_select_related = ("supplier", "event__order")
    actions = [redeliver]
    inlines = [DeliveryAttemptInline, formats_admin.DeliveryFileInline]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_redeliver_permission(self, request):
        # Sending again mails the supplier or the retailer: not for staff who may only look.
        return request.user.has_perm("delivery.change_delivery")

    @admin.display(description="order", ordering="event__order__number")
    def order_number(self, obj):
        return obj.event.order.number if obj.event_id else "—"

    @admin.display(description="supplier", ordering="supplier__name")
    def supplier_name(self, obj):
        return obj.supplier.name if obj.supplier_id else "—"

    # State, tries and next try as the portal reads them (delivery_facts): one truth.
    @admin.display(description="state", ordering="status")
    def state(self, obj):
        return delivery_facts(obj).label

    @admin.display(description="tries", ordering="attempt_count")
    def tries(self, obj):
        return delivery_facts(obj).tries

    @admin.display(description="next try", ordering="next_attempt_at")
    def next_try(self, obj):
        return when_text(delivery_facts(obj).next_try_at) or "—"


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(_ReadOnlyAdmin):
    list_display = ("delivery", "started_at", "duration_ms", "success", "status_code", "error")
    list_filter = ("success", "delivery__channel", "started_at")
    search_fields = ("delivery__identity", "error")
    list_select_related = ("delivery",)
    readonly_fields = [f.name for f in DeliveryAttempt._meta.fields]
