import axes.admin  # noqa: F401 - registers axes' lists before they are bounded below
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from common.admin_dates import DateHierarchyBounded

from .models import ApiToken, Product, Supplier, SupplierMembership
from .services import api_token_revoke, emails_clean


class MembershipInline(admin.TabularInline):
    model = SupplierMembership
    raw_id_fields = ["user"]
    extra = 0


class SupplierAdminForm(forms.ModelForm):
    def clean_order_emails(self):
        # As `supplier_create` and `set_channel SLUG email` check them: orders and failure
        # notices go there.
        value = self.cleaned_data.get("order_emails") or ""
        try:
            return emails_clean(value=value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["order_emails"]) from None


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    form = SupplierAdminForm
    list_display = ["slug", "name", "order_emails", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "order_emails"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The slug names the supplier's hosted SFTP folder (delivery/hosted/storage.py): a
        # new slug would leave its files behind, for the next supplier of the old slug.
        return ["slug"] if obj is not None else []


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "supplier", "price", "currency", "is_active"]
    list_filter = ["is_active", "currency", "supplier"]
    search_fields = ["sku", "name"]
    list_select_related = ["supplier"]
    raw_id_fields = ["supplier"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be seen and revoked here; the secret itself is never stored.

    Whose a token is and what it may do are fixed when it is made (a token that should do more
    is a new token), and a revocation is final (`api_token_revoke`, by the action): a token
    given to another supplier would read that supplier's orders, and a leaked token revoked
    would work again once its date was cleared."""

    list_display = ["prefix", "name", "supplier", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["supplier"]
    readonly_fields = [
        "supplier",
        "scope",
        "prefix",
        "token_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["supplier"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected API tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)
            count += 1
        self.message_user(request, f"Revoked {count} API token(s).", messages.SUCCESS)


def _lockout_lists_date_bounded() -> None:
    """django-axes' lists of login attempts and lockouts (our login's lockouts) drill down by
    `attempt_time`; a year typed past 9999 or past a C long there was a 500, as it was on our
    own lists before `DateHierarchyBounded`. Each is registered again with it (when
    AXES_ENABLE_ADMIN registered it at all)."""
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        if not admin.site.is_registered(model):
            continue
        registered = type(admin.site.get_model_admin(model))
        admin.site.unregister(model)
        bounded = type(registered.__name__, (DateHierarchyBounded, registered), {})
        admin.site.register(model, bounded)


_lockout_lists_date_bounded()
