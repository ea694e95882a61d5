"""The JSON file: the contract's order document, exactly as the API and webhooks carry it."""

from __future__ import annotations

import json

from orders.documents import order_document
from orders.models import Order

from .base import OrderFormat


class JsonFormat(OrderFormat):
    extension = "json"
    content_type = "application/json"

    def __init__(self, *, name: str = "json") -> None:
        self.name = name

    def render(self, order: Order) -> bytes:
        return json.dumps(order_document(order), ensure_ascii=False, indent=2).encode("utf-8")
