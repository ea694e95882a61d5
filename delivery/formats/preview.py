"""A format rendered for a sample order or a real one, as admin and the portal show it."""

from __future__ import annotations

from dataclasses import dataclass

from orders.documents import orders_with_document_relations
from orders.models import Order

from .catalogue import sample_order
from .custom import FormatError
from .lookup import format_for
from .registry import UnknownFormat


@dataclass
class Preview:
    format_name: str
    order_number: str
    file_name: str = ""
    text: str = ""
    size: int = 0
    error: str = ""


def preview_order(number: str, *, supplier=None) -> Order | None:
    """A real order by number (only the supplier's, when one is given), loaded for rendering.

    Typed in any case, as ORDER HISTORY's search takes it: numbers are stored upper-case
    ("po-10001" said "You have no order po-10001" of an order the supplier has)."""
    queryset = Order.objects.filter(number=number.strip().upper()[:20])
    if supplier is not None:
        queryset = queryset.filter(supplier=supplier)
    return orders_with_document_relations(queryset).first()


def format_preview(name: str, *, order: Order | None = None, destination=None) -> Preview:
    order = order or sample_order()
    preview = Preview(format_name=name, order_number=order.number)
    try:
        file_format = format_for(name, destination=destination)
        data = file_format.render(order)
        preview.file_name = file_format.file_name(order)
    except (FormatError, UnknownFormat) as exc:
        preview.error = str(exc)
        return preview
    encoding = getattr(file_format, "spec", {}).get("encoding", "utf-8")
    preview.size = len(data)
    preview.text = data.decode(encoding)
    return preview
