"""The interface every order file format implements."""

from __future__ import annotations

from orders.models import Order


class OrderFormat:
    """Renders one order as the bytes of one file.

    `name` is the key in `FORMATS` (and the value of `Destination.sftp_format`); the file is
    `<order number>.<extension>`. Orders come loaded with
    `orders.documents.orders_with_document_relations()` so rendering makes no queries.
    """

    name: str = ""
    label: str = ""  # as the portal shows it; the upper-cased name when empty
    extension: str = ""
    content_type: str = "application/octet-stream"

    def render(self, order: Order) -> bytes:
        raise NotImplementedError

    def file_name(self, order: Order) -> str:
        return f"{order.number}.{self.extension}"
