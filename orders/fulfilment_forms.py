"""Portal forms for line-level fulfilment: cancel some items, ship some items; and the
order's version they and the Acknowledge button carry.

They parse the quantities a person typed, one field per line of the order; which quantities
are allowed, and what a cancellation or shipment needs, is decided by the services
(`order_lines_cancel`, `order_shipment_create`), whose errors are shown on these fields.
"""

from __future__ import annotations

import re

from django import forms

from .models import CancellationReason, Order
from .services import LineQuantity, OrderChangedError

# A quantity field is named after its line's number (the "#" the order page shows).
QUANTITY_PREFIX = "qty-"
_QUANTITY_NAME = re.compile(rf"^{QUANTITY_PREFIX}(.*)$", re.DOTALL)
# How the services name a line of the `lines` they were given: "lines.0.quantity".
_SERVICE_LINE_KEY = re.compile(r"^lines\.(\d+)(?:\.|$)")


class OrderVersionForm(forms.Form):
    """A portal form on one order that carries the order's version when it was opened: a form
    opened before someone else's change is refused (by the form, or by the service it passes
    the version to as `expected_version`), and the page answers 409 (`stale`)."""

    # What every such form (edit, Cancel items, Ship, Acknowledge) says when its version is
    # missing or not one: the one place this text is written.
    version_lost = "The form lost track of the order's version; reload the order and try again."

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages=dict.fromkeys(("required", "invalid", "min_value"), version_lost),
    )

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.stale = False
        self.initial.setdefault("version", order.version)

    def add_stale_error(self, exc: OrderChangedError) -> None:
        """The order changed since the form was opened (its version): the form's error."""
        self.stale = True
        for message in exc.messages:
            self.add_error(None, message)

    def stale_again(self, *, order: Order, **kwargs) -> OrderVersionForm:
        """This stale form as its 409 page shows it again, made on `order` as it now is (read
        again after the refusal): what was typed, the version of the order now and, as its
        only error, that the order changed. Sent again from that page, it applies to the
        order the page shows; one changed since is refused again."""
        data = self.data.copy()
        data["version"] = str(order.version)
        form = type(self)(data, order=order, **kwargs)
        form.errors.clear()  # what the fields would say now waits for the next submit
        form.add_stale_error(OrderChangedError.for_order(order))
        return form


class OrderAcknowledgeForm(OrderVersionForm):
    """The order page's Acknowledge button: only the version, checked by `order_acknowledge`
    (which lets a stale button on an order already acknowledged through: it changes
    nothing)."""


class _LineQuantitiesForm(OrderVersionForm):
    """One whole-number field per line of the order, `qty-<line_no>`, between 0 and open."""

    # What the quantities are for, as the errors say it ("cancel", "ship").
    verb = ""

    def __init__(self, *args, order: Order, lines, **kwargs):
        super().__init__(*args, order=order, **kwargs)
        self.lines = list(lines)
        self.line_fields: list[tuple[object, forms.BoundField]] = []
        for line in self.lines:
            name = f"{QUANTITY_PREFIX}{line.line_no}"
            available = line.quantity_open
            self.fields[name] = forms.IntegerField(
                label=f"Line {line.line_no}: {line.sku}",
                min_value=0,
                max_value=available,
                required=False,
                initial=self.initial_quantity(line),
                widget=forms.NumberInput(attrs={"min": 0, "max": available, "step": 1}),
                error_messages={
                    "invalid": "Enter a whole number of units.",
                    "min_value": "Enter 0 or more units.",
                    "max_value": f"Only {available} unit{'s' if available != 1 else ''} "
                    f"of line {line.line_no} ({line.sku}) "
                    f"{'is' if available == 1 else 'are'} open.",
                },
            )
            self.line_fields.append((line, self[name]))

    def initial_quantity(self, line) -> int:
        return 0

    def clean(self):
        data = super().clean()
        if "version" in self.errors:
            return data
        if data.get("version") != self.order.version:
            # Its quantities were chosen against a state that is gone: say that, only that.
            self.errors.clear()
            self.add_stale_error(OrderChangedError.for_order(self.order))
            return data
        if not any(line.quantity_open for line in self.lines):
            # Nothing left to choose from: say why once, rather than once per line.
            self.errors.clear()
            self.add_error(
                None,
                f"Order {self.order.number} is {self.order.get_status_display().lower()}, "
                f"which is final: nothing is left to {self.verb}.",
            )
            return data
        numbers = {str(line.line_no) for line in self.lines}
        for key in self.data if self.is_bound else ():
            match = _QUANTITY_NAME.match(key)
            if match and match.group(1) not in numbers:
                shown = "".join(ch for ch in match.group(1)[:20] if ch.isprintable())
                self.add_error(None, f"Order {self.order.number} has no line “{shown}”.")
        if not self.errors and not self.chosen():
            self.add_error(None, f"Nothing chosen: give the number of units to {self.verb}.")
        return data

    def chosen(self) -> list[tuple[object, int]]:
        """(line, quantity) for every line given more than 0 units, in line order: the
        `lines` the service is called with, in this order."""
        return [
            (line, self.cleaned_data.get(f"{QUANTITY_PREFIX}{line.line_no}") or 0)
            for line in self.lines
            if self.cleaned_data.get(f"{QUANTITY_PREFIX}{line.line_no}")
        ]

    def line_quantities(self) -> list[LineQuantity]:
        return [LineQuantity(line=line.line_no, quantity=qty) for line, qty in self.chosen()]

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show a service's ValidationError on the matching fields (the rest on the form):
        `lines.<i>.…` is the field of the i-th line in `chosen()`."""
        chosen = self.chosen()
        for key, messages in errors.items():
            target = key if key in self.fields else None
            match = _SERVICE_LINE_KEY.match(key)
            if match and int(match.group(1)) < len(chosen):
                target = f"{QUANTITY_PREFIX}{chosen[int(match.group(1))][0].line_no}"
            for message in messages:
                self.add_error(target, message)


class OrderLinesCancelForm(_LineQuantitiesForm):
    """Cancel some units of some lines: quantities (default 0), reason, note."""

    verb = "cancel"

    reason = forms.ChoiceField(
        label="Cancellation reason",
        required=False,
        choices=[("", "Choose a reason…"), *CancellationReason.choices],
        help_text="Required. The retailer sees it.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required; it is emailed to the retailer and kept on the timeline.",
    )


class OrderShipForm(_LineQuantitiesForm):
    """Ship some units of some lines: quantities (default: all that is open), carrier, tracking."""

    verb = "ship"

    carrier = forms.CharField(label="Carrier", required=False, max_length=100)
    tracking_number = forms.CharField(label="Tracking number", required=False, max_length=100)

    def initial_quantity(self, line) -> int:
        return line.quantity_open
