"""Admin for monthly summaries: figures read-only, and a deliberate "resend"."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import Http404, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from common.admin_dates import DateBoundedChangeList, DateHierarchyBounded
from common.admin_display import readable, when
from delivery.models import Delivery

from .models import SOURCE_PREFIX, MonthlySummary
from .order_list import summary_order_list_filename, summary_order_list_lines
from .services import summary_resend

# A summary's page shows this many records of each list of its figures (a big retailer's month
# is thousands of orders: the page was every one as HTML); the order list CSV has them all.
FIGURES_ROWS_SHOWN = 100
# The most summaries one "Resend" resends (more is refused whole, nothing sent).
RESEND_ADMIN_MAX = 100


class _SummaryChangeList(DateBoundedChangeList):
    """The list reads the counts and totals it shows out of each summary's figures, in the
    query, not the figures themselves: they hold every order of the month, and a page of
    100 summaries loaded them all."""

    def get_queryset(self, request, exclude_parameters=None):
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .defer("figures")
            .annotate(
                listed_counts=KeyTransform("counts", "figures"),
                listed_totals=KeyTransform("totals", "figures"),
            )
        )


def _figures_part(obj, key: str, listed: str, default):
    if hasattr(obj, listed):
        value = getattr(obj, listed)
        return default if value is None else value
    return obj.figures.get(key, default)


@admin.register(MonthlySummary)
class MonthlySummaryAdmin(DateHierarchyBounded, admin.ModelAdmin):
    list_display = [
        "retailer",
        "month_label",
        "orders",
        "cancelled",
        "commission_due",
        "sent_at",
        "delivery_count",
        "created_at",
    ]
    list_filter = ["month"]
    search_fields = ["retailer__slug", "retailer__name"]
    list_select_related = ["retailer"]
    date_hierarchy = "month"
    show_full_result_count = False
    actions = ["resend_summaries"]
    fields = [
        "retailer",
        "month",
        "created_at",
        "sent_at",
        "totals_table",
        "order_list",
        "deliveries_table",
        "figures_readable",
    ]
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return _SummaryChangeList

    def get_queryset(self, request):
        # A summary's deliveries name it by source key: count them by that key (the index of
        # the unique (source_key, target_key) constraint).
        key = Concat(Value(SOURCE_PREFIX), Cast(OuterRef("pk"), output_field=CharField()))
        total = (
            Delivery.objects.filter(source_key=key)
            .order_by()
            .values("source_key")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(delivery_total=Coalesce(Subquery(total, output_field=IntegerField()), 0))
        )

    def has_add_permission(self, request):
        return False  # Summaries are built by `send_monthly_summaries`, once per month.

    def has_change_permission(self, request, obj=None):
        return False  # built once and final; its page is for reading (no save button)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("statements.change_monthlysummary")

    @admin.display(description="month", ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%Y-%m}"

    @admin.display(description="orders")
    def orders(self, obj):
        return _figures_part(obj, "counts", "listed_counts", {}).get("orders", 0)

    @admin.display(description="cancelled")
    def cancelled(self, obj):
        return _figures_part(obj, "counts", "listed_counts", {}).get("cancelled", 0)

    @admin.display(description="commission due")
    def commission_due(self, obj):
        return ", ".join(
            f"{t['commission_due']} {t['currency']}"
            for t in _figures_part(obj, "totals", "listed_totals", [])
        )

    @admin.display(description="deliveries", ordering="delivery_total")
    def delivery_count(self, obj):
        return getattr(obj, "delivery_total", None)

    @admin.display(description="totals")
    def totals_table(self, obj):
        columns = ["currency", "orders", "placed_total", "cancelled_total", "sales_total"]
        columns += ["commission", "adjustments", "commission_due"]
        head = format_html_join("", "<th>{}</th>", ((c.replace("_", " "),) for c in columns))
        rows = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (format_html_join("", "<td>{}</td>", ((t.get(c, ""),) for c in columns)),)
                for t in obj.figures.get("totals", [])
            ),
        )
        return format_html("<table><tr>{}</tr>{}</table>", head, rows)

    @admin.display(description="order list")
    def order_list(self, obj):
        if obj is None or obj.pk is None:
            return ""
        url = reverse("admin:statements_monthlysummary_orders_csv", args=[obj.pk])
        count = obj.figures.get("counts", {}).get("orders", 0)
        return format_html(
            '<a href="{}">Download the {} order(s) as CSV</a> (the file a big month\'s email '
            "carries)",
            url,
            count,
        )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/orders.csv",
                self.admin_site.admin_view(self.order_list_csv_view),
                name="statements_monthlysummary_orders_csv",
            ),
            *super().get_urls(),
        ]

    def order_list_csv_view(self, request, object_id):
        """The summary's order list, streamed row by row (staff with view permission)."""
        summary = self.get_object(request, str(object_id))
        if summary is None:
            raise Http404("No such monthly summary.")
        if not self.has_view_permission(request, summary):
            raise PermissionDenied
        figures = summary.figures
        response = StreamingHttpResponse(
            summary_order_list_lines(figures=figures), content_type="text/csv; charset=utf-8"
        )
        filename = summary_order_list_filename(figures=figures)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @admin.display(description="deliveries")
    def deliveries_table(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.target_key,
                    d.recipient,
                    d.get_status_display(),
                    when(d.delivered_at),
                    d.last_error,
                )
                for d in obj.deliveries.order_by("created_at", "id")
            ),
        )
        return format_html(
            "<table><tr><th>target</th><th>to</th><th>status</th><th>delivered</th>"
            "<th>last error</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="figures")
    def figures_readable(self, obj):
        """Every stored figure, labelled: lists of orders, cancellations and adjustments as
        tables."""
        return readable(
            obj.figures,
            max_rows=FIGURES_ROWS_SHOWN,
            more="the order list above has every order",
        )

    @admin.action(description="Resend the summary email", permissions=["resend"])
    def resend_summaries(self, request, queryset):
        # Each resend emails a retailer again, one transaction each, in the web request: "select
        # all" over the list mailed every retailer of every month, and a big list held the web
        # worker past its timeout and stopped part way, unreported (as redelivery was).
        chosen = list(queryset[: RESEND_ADMIN_MAX + 1])
        if len(chosen) > RESEND_ADMIN_MAX:
            self.message_user(
                request,
                f"Select at most {RESEND_ADMIN_MAX} summaries to resend at once. Nothing was sent.",
                messages.ERROR,
            )
            return
        count = 0
        for summary in chosen:
            summary_resend(summary=summary)
            count += 1
        self.message_user(
            request, f"Queued {count} summary email(s) again, as new deliveries.", messages.SUCCESS
        )
