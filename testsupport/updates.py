"""An update-file workload for the 10,000-row test: orders of eight
lines (two units each), and per order ten rows mixing an acknowledgement, a partial
cancellation of three lines, a five-line shipment and a second parcel."""

from __future__ import annotations

from collections.abc import Iterator

from .factories import make_products, place_order

ROWS_PER_ORDER = 10
HEADER = "order_number,action,line,quantity,reason,note,carrier,tracking_number"


def workload_orders(*, supplier, retailer, count: int) -> list:
    """`count` orders of the supplier, each of eight lines of two units (made by intake)."""
    skus = {f"{supplier.slug.upper()}-BULK-{n}": "4.00" for n in range(1, 9)}
    if not supplier.products.filter(sku__in=skus).exists():
        make_products(supplier=supplier, skus=skus)
    lines = [{"sku": sku, "quantity": 2} for sku in skus]
    return [place_order(retailer=retailer, lines=lines)[0] for _ in range(count)]


def workload_rows(numbers: list[str]) -> Iterator[str]:
    for index, number in enumerate(numbers):
        yield f"{number},acknowledge,,,,,,"
        for line in (1, 2, 3):
            yield f"{number},cancel,{line},1,out_of_stock,Short this week,,"
        for line in (4, 5, 6, 7, 8):
            yield f"{number},ship,{line},,,,UPS,1Z{index:08d}A"
        yield f"{number},ship,1,,,,DHL,D{index:08d}B"


def workload_file(numbers: list[str]) -> bytes:
    return ("\n".join([HEADER, *workload_rows(numbers)]) + "\n").encode()
