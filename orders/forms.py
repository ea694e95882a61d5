"""Portal forms: they parse input; the rules live in orders.services."""

from django import forms

from common.forms import ServiceErrorsMixin

from .fulfilment_forms import OrderVersionForm
from .inputs import InputError, date_in_range
from .models import CancellationReason, Order, OrderStatus
from .selectors import HistoryFilters

DATE_INPUT_FORMATS = ["%d %b %Y", "%d %B %Y", "%Y-%m-%d", "%d/%m/%Y"]


class OrderFilterForm(forms.Form):
    """ORDER HISTORY filters; every value lives in the URL's query string."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Order number, retailer reference, customer name or email, or SKU.",
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *OrderStatus.choices]
    )
    # Dates read as the portal shows them ("1 Dec 2026"); ISO (the links' form) and
    # day/month/year are accepted too. A text box, not <input type=date>, whose display
    # follows the browser's locale (12/01/2026 in an American one).
    placed_from = forms.DateField(
        label="Placed from", required=False, input_formats=DATE_INPUT_FORMATS
    )
    placed_to = forms.DateField(label="Placed to", required=False, input_formats=DATE_INPUT_FORMATS)
    # Only the orders past their acknowledgement deadline (the dashboard strip's link).
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def _date_in_range(self, name: str):
        value = self.cleaned_data.get(name)
        if value is not None:
            try:
                date_in_range(value)
            except InputError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean_placed_from(self):
        return self._date_in_range("placed_from")

    def clean_placed_to(self):
        return self._date_in_range("placed_to")

    def clean(self):
        data = super().clean()
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", "“Placed to” must be on or after “Placed from”.")
        return data

    def filters(self) -> HistoryFilters:
        """The filters that are valid; invalid fields are left out (and shown as errors)."""
        data = self.cleaned_data if self.is_bound else {}
        return HistoryFilters(
            status=data.get("status") or "",
            placed_from=data.get("placed_from"),
            placed_to=data.get("placed_to") if "placed_to" not in self.errors else None,
            q=(data.get("q") or "").strip(),
            overdue=bool(data.get("overdue")),
        )


class OrderEditForm(ServiceErrorsMixin, OrderVersionForm):
    """Update an order's status. Which changes are allowed, and what each needs, is checked by
    `order_set_status`; its errors are shown on these fields. The order's version, and what
    the form says without it, are OrderVersionForm's, as on Cancel items and Ship."""

    # Validated against every status, so a stale form reaches the service's version check;
    # the widget offers only the changes the map allows from the current status.
    status = forms.ChoiceField(label="New status", choices=OrderStatus.choices)
    reason = forms.ChoiceField(
        label="Cancellation reason",
        required=False,
        choices=[("", "Choose a reason…"), *CancellationReason.choices],
        help_text="Required to cancel. The retailer sees it.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required to cancel: it is emailed to the retailer. With any change it is "
        "kept on the timeline.",
    )
    carrier = forms.CharField(
        label="Carrier", required=False, max_length=100, help_text="For shipped orders."
    )
    tracking_number = forms.CharField(
        label="Tracking number", required=False, max_length=100, help_text="For shipped orders."
    )

    # A stale version is the form's error, not the hidden field's (which nobody would see).
    service_fields = {"version": None}

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        labels = dict(OrderStatus.choices)
        self.fields["status"].widget.choices = [("", "Choose a new status…")] + [
            (value, labels[value]) for value in order.allowed_next_statuses
        ]
