"""A month's summary bills the orders that reached us in that month (created_at, our clock),
never by the retailer's placed_at (which intake takes for any time from 1900 to 2999).

Billed by placed_at, an order that arrived after its placed_at month's summary was sent (a
backlog, a retry after an outage, 23:59 on the last day arriving after the run, back-dating
on purpose) was in no summary and never earned commission, and cancelling it later took back
money never charged. Here: such an order is in the next summary and earns once; cancelling
it takes back exactly that; and over all summaries every order earns exactly the commission
on what was not cancelled, whatever placed_at says (a property test).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.commission import commission_on
from orders.models import Order
from orders.services import LineQuantity, order_lines_cancel, order_set_status
from statements.emails import summary_email_parts
from statements.models import MonthlySummary
from statements.months import month_bounds
from statements.selectors import retailer_month_figures
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _body,
    _settled,
    month_data_fixture,
    ny,
    run,
    smtp_fixture,
)
from testsupport.factories import make_retailer, place_order

JULY, AUGUST, SEPTEMBER = date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)


@pytest.fixture
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def _charged(summaries: list[dict], number: str) -> list[Decimal]:
    """What each summary charged for one order: its row's commission plus its adjustments."""
    return [
        sum(
            (Decimal(o["commission"]) for o in figures["orders"] if o["number"] == number),
            Decimal("0"),
        )
        + sum(
            (Decimal(a["commission"]) for a in figures["adjustments"] if a["number"] == number),
            Decimal("0"),
        )
        for figures in summaries
    ]


def test_an_order_arriving_after_its_months_summary_is_billed_next_month_and_taken_back_once(
    month_data, smtp
):
    shopco = month_data["shopco"]
    with time_machine.travel(ny(2026, 8, 1, 6, 0), tick=True):
        run("--month", "2026-07")
    _settled(smtp, 3)
    july = MonthlySummary.objects.get(retailer=shopco, month=JULY).figures

    # After July's summary went out: an order placed at 23:59 on 31 July that reached us
    # after the run, and one a retailer dated in March.
    with time_machine.travel(ny(2026, 8, 1, 9, 0), tick=True):
        (late,) = place_order(
            retailer=shopco,
            lines=[{"sku": "ACME-003", "quantity": 2}],  # 48.00 at 10%: 4.80
            reference="LATE-1",
            placed_at=ny(2026, 7, 31, 23, 59).isoformat(),
        )
        (backdated,) = place_order(
            retailer=shopco,
            lines=[{"sku": "ACME-001", "quantity": 1}],  # 9.50 at 10%: 0.95
            reference="BACK-1",
            placed_at=ny(2026, 3, 2, 10).isoformat(),
        )
    assert late.number not in {o["number"] for o in july["orders"]}

    with time_machine.travel(ny(2026, 9, 1, 6, 0), tick=True):
        run("--month", "2026-08")
    messages = _settled(smtp, 6)
    august = MonthlySummary.objects.get(retailer=shopco, month=AUGUST).figures
    rows = {o["number"]: o for o in august["orders"]}
    assert set(rows) == {late.number, backdated.number}
    # Shown with the retailer's own dates, billed in the month they reached us.
    assert (rows[late.number]["placed_at"], rows[late.number]["commission"]) == (
        "2026-07-31T23:59:00-04:00",
        "4.80",
    )
    assert (rows[backdated.number]["placed_at"], rows[backdated.number]["commission"]) == (
        "2026-03-02T10:00:00-05:00",
        "0.95",
    )
    assert [(t["currency"], t["commission_due"]) for t in august["totals"]] == [("GBP", "5.75")]
    mail = next(
        m
        for m in messages[3:]
        if m.rcpt_tos == ["buyers@shopco.example"] and "August 2026" in m.subject
    )
    text = _body(mail, "plain")
    assert late.number in text and "2026-07-31 23:59" in text and backdated.number in text

    # Cancelled in September: takes back exactly the 4.80 August charged, never more.
    with time_machine.travel(ny(2026, 9, 10, 12), tick=True):
        order_set_status(
            order=late, status="cancelled", actor="ops", reason="out_of_stock", note="None left"
        )
    with time_machine.travel(ny(2026, 10, 1, 6, 0), tick=True):
        run("--month", "2026-09")
    _settled(smtp, 9)
    september = MonthlySummary.objects.get(retailer=shopco, month=SEPTEMBER).figures
    (adjustment,) = september["adjustments"]
    assert (adjustment["number"], adjustment["commission"], adjustment["whole"]) == (
        late.number,
        "-4.80",
        True,
    )
    assert (adjustment["placed_month"], adjustment["billed_month"]) == ("2026-07", "2026-08")
    assert september["orders"] == []
    assert [(t["currency"], t["commission_due"]) for t in september["totals"]] == [("GBP", "-4.80")]

    summaries = [
        s.figures for s in MonthlySummary.objects.filter(retailer=shopco).order_by("month")
    ]
    assert [s["month"] for s in summaries] == ["2026-07", "2026-08", "2026-09"]
    assert _charged(summaries, late.number) == [Decimal("0"), Decimal("4.80"), Decimal("-4.80")]
    assert _charged(summaries, backdated.number) == [Decimal("0"), Decimal("0.95"), Decimal("0")]
    late.refresh_from_db()
    assert late.commission_amount == sum(_charged(summaries, late.number)) == Decimal("0.00")


