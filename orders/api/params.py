"""Query parameters of the supplier order list: parsed strictly, every error naming its parameter.

Unknown parameters are refused rather than ignored: a typo such as `created_afer` would
otherwise silently widen the window, and a poller would never notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from rest_framework.exceptions import ValidationError

from orders.inputs import EXAMPLE, time_parse
from orders.models import OrderStatus
from orders.selectors import OrderPosition

from .pagination import CursorError, cursor_decode

ALLOWED = (
    "created_after",
    "created_before",
    "updated_after",
    "status",
    "acknowledged",
    "limit",
    "cursor",
)


@dataclass
class OrderListParams:
    created_after: datetime | None
    created_before: datetime | None
    updated_after: datetime | None
    status: str | None
    acknowledged: bool | None
    limit: int
    after: OrderPosition | None
    settled_before: datetime | None


def _datetime(raw: str) -> datetime:
    """The one time rule of every input layer (orders/inputs.py); ValueError says why not."""
    return time_parse(raw)


def order_list_params(query) -> OrderListParams:
    """Parse a QueryDict; raise a 400 ValidationError naming every bad parameter."""
    errors: dict[str, list[str]] = {}
    # Given at all, even twice (then the repeat is the one error): a window is asked for.
    if "created_after" not in query and "updated_after" not in query:
        errors["created_after"] = [
            f"This parameter is required (unless updated_after is given), e.g. {EXAMPLE}."
        ]
    return _list_params(query, allowed=ALLOWED, errors=errors)


def _list_params(
    query, *, allowed: tuple[str, ...], errors: dict[str, list[str]]
) -> OrderListParams:
    """The rules both lists share, each error added to `errors` (the caller's own, such as
    a required parameter not given); raise a 400 ValidationError naming every one."""
    values: dict[str, str] = {}
    for name in query.keys():
        if name not in allowed:
            errors[name] = [f"Unknown parameter; the parameters are: {', '.join(allowed)}."]
            continue
        given = query.getlist(name)
        if len(given) > 1:
            errors[name] = ["Give this parameter once."]
            continue
        values[name] = given[0]

    dates: dict[str, datetime | None] = {}
    for name in ("created_after", "created_before", "updated_after"):
        dates[name] = None
        if name in values:
            try:
                dates[name] = _datetime(values[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    after, before = dates["created_after"], dates["created_before"]
    if after is not None and before is not None and before < after:
        errors["created_before"] = ["The window is reversed: give a time after created_after."]

    status = values.get("status")
    if status is not None and status not in OrderStatus.values:
        choices = ", ".join(OrderStatus.values)
        errors["status"] = [f"Unknown status '{status}'; use one of: {choices}."]

    acknowledged = None
    if "acknowledged" in values:
        acknowledged = {"true": True, "false": False}.get(values["acknowledged"])
        if acknowledged is None:
            errors["acknowledged"] = ["Give true or false."]

    limit = settings.SUPPLIER_API_DEFAULT_LIMIT
    maximum = settings.SUPPLIER_API_MAX_LIMIT
    if "limit" in values:
        raw = values["limit"].strip()
        if not re.fullmatch(r"[0-9]{1,9}", raw):
            errors["limit"] = [f"'{values['limit']}' is not a whole number from 1 to {maximum}."]
        elif not 1 <= int(raw) <= maximum:
            errors["limit"] = [f"{int(raw)} is out of range: give 1 to {maximum}."]
        else:
            limit = int(raw)

    position = settled_before = None
    if "cursor" in values:
        try:
            position, settled_before = cursor_decode(values["cursor"])
        except CursorError:
            errors["cursor"] = ["Invalid cursor: follow the `next` URL as given."]

    if errors:
        raise ValidationError(errors)
    return OrderListParams(
        created_after=after,
        created_before=before,
        updated_after=dates["updated_after"],
        status=status,
        acknowledged=acknowledged,
        limit=limit,
        after=position,
        settled_before=settled_before,
    )


# --- The retailer read API (issue 19) -------------------------------------------------------

RETAILER_ALLOWED = ("updated_after", "limit", "cursor")


@dataclass
class RetailerOrderListParams:
    updated_after: datetime
    limit: int
    after: OrderPosition | None
    settled_before: datetime | None


def retailer_order_list_params(query) -> RetailerOrderListParams:
    """The retailer list's parameters, checked as the supplier list's are: `updated_after`
    required, unknown or repeated parameters refused, each error naming its parameter."""
    errors: dict[str, list[str]] = {}
    if "updated_after" not in query:
        errors["updated_after"] = [f"This parameter is required, e.g. {EXAMPLE}."]
    # The shared rules for the rest (unknown names, repeats, times, limit, cursor), without
    # the supplier list's window rule: created_after is no parameter here.
    params = _list_params(query, allowed=RETAILER_ALLOWED, errors=errors)
    return RetailerOrderListParams(
        updated_after=params.updated_after,
        limit=params.limit,
        after=params.after,
        settled_before=params.settled_before,
    )
