"""A 10,000-row update file is applied, row by row, in bounded memory (issue 13).

Memory is the process's peak resident set while applying (Linux's VmHWM, reset first through
/proc/self/clear_refs), less what it held before: tracemalloc would measure it too, but
slows the ORM fourfold, too slow for 10,000 rows on a shared machine.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from pathlib import Path

from orders.models import Cancellation, Shipment
from orders.updates import update_file_receive_and_apply
from testsupport.updates import ROWS_PER_ORDER, workload_file, workload_orders

ORDERS = int(os.environ.get("UPDATE_FILE_TEST_ORDERS", "1000"))  # x 10 rows
# The file is ~0.7 MB, held as stored (and the result CSV as text), plus a few small values
# per row; orders are fetched and changed a batch at a time. Every order with its lines and
# records loaded at once would go past this.
PEAK_GROWTH_BYTES = 40 * 1024 * 1024


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} in /proc/self/status")


def peak_memory_growth(run):
    """(run's result, peak resident growth in bytes while it ran)."""
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _status_kib("VmRSS")
    result = run()
    return result, (_status_kib("VmHWM") - before) * 1024


def test_a_ten_thousand_row_file_is_applied_in_bounded_memory(acme, retailer):
    orders = workload_orders(supplier=acme, retailer=retailer, count=ORDERS)
    content = workload_file([order.number for order in orders])
    progress: list[tuple[int, int]] = []

    (update_file, result), growth = peak_memory_growth(
        lambda: update_file_receive_and_apply(
            supplier=acme,
            name="bulk.csv",
            content=content,
            source="portal",
            progress=lambda done, total: progress.append((done, total)),
        )
    )

    rows = list(csv.DictReader(io.StringIO(result)))
    assert len(rows) == ORDERS * ROWS_PER_ORDER
    assert Counter(r["result"] for r in rows) == {"applied": ORDERS * ROWS_PER_ORDER}, [
        r for r in rows if r["result"] != "applied"
    ][:3]
    assert update_file.applied_count == ORDERS * ROWS_PER_ORDER
    assert Cancellation.objects.filter(order__supplier=acme).count() == ORDERS
    assert Shipment.objects.filter(order__supplier=acme).count() == 2 * ORDERS
    last = orders[-1]
    last.refresh_from_db()
    assert [(li.quantity_cancelled, li.quantity_shipped) for li in last.lines.all()] == [
        (1, 1),
        (1, 0),
        (1, 0),
        *[(0, 2)] * 5,
    ]
    assert last.acknowledged_via == "file"
    assert progress[-1] == (ORDERS * ROWS_PER_ORDER, ORDERS * ROWS_PER_ORDER)
    assert len(progress) > 1  # reported as it goes, not only at the end
    assert growth < PEAK_GROWTH_BYTES, f"grew by {growth / 2**20:.1f} MiB"
