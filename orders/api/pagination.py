"""The supplier API's opaque cursor: a position in (created_at, id) order plus the walk's horizon.

base64url of a small JSON object. It is not secret: a tampered cursor only moves the reader
within its own orders, and its horizon is never trusted beyond now (the selectors'
`supplier_api_walk_horizon`).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from datetime import timezone as dt_timezone

from orders.inputs import InputError, time_parse
from orders.selectors import OrderPosition

_MAX_CURSOR_CHARS = 200


class CursorError(ValueError):
    pass


def _iso(value: datetime) -> str:
    return value.astimezone(dt_timezone.utc).isoformat(timespec="microseconds")


def _aware(value) -> datetime:
    """A time of ours: aware, within the input range (orders/inputs.py), in UTC."""
    if not isinstance(value, str):
        raise CursorError("bad time")
    try:
        return time_parse(value)
    except InputError as exc:
        raise CursorError(str(exc)) from None


def cursor_encode(*, position: OrderPosition, settled_before: datetime) -> str:
    raw = json.dumps(
        {"v": 1, "t": _iso(position.created_at), "i": position.id, "h": _iso(settled_before)},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode("ascii")).rstrip(b"=").decode("ascii")


def cursor_decode(value: str) -> tuple[OrderPosition, datetime]:
    """Return (position, settled_before); raise CursorError for anything not made by us."""
    if not value or len(value) > _MAX_CURSOR_CHARS:
        raise CursorError("bad length")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = json.loads(raw.decode("ascii"))
        if not isinstance(data, dict) or data.get("v") != 1:
            raise CursorError("bad shape")
        ident = data.get("i")
        if not isinstance(ident, int) or isinstance(ident, bool) or not 0 < ident < 2**63:
            raise CursorError("bad id")
        position = OrderPosition(created_at=_aware(data.get("t")), id=ident)
        return position, _aware(data.get("h"))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        if isinstance(exc, CursorError):
            raise
        raise CursorError(str(exc))
