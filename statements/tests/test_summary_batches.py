"""A summary run goes in batches bounded by the month's orders (statements/batches.py): small
retailers share a batch up to the budget, one bigger than the budget goes alone, and every
retailer gets exactly one summary, once."""

import re
from datetime import date

import pytest
import time_machine

from delivery.models import Delivery
from delivery.services import destination_disable
from statements.models import MonthlySummary
from statements.services import summaries_send_for_month
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _settled,
    ny,
    run,
    smtp_fixture,
    summary_emails,
)
from testsupport.factories import make_products, make_retailer, make_supplier, place_order

BUDGET = 4
# Orders of July per retailer, in pk order: two over the budget, one with none.
SIZES = [1, 6, 2, 2, 0, 5, 1, 3, 1]


@pytest.fixture(name="shops")
def shops_fixture(transactional_db, settings, smtp):
    settings.TIME_ZONE = "America/New_York"
    settings.SUMMARY_SEND_EMPTY = True
    settings.SUMMARY_BATCH_ORDERS = BUDGET
    acme = make_supplier(slug="acme", name="Acme Home Goods")
    make_products(supplier=acme, skus={"ACME-001": "9.50"})
    destination_disable(supplier=acme, channel="email", reason="not in this test")
    with time_machine.travel(ny(2026, 6, 1, 12), tick=True):
        shops = [make_retailer(slug=f"shop{i}")[0] for i in range(len(SIZES))]
    with time_machine.travel(ny(2026, 7, 20, 12), tick=True):
        for shop, size in zip(shops, SIZES, strict=True):
            for n in range(size):
                place_order(retailer=shop, reference=f"{shop.slug}-{n}")
    return shops


def _batches(output: str) -> list[tuple[int, int]]:
    return [
        (int(retailers), int(orders))
        for retailers, orders in re.findall(r"batch of (\d+) retailers, (\d+) orders", output)
    ]


def test_batches_stay_within_the_order_budget_and_each_retailer_gets_one_summary(shops, smtp):
    output = run("--month", "2026-07")

    assert "queued 9 summaries" in output
    batches = _batches(output)
    assert batches == [(1, 1), (1, 6), (3, 4), (1, 5), (2, 4), (1, 1)]
    assert all(orders <= BUDGET or retailers == 1 for retailers, orders in batches)
    assert sum(retailers for retailers, _ in batches) == len(SIZES)
    messages = _settled(smtp, len(SIZES))
    assert sorted(m.rcpt_tos[0] for m in messages) == sorted(s.email for s in shops)
    counts = {
        summary.retailer.slug: summary.figures["counts"]["orders"]
        for summary in MonthlySummary.objects.select_related("retailer")
    }
    assert counts == {shop.slug: size for shop, size in zip(shops, SIZES, strict=True)}

    output = run("--month", "2026-07")
    assert "queued 0 summaries; 9 already made before" in output
    assert MonthlySummary.objects.count() == len(SIZES)
    assert Delivery.objects.filter(purpose="monthly_summary").count() == len(SIZES)
    assert len(summary_emails(smtp)) == len(SIZES)


def test_a_batch_holds_at_most_chunk_size_retailers_whatever_the_budget(shops, smtp):
    seen = []
    result = summaries_send_for_month(
        month=date(2026, 7, 1),
        dry_run=True,
        chunk_size=4,
        order_budget=1000,
        progress=lambda r: seen.append((r.batch_retailers, r.batch_orders)),
    )
    assert seen == [(4, 11), (4, 9), (1, 1)]
    assert result.would_create == len(SIZES)
    assert not MonthlySummary.objects.exists()
    assert summary_emails(smtp) == []