def test_a_placed_at_in_2999_or_1900_is_billed_in_the_month_it_arrived(new_york, acme, retailer):
    with time_machine.travel(ny(2026, 7, 10, 12), tick=True):
        (future,) = place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-003", "quantity": 1}],  # 24.00 at 10%: 2.40
            reference="F-2999",
            placed_at="2999-12-31T23:00:00+00:00",
        )
        (past,) = place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-002", "quantity": 2}],  # 14.50 at 10%: 1.45
            reference="P-1900",
            placed_at="1900-01-01T12:00:00+00:00",
        )
    with time_machine.travel(ny(2026, 8, 20, 12), tick=True):
        order_set_status(
            order=future, status="cancelled", actor="ops", reason="other", note="Not real"
        )

    july = retailer_month_figures(retailer=retailer, month=JULY)
    rows = {o["reference"]: o for o in july["orders"]}
    assert {ref: rows[ref]["commission"] for ref in rows} == {"F-2999": "2.40", "P-1900": "1.45"}
    assert rows["F-2999"]["placed_at"] == "2999-12-31T18:00:00-05:00"  # shown as the retailer said
    assert rows["F-2999"]["status"] == "placed"
    assert rows["F-2999"]["later"]["status"] == "cancelled"
    assert [o["reference"] for o in july["orders"]] == ["P-1900", "F-2999"]  # by placed_at
    assert july["totals"][0]["commission_due"] == "3.85"

    august = retailer_month_figures(retailer=retailer, month=AUGUST)
    (adjustment,) = august["adjustments"]
    assert (adjustment["reference"], adjustment["commission"]) == ("F-2999", "-2.40")
    assert (adjustment["placed_month"], adjustment["billed_month"]) == ("2999-12", "2026-07")
    # The months the retailer named hold nothing: placed_at bills no month.
    for month in (date(2999, 12, 1), date(1900, 1, 1), date(1899, 12, 1)):
        assert retailer_month_figures(retailer=retailer, month=month)["empty"] is True
    _, text, _ = summary_email_parts(figures=july, retailer_name="Shopco")
    assert future.number in text and past.number in text


def test_an_order_arriving_just_after_midnight_is_the_new_months(new_york, acme, retailer):
    """Placed 31 July 23:59, reached us 1 August 00:01, before the 06:00 run: August's, so
    July's summary (made at 06:00 from the orders of July) and August's never both bill it."""
    with time_machine.travel(ny(2026, 8, 1, 0, 1), tick=True):
        place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-001", "quantity": 1}],
            reference="EDGE",
            placed_at=ny(2026, 7, 31, 23, 59).isoformat(),
        )
    with time_machine.travel(ny(2026, 8, 1, 6, 0), tick=True):
        july = retailer_month_figures(retailer=retailer, month=JULY)
    assert july["empty"] is True
    august = retailer_month_figures(retailer=retailer, month=AUGUST)
    assert [(o["reference"], o["commission"]) for o in august["orders"]] == [("EDGE", "0.95")]


# --- Over all summaries, every order earns exactly once (a property test) ------------------

MONTHS = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
SLOTS = 3 * len(MONTHS)  # per month: 00:00:30 on the 1st (before the 06:00 run), the 15th, the end
PRICES = (Decimal("9.50"), Decimal("7.25"))  # ACME-001, ACME-002

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

an_order = st.fixed_dictionaries(
    {
        "arrival": st.integers(0, SLOTS - 4),
        # What the retailer says: as it arrived, a month before (after that month's summary),
        # a month after, or the ends of what intake takes.
        "placed": st.sampled_from(["arrival", "earlier", "later", "1900", "2999"]),
        "quantities": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        # (slots after the previous step, line or None for every open unit, units)
        "cancels": st.lists(
            st.tuples(st.integers(0, 3), st.sampled_from([None, 1, 2]), st.integers(1, 3)),
            max_size=3,
        ),
    }
)


