"""What an update file's group of rows names, and the words of its answers: the actor
(`file:NAME row N`), the lines and quantities it asks for (read against the order's locked
lines), how they are described, and a refusal's message in the file's own terms (its
columns and rows, where the services name the API's fields)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from ..services import LineQuantity
from ..services.changes import OrderHold
from .parse import UpdateRow

ACTOR_MAX = 150


def actor_of(file_name: str, rows: list[int]) -> str:
    where = f" row {rows[0]}" if len(rows) == 1 else " rows " + ", ".join(map(str, rows))
    if len(where) > 60:
        where = f" rows {rows[0]}-{rows[-1]}"
    room = ACTOR_MAX - len("file:") - len(where)
    name = file_name if len(file_name) <= room else file_name[: room - 1] + "…"
    return f"file:{name}{where}"


def _column(name: str, rows: list[UpdateRow]) -> str:
    """The file's column a service's error key names ("" for none): `lines.N.quantity` is
    the `quantity` of the group's Nth row, whose number is given when the group has more
    than one (found in review: "Line 3 (ACME-003) has 2 of 2 open; you cannot ship 5."
    named neither the column nor, in a shipment of several rows, the row)."""
    if name in ("__all__", "lines"):
        return ""
    if not name.startswith("lines."):
        return name
    _, index, field = (name.split(".") + ["", ""])[:3]
    if field not in ("line", "quantity") or not index.isdigit() or int(index) >= len(rows):
        return ""
    return field if len(rows) == 1 else f"{field} (row {rows[int(index)].row})"


# The problems a refusal's message names; the rest are counted. Every row of the change is
# answered with the message: one naming all of them, for a shipment of 2,000 rows each
# naming a line the order lacks, was 100 kB stored 2,000 times (found in review).
REFUSAL_PROBLEMS_SHOWN = 10


def refusal_message(exc: ValidationError, rows: list[UpdateRow]) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for name, errors in exc.message_dict.items():
            prefix = _column(name, rows)
            parts += [f"{prefix}: {m}" if prefix else m for m in errors]
    else:
        parts = list(exc.messages)
    if len(parts) > REFUSAL_PROBLEMS_SHOWN:
        more = len(parts) - REFUSAL_PROBLEMS_SHOWN
        parts = [*parts[:REFUSAL_PROBLEMS_SHOWN], f"(and {more} more problems in this change.)"]
    return " ".join(parts)


# What the rows of a group make, as its messages name it.
_CHANGE = {
    "cancel": "cancellation (same order, reason and note)",
    "ship": "shipment (same order, carrier and tracking number)",
}


def lines_named(hold: OrderHold, rows: list[UpdateRow], verb: str) -> list[LineQuantity] | None:
    """The LineQuantity list the group names (None: every open unit), read from the locked
    lines the order's hold has."""
    order = hold.order
    if any(row.line is None for row in rows):
        if len(rows) > 1:
            raise ValidationError(
                {
                    "line": [
                        "A blank line means every open unit; give every row of this "
                        f"{verb} a line, or use one row."
                    ]
                }
            )
        return None
    first_row: dict[int, int] = {}
    for row in rows:
        # The services' "Line 1 is listed twice." names neither the field nor the rows.
        if row.line in first_row:
            raise ValidationError(
                {
                    "line": [
                        f"Line {row.line} is in rows {first_row[row.line]} and {row.row} of "
                        f"the same {_CHANGE[verb]}; give each line once, with its whole "
                        "quantity."
                    ]
                }
            )
        first_row[row.line] = row.row
    by_no = {line.line_no: line for line in hold.lines}
    lines = []
    for index, row in enumerate(rows):
        quantity = row.quantity
        if quantity is None:  # keyed as the services key a line's error (`_column`)
            line = by_no.get(row.line)
            if line is None:
                raise ValidationError(
                    {f"lines.{index}.line": [f"Order {order.number} has no line {row.line}."]}
                )
            quantity = line.quantity_open
            if quantity < 1:
                raise ValidationError(
                    {
                        f"lines.{index}.line": [
                            f"Line {row.line} of {order.number} has nothing open to {verb}."
                        ]
                    }
                )
        lines.append(LineQuantity(line=row.line, quantity=quantity))
    return lines


def lines_described(lines: list[LineQuantity] | None) -> str:
    if lines is None:
        return "every open unit"
    return ", ".join(f"line {item.line} x{item.quantity}" for item in lines)
