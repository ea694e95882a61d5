"""The field catalogue: every field a custom format may use, read off the order document.

The catalogue is built from `orders.documents.order_document` of a sample order (one that is
cancelled and shipped, so no part of the document is null), so a field added to the document
appears here, in the admin's checks and in docs/formats.md (`manage.py format_catalogue`)
without a hand-kept list. Keys: a top-level value by its name (`number`, `placed_at`), a nested
one by `part.name` (`customer.email`, `shipping_address.postcode`, `retailer.reference`), a
line's by `line.name` (`line.sku`). Lists other than `lines` (none today) are left out: a
delimited cell holds one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from orders.documents import order_document
from orders.models import Order, OrderLine, OrderStatus, Retailer
from suppliers.models import Supplier

_DECIMAL = re.compile(r"^-?\d+\.\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


@dataclass(frozen=True)
class Field:
    key: str
    kind: str  # text, integer, decimal, datetime
    per_line: bool
    example: str

    @property
    def element(self) -> str:
        """The default XML element / JSON key name."""
        return self.key.removeprefix("line.").replace(".", "_")


def sample_order() -> Order:
    """An order that is never saved, with every part of the document filled in (previews and
    the catalogue). Its lines are set as if prefetched, so rendering it makes no query."""
    when = datetime.fromisoformat("2026-11-27T10:00:00+00:00")
    order = Order(
        pk=-1,
        number="SAMPLE-0001",
        retailer_reference="R-0001",
        status=OrderStatus.CANCELLED,
        customer_name="Zoë Brontë",
        customer_email="zoe@example.com",
        customer_phone="+44 20 7946 0000",
        ship_name="Zoë Brontë",
        ship_line1="1 High St",
        ship_line2="Flat 2",
        ship_city="Leeds",
        ship_region="West Yorkshire",
        ship_postcode="01234",
        ship_country="GB",
        currency="GBP",
        total=Decimal("43.00"),
        placed_at=when,
        acknowledged_at=when,
        acknowledge_by=when + timedelta(hours=24),
        created_at=when,
        updated_at=when,
        cancellation_reason="out_of_stock",
        cancellation_note="sample",
        cancelled_at=when,
        shipment_carrier="DPD",
        shipment_tracking_number="TRACK-1",
        shipped_at=when,
    )
    order.supplier = Supplier(slug="sample-supplier", name="Sample Supplier")
    order.retailer = Retailer(slug="sample-retailer", name="Sample Retailer")
    lines = [
        OrderLine(
            line_no=1,
            sku="SKU-001",
            name="Mug, blue",
            quantity=2,
            unit_price=Decimal("9.50"),
            line_total=Decimal("19.00"),
        ),
        OrderLine(
            line_no=2,
            sku="SKU-003",
            name="Lamp",
            quantity=1,
            unit_price=Decimal("24.00"),
            line_total=Decimal("24.00"),
        ),
    ]
    # Every relation the document may read, as loaded (none of them queries the database).
    order._prefetched_objects_cache = {
        "lines": _Prefetched(lines),
        "cancellations": _Prefetched([]),
        "shipments": _Prefetched([]),
    }
    return order


class _Prefetched(list):
    """What `order.lines.all()` returns for the sample: its lines, no query."""

    def all(self):
        return self

    def __iter__(self):
        return super().__iter__()


def _kind(value) -> str:
    if isinstance(value, bool) or value is None:
        return "text"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str) and _DECIMAL.match(value):
        return "decimal"
    if isinstance(value, str) and _DATETIME.match(value):
        return "datetime"
    return "text"


def _fields_of(document: dict) -> list[Field]:
    fields: list[Field] = []
    for key, value in document.items():
        if key == "lines":
            for line_key, line_value in (value[0] if value else {}).items():
                fields.append(Field(f"line.{line_key}", _kind(line_value), True, str(line_value)))
        elif isinstance(value, dict):
            for sub, sub_value in value.items():
                if not isinstance(sub_value, (dict, list)):
                    fields.append(Field(f"{key}.{sub}", _kind(sub_value), False, str(sub_value)))
        elif not isinstance(value, list):
            fields.append(Field(key, _kind(value), False, "" if value is None else str(value)))
    return fields


@cache
def catalogue() -> dict[str, Field]:
    """Every field, by key, in the document's order."""
    return {field.key: field for field in _fields_of(order_document(sample_order()))}


def value_getter(key: str):
    """A function (document, line) -> the field's value (None when that part is null)."""
    if key.startswith("line."):
        name = key[5:]
        return lambda doc, line: line.get(name)  # line cells are only asked with a line
    part, _, name = key.partition(".")
    if not name:
        return lambda doc, line: doc.get(part)

    def get(doc, line):
        section = doc.get(part)
        return None if section is None else section.get(name)

    return get


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (docs/formats.md)."""
    rows = ["| field | kind | per line | example |", "| --- | --- | --- | --- |"]
    for field in catalogue().values():
        rows.append(
            f"| `{field.key}` | {field.kind} | {'yes' if field.per_line else ''} | "
            f"{field.example.replace('|', '/')} |"
        )
    return "\n".join(rows)