def _slot_time(slot: int):
    start, end = month_bounds(MONTHS[slot // 3])
    return (
        start + timedelta(seconds=30),
        start + timedelta(days=14, hours=12),
        end - timedelta(minutes=10),
    )[slot % 3]


def _placed_at(kind: str, arrival) -> str:
    if kind in ("1900", "2999"):
        return {"1900": "1900-01-01T00:00:00+00:00", "2999": "2999-12-31T23:59:59+00:00"}[kind]
    shift = {"arrival": 0, "earlier": -35, "later": 40}[kind]
    return (arrival + timedelta(days=shift)).isoformat()


@PROPERTY
@given(orders=st.lists(an_order, min_size=1, max_size=3), rate=st.sampled_from(["0.10", "0.125"]))
def test_every_order_earns_exactly_once_over_all_summaries_whatever_its_placed_at(
    new_york, acme, orders, rate
):
    retailer, _ = make_retailer(rate=rate)
    # The timeline: each order arrives, then its cancellations, in time order across orders;
    # each month's figures are made at 06:00 on the next 1st, as the run makes them.
    events = []
    for index, spec in enumerate(orders):
        arrival = _slot_time(spec["arrival"]) + timedelta(seconds=10 * index)
        events.append((arrival, "place", index, spec))
        slot = spec["arrival"]
        for step, (after, line, units) in enumerate(spec["cancels"]):
            slot = min(slot + after, SLOTS - 1)
            when = _slot_time(slot) + timedelta(seconds=10 * index + step + 1)
            events.append((when, "cancel", index, (line, units)))
    for month in MONTHS:
        events.append((month_bounds(month)[1] + timedelta(hours=6), "summary", -1, month))
    events.sort(key=lambda event: (event[0], event[2]))

    placed: dict[int, Order] = {}
    open_units: dict[int, list[int]] = {}
    at_close: list[dict] = []
    for when, action, index, payload in events:
        with time_machine.travel(when, tick=False):
            if action == "place":
                q1, q2 = payload["quantities"]
                (placed[index],) = place_order(
                    retailer=retailer,
                    lines=[
                        {"sku": "ACME-001", "quantity": q1},
                        {"sku": "ACME-002", "quantity": q2},
                    ],
                    reference=f"P-{index}",
                    placed_at=_placed_at(payload["placed"], when),
                )
                open_units[index] = [q1, q2]
            elif action == "cancel":
                line, units = payload
                left = open_units[index]
                if not any(left) or (line is not None and not left[line - 1]):
                    continue  # nothing open there: the service would refuse it
                if line is None:
                    lines, left[:] = None, [0, 0]
                else:
                    units = min(units, left[line - 1])
                    left[line - 1] -= units
                    lines = [LineQuantity(line=line, quantity=units)]
                order_lines_cancel(
                    order=Order.objects.get(pk=placed[index].pk),
                    actor="ops",
                    reason="out_of_stock",
                    note="Gone",
                    lines=lines,
                )
            else:
                at_close.append(retailer_month_figures(retailer=retailer, month=payload))

    # Made again later, every figure is the same: fixed once the month has closed.
    later = [retailer_month_figures(retailer=retailer, month=month) for month in MONTHS]
    assert [f["totals"] for f in later] == [f["totals"] for f in at_close]

    for index, order in placed.items():
        order = Order.objects.get(pk=order.pk)
        arrived = MONTHS.index(
            next(m for m in MONTHS if month_bounds(m)[0] <= order.created_at < month_bounds(m)[1])
        )
        # In the orders of exactly one summary: the month it reached us.
        holding = [
            i for i, f in enumerate(at_close) if order.number in {o["number"] for o in f["orders"]}
        ]
        assert holding == [arrived], (order.placed_at, order.created_at)
        charged = _charged(at_close, order.number)
        # Adjustments only take back, only after the month that charged, and name that month.
        for i, figures in enumerate(at_close):
            for adjustment in figures["adjustments"]:
                if adjustment["number"] == order.number:
                    assert i > arrived and Decimal(adjustment["commission"]) <= 0
                    assert adjustment["billed_month"] == f"{MONTHS[arrived]:%Y-%m}"
        running = Decimal("0")
        for amount in charged:
            running += amount
            assert running >= 0, charged  # never takes back more than was charged
        kept = sum(p * left for p, left in zip(PRICES, open_units[index], strict=True))
        assert sum(charged) == order.commission_amount == commission_on(kept, Decimal(rate))
