"""Monthly summary figures: orders of a month by status, cancellations, totals, commission."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from orders.models import Retailer
from orders.services import order_set_status
from statements.months import month_bounds, month_last_closed
from statements.selectors import retailer_month_figures, retailer_month_figures_many
from testsupport.factories import make_products, make_retailer, make_supplier, place_order

NY = ZoneInfo("America/New_York")
JULY = date(2026, 7, 1)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def cogs(db):
    supplier = make_supplier(slug="cogs", name="Cogs GmbH", emails="orders@cogs.example")
    make_products(supplier=supplier, skus={"COGS-1": "12.00", "COGS-2": "30.00"}, currency="EUR")
    return supplier


def place(retailer, when: datetime, lines, reference):
    return place_order(
        retailer=retailer, lines=lines, reference=reference, placed_at=when.isoformat()
    )


def cancel(order, reason="out_of_stock", note="No stock"):
    return order_set_status(order=order, status="cancelled", actor="ops", reason=reason, note=note)


@pytest.fixture
def july(new_york, acme, cogs, retailer):
    """Placed, processing, shipped and cancelled orders of two suppliers in GBP and EUR."""
    with time_machine.travel(ny(2026, 7, 31, 12, 0), tick=True):
        (r1,) = place(retailer, ny(2026, 7, 3, 10), [{"sku": "ACME-001", "quantity": 2}], "R-1")
        order_set_status(order=r1, status="processing", actor="ops")
        order_set_status(order=r1, status="shipped", actor="ops", carrier="DPD")
        r2_gbp, r2_eur = place(
            retailer,
            ny(2026, 7, 10, 9),
            [{"sku": "ACME-003", "quantity": 1}, {"sku": "COGS-1", "quantity": 1}],
            "R-2",
        )
        cancel(r2_gbp, note="No stock until September")
        order_set_status(order=r2_eur, status="processing", actor="ops")
        (r4,) = place(retailer, ny(2026, 7, 20, 15), [{"sku": "ACME-002", "quantity": 3}], "R-4")
        cancel(r4, reason="customer_request", note="Customer changed their mind")
        # The rate changes mid-month; orders keep the rate they were placed with.
        Retailer.objects.filter(pk=retailer.pk).update(commission_rate=Decimal("0.125"))
        retailer.refresh_from_db()
        place(retailer, ny(2026, 7, 25, 8), [{"sku": "ACME-002", "quantity": 1}], "R-5")
        other, _ = make_retailer(slug="other")
        place(other, ny(2026, 7, 15, 12), [{"sku": "ACME-001", "quantity": 5}], "O-1")
    # A month's orders are those that reached us in it (created_at), each arriving as placed.
    with time_machine.travel(ny(2026, 7, 31, 23, 30), tick=True):
        place(retailer, ny(2026, 7, 31, 23, 30), [{"sku": "COGS-2", "quantity": 3}], "R-3")
    # Outside July in New York time (inside it in UTC for the first one).
    with time_machine.travel(ny(2026, 8, 1, 0, 10), tick=True):
        place(retailer, ny(2026, 8, 1, 0, 10), [{"sku": "ACME-001", "quantity": 1}], "R-6")
    with time_machine.travel(ny(2026, 6, 30, 23, 30), tick=True):
        place(retailer, ny(2026, 6, 30, 23, 30), [{"sku": "ACME-001", "quantity": 1}], "R-7")
    return retailer


def test_month_bounds_are_local_midnight(new_york):
    start, end = month_bounds(JULY)
    assert start == datetime(2026, 7, 1, 4, 0, tzinfo=ZoneInfo("UTC"))
    assert end == datetime(2026, 8, 1, 4, 0, tzinfo=ZoneInfo("UTC"))
    start, end = month_bounds(date(2026, 12, 1))
    assert (start.utcoffset().total_seconds(), end.month, end.year) == (-5 * 3600, 1, 2027)


def test_last_closed_month_in_local_time(new_york):
    # 03:00 UTC on 1 August is still 31 July in New York: the last closed month is June.
    assert month_last_closed(now=datetime(2026, 8, 1, 3, 0, tzinfo=ZoneInfo("UTC"))) == date(
        2026, 6, 1
    )
    assert month_last_closed(now=ny(2026, 8, 1, 0, 0)) == JULY
    assert month_last_closed(now=ny(2026, 1, 15, 12)) == date(2025, 12, 1)


def test_exact_figures_of_a_month(july):
    figures = retailer_month_figures(retailer=july, month=JULY)

    assert figures["month"] == "2026-07"
    assert figures["time_zone"] == "America/New_York"
    # Orders that reached us in the month, and how many of them are in each status at its
    # close.
    assert figures["counts"] == {
        "orders": 6,
        "placed": 2,
        "processing": 1,
        "shipped": 1,
        "cancelled": 2,
    }
    assert [o["reference"] for o in figures["orders"]] == ["R-1", "R-2", "R-2", "R-4", "R-5", "R-3"]
    by_ref = {(o["reference"], o["currency"]): o for o in figures["orders"]}
    assert {k: by_ref[("R-1", "GBP")][k] for k in ("status", "total", "commission")} == {
        "status": "shipped",
        "total": "19.00",
        "commission": "1.90",
    }
    assert by_ref[("R-2", "GBP")]["status"] == "cancelled"
    assert by_ref[("R-2", "GBP")]["commission"] == "0.00"
    assert by_ref[("R-2", "EUR")]["commission"] == "1.20"
    assert by_ref[("R-5", "GBP")]["commission_rate"] == "0.1250"
    assert by_ref[("R-5", "GBP")]["commission"] == "0.91"  # 7.25 x 0.125 = 0.90625
    # The last day at 23:30 New York time (03:30 UTC on 1 August) is July's.
    assert by_ref[("R-3", "EUR")]["placed_at"] == "2026-07-31T23:30:00-04:00"
    assert by_ref[("R-3", "EUR")]["commission"] == "11.25"

    # Each cancelled in one go: its one cancellation, with the reason and note shown.
    assert [
        [(x["reason"], x["note"], x["cancelled_at"]) for x in c.pop("cancellations")]
        for c in figures["cancelled"]
    ] == [[(c["reason"], c["note"], c["cancelled_at"])] for c in figures["cancelled"]]
    assert figures["cancelled"] == [
        {
            "number": by_ref[("R-2", "GBP")]["number"],
            "reference": "R-2",
            "supplier": "acme",
            "supplier_name": "Acme Home Goods",
            "reason": "out_of_stock",
            "reason_label": "Out of stock",
            "note": "No stock until September",
            "cancelled_at": figures["cancelled"][0]["cancelled_at"],
            "currency": "GBP",
            "total": "24.00",
        },
        {
            "number": by_ref[("R-4", "GBP")]["number"],
            "reference": "R-4",
            "supplier": "acme",
            "supplier_name": "Acme Home Goods",
            "reason": "customer_request",
            "reason_label": "Customer request",
            "note": "Customer changed their mind",
            "cancelled_at": figures["cancelled"][1]["cancelled_at"],
            "currency": "GBP",
            "total": "21.75",
        },
    ]
    assert figures["adjustments"] == []
    assert figures["totals"] == [
        {
            "currency": "EUR",
            "orders": 2,
            "cancelled_orders": 0,
            "placed_total": "102.00",
            "cancelled_total": "0.00",
            "sales_total": "102.00",
            "commission": "12.45",
            "adjustments": "0.00",
            "commission_due": "12.45",
        },
        {
            "currency": "GBP",
            "orders": 4,
            "cancelled_orders": 2,
            "placed_total": "72.00",
            "cancelled_total": "45.75",
            "sales_total": "26.25",
            "commission": "2.81",
            "adjustments": "0.00",
            "commission_due": "2.81",
        },
    ]
    assert figures["empty"] is False


def test_neighbouring_months_get_the_edge_orders(july):
    june = retailer_month_figures(retailer=july, month=date(2026, 6, 1))
    august = retailer_month_figures(retailer=july, month=date(2026, 8, 1))
    assert [o["reference"] for o in june["orders"]] == ["R-7"]
    assert [o["reference"] for o in august["orders"]] == ["R-6"]


def test_a_month_without_orders_says_so(new_york, retailer):
    figures = retailer_month_figures(retailer=retailer, month=JULY)
    assert figures["empty"] is True
    assert figures["orders"] == figures["cancelled"] == figures["adjustments"] == []
    assert figures["totals"] == []
    assert figures["counts"]["orders"] == 0


def test_cancellation_after_the_close_is_next_months_adjustment(new_york, acme, cogs, retailer):
    with time_machine.travel(ny(2026, 7, 20, 12), tick=True):
        (late,) = place(retailer, ny(2026, 7, 20, 10), [{"sku": "ACME-003", "quantity": 2}], "L-1")
        (early,) = place(retailer, ny(2026, 7, 21, 10), [{"sku": "COGS-1", "quantity": 1}], "L-2")
        order_set_status(order=late, status="processing", actor="ops")
    # Cancelled at 02:00 on 1 August, New York time: after July closed, before the 06:00 run.
    with time_machine.travel(ny(2026, 8, 1, 2, 0), tick=True):
        cancel(late, reason="cannot_ship_on_time", note="Carrier strike")
    with time_machine.travel(ny(2026, 8, 3, 2, 0), tick=True):
        cancel(early, reason="discontinued", note="Line discontinued")

    july = retailer_month_figures(retailer=retailer, month=JULY)
    # July is as it stood at its close: both orders open, both earning commission.
    late_row = next(o for o in july["orders"] if o["reference"] == "L-1")
    assert late_row["status"] == "processing"
    assert late_row["commission"] == "4.80"
    assert late_row["later"] == {"status": "cancelled", "at": "2026-08-01T02:00:00-04:00"}
    assert july["cancelled"] == []
    assert july["counts"]["cancelled"] == 0 and july["counts"]["processing"] == 1
    assert [(t["currency"], t["commission_due"]) for t in july["totals"]] == [
        ("EUR", "1.20"),
        ("GBP", "4.80"),
    ]

    august = retailer_month_figures(retailer=retailer, month=date(2026, 8, 1))
    # August reverses July's commission; the orders are not August's orders.
    assert august["orders"] == [] and august["cancelled"] == []
    assert [
        (a["reference"], a["placed_month"], a["reason"], a["note"], a["commission"])
        for a in august["adjustments"]
    ] == [
        ("L-1", "2026-07", "cannot_ship_on_time", "Carrier strike", "-4.80"),
        ("L-2", "2026-07", "discontinued", "Line discontinued", "-1.20"),
    ]
    assert [
        (t["currency"], t["orders"], t["commission"], t["adjustments"], t["commission_due"])
        for t in august["totals"]
    ] == [("EUR", 0, "0.00", "-1.20", "-1.20"), ("GBP", 0, "0.00", "-4.80", "-4.80")]
    assert august["empty"] is False
    # Over both months the cancelled orders earn nothing, each counted once.
    september = retailer_month_figures(retailer=retailer, month=date(2026, 9, 1))
    assert september["empty"] is True


def test_cancellation_before_the_close_stays_in_its_month(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 31, 23, 0), tick=True):
        (order,) = place(retailer, ny(2026, 7, 31, 22), [{"sku": "ACME-001", "quantity": 1}], "C")
        cancel(order)
    july = retailer_month_figures(retailer=retailer, month=JULY)
    assert [c["reference"] for c in july["cancelled"]] == ["C"]
    assert july["totals"][0]["commission_due"] == "0.00"
    august = retailer_month_figures(retailer=retailer, month=date(2026, 8, 1))
    assert august["empty"] is True


def test_query_count_is_fixed_per_batch(
    new_york, acme, cogs, django_assert_num_queries, django_assert_max_num_queries
):
    retailers = [make_retailer(slug=f"shop{i}")[0] for i in range(6)]
    with time_machine.travel(ny(2026, 7, 31, 12), tick=True):
        for i, shop in enumerate(retailers):
            for j in range(i + 1):
                (order,) = place(
                    shop, ny(2026, 7, 2 + j, 10), [{"sku": "ACME-001", "quantity": 1}], f"Q{j}"
                )
                if j == 1:
                    cancel(order)
    with time_machine.travel(ny(2026, 7, 31, 20), tick=True):
        (order,) = place(
            retailers[0], ny(2026, 7, 30, 10), [{"sku": "COGS-1", "quantity": 1}], "Late"
        )
    with time_machine.travel(ny(2026, 8, 2, 13), tick=True):
        cancel(order)

    # placed (with supplier names), adjustments, cancellation lines, shipment lines, changes
    # after the close
    with django_assert_num_queries(5):
        one = retailer_month_figures(retailer=retailers[0], month=JULY)
    with django_assert_num_queries(5):
        many = retailer_month_figures_many(retailers=retailers, month=JULY)
    with django_assert_max_num_queries(5):
        retailer_month_figures_many(retailers=retailers, month=date(2026, 8, 1))
    assert many[retailers[0].pk] == one
    assert [many[shop.pk]["counts"]["orders"] for shop in retailers] == [2, 2, 3, 4, 5, 6]
    assert [many[shop.pk]["counts"]["cancelled"] for shop in retailers] == [0, 1, 1, 1, 1, 1]


def test_postgresql_rows_read_with_the_compiled_loader_equal_djangos(on_postgres, july):
    """The summary's rows, read with psycopg's compiled timestamptz loader, are Django's rows:
    same keys, values and instants (placed, cancelled, the annotation)."""
    from django.db.models import BooleanField, ExpressionWrapper, Q

    from orders.models import Order
    from statements.selectors import _SUMMARY_ORDER_FIELDS, _values_rows

    changed = ExpressionWrapper(Q(updated_at__gte=ny(2026, 7, 20)), output_field=BooleanField())
    queryset = (
        Order.objects.filter(retailer=july)
        .order_by("pk")
        .values(*_SUMMARY_ORDER_FIELDS, changed_after_close=changed)
    )
    django_rows = list(queryset)
    rows = _values_rows(queryset)
    assert len(rows) == 8 and any(row["cancelled_at"] for row in rows)
    assert rows == django_rows
    assert [list(row) for row in rows] == [list(row) for row in django_rows]
    # All updated on 31 July or 1 August but R-7, which arrived on 30 June.
    assert {r["retailer_reference"] for r in rows if not r["changed_after_close"]} == {"R-7"}


def test_adjustments_made_in_the_hour_the_clocks_go_back_are_in_the_order_they_were_made(
    new_york, cogs
):
    """New York's clocks go back at 02:00 EDT on 1 November 2026, to 01:00 EST: a cancellation
    at 01:30 EDT (05:30 UTC) came before one at 01:10 EST (06:10 UTC), but their times as text
    sort the other way, and the summary listed them so."""
    with time_machine.travel(ny(2026, 10, 20, 12), tick=True):
        retailer, _ = make_retailer(slug="fallco")
        (first,) = place(retailer, ny(2026, 10, 20, 9), [{"sku": "COGS-1", "quantity": 1}], "F-1")
        (second,) = place(retailer, ny(2026, 10, 20, 9), [{"sku": "COGS-1", "quantity": 1}], "F-2")
    utc = ZoneInfo("UTC")
    for order, moment in ((second, (5, 30)), (first, (6, 10))):
        with time_machine.travel(datetime(2026, 11, 1, *moment, tzinfo=utc), tick=False):
            order_set_status(
                order=order, status="cancelled", actor="ops", reason="out_of_stock", note="Gone"
            )
    figures = retailer_month_figures(retailer=retailer, month=date(2026, 11, 1))
    assert [(a["number"], a["cancelled_at"]) for a in figures["adjustments"]] == [
        (second.number, "2026-11-01T01:30:00-04:00"),
        (first.number, "2026-11-01T01:10:00-05:00"),
    ]
