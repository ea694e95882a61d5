"""The order page's timeline in words: which units a cancellation or a shipment took.

An event's data names lines by number (`{"line": 1, "quantity": 2}`); the page shows SKUs,
read from the order's lines already on the page, so a long timeline costs no query.
"""

from django import template

from ..models import CancellationReason

register = template.Library()

_REASONS = dict(CancellationReason.choices)


def _units(parts, lines) -> str:
    sku = {line.line_no: line.sku for line in lines}
    words = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        number, quantity = part.get("line"), part.get("quantity")
        words.append(f"{quantity} × {sku.get(number, f'line {number}')}")
    return ", ".join(words)


@register.simple_tag
def event_words(event, lines) -> str:
    """e.g. "1 × ACME-001 cancelled (Out of stock)", "2 × ACME-001 shipped by DPD, tracking TRK1";
    "" for an event that names no lines (the template shows its usual facts instead)."""
    parts = (event.data or {}).get("lines")
    if not isinstance(parts, list) or not parts:
        return ""
    units = _units(parts, lines)
    data = event.data
    if event.type in ("order.lines_cancelled", "order.cancelled"):
        reason = data.get("reason")
        return f"{units} cancelled" + (f" ({_REASONS.get(reason, reason)})" if reason else "")
    if event.type == "order.shipment_created":
        carrier, tracking = data.get("carrier"), data.get("tracking_number")
        return (
            f"{units} shipped"
            + (f" by {carrier}" if carrier else "")
            + (f", tracking {tracking}" if tracking else "")
        )
    return units
