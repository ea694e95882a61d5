"""`summaries_audit`: every order that reached us in a summarised month is billed by exactly
one summary; orders billed twice or never are listed, and the command fails, changing nothing.

The breaks are made as the switch from billing by `placed_at` to billing by `created_at` made
them: an order a summary of the old rule billed that the new rule bills again, and an order
that arrived in a month after its summary was built (the old rule's future `placed_at`).
"""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from delivery.models import Delivery
from orders.models import Order
from statements.models import MonthlySummary
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _settled,
    month_data_fixture,
    ny,
    run,
    smtp_fixture,
)
from testsupport.factories import place_order


def audit(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("summaries_audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _state():
    return (
        sorted(MonthlySummary.objects.values_list("retailer__slug", "month", "sent_at")),
        Delivery.objects.count(),
        sorted(Order.objects.values_list("number", "created_at", "status")),
    )


def test_summaries_that_bill_every_order_once_pass(month_data, smtp):
    run("--month", "2026-07")
    _settled(smtp, 3)
    out, err = audit()
    assert out.splitlines() == [
        "problem\tretailer\tnumber\tmonths\tcreated_at",
        "every order of the summarised months is billed exactly once.",
    ]
    assert "1 summarised months, 2026-07 to 2026-07" in err


def test_orders_billed_twice_or_never_are_listed_and_the_command_fails(month_data, smtp):
    shopco = month_data["shopco"]
    run("--month", "2026-07")
    _settled(smtp, 3)
    july_billed = MonthlySummary.objects.get(retailer=shopco, month=date(2026, 7, 1))
    twice = Order.objects.get(number=july_billed.figures["orders"][0]["number"])
    # Billed in July; now it reads as arriving in August, so August bills it again.
    Order.objects.filter(pk=twice.pk).update(created_at=ny(2026, 8, 1, 3))
    with time_machine.travel(ny(2026, 8, 20, 12), tick=True):
        place_order(retailer=shopco, lines=[{"sku": "ACME-001", "quantity": 1}], reference="A-1")
    with time_machine.travel(ny(2026, 9, 1, 6, 0), tick=True):
        run("--month", "2026-08")
    _settled(smtp, 6)
    # Arrived in August after August's summary was built: in no summary.
    with time_machine.travel(ny(2026, 9, 1, 7), tick=True):
        (never,) = place_order(
            retailer=shopco, lines=[{"sku": "ACME-003", "quantity": 1}], reference="A-2"
        )
    Order.objects.filter(pk=never.pk).update(created_at=ny(2026, 8, 31, 23, 59))
    before = _state()

    with pytest.raises(CommandError, match="1 orders billed twice and 1 never billed"):
        audit()

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("summaries_audit", stdout=out, stderr=StringIO())
    lines = out.getvalue().splitlines()
    assert lines[0] == "problem\tretailer\tnumber\tmonths\tcreated_at"
    assert lines[1:] == [
        f"billed twice\tshopco\t{twice.number}\t2026-07,2026-08\t",
        f"never billed\tshopco\t{never.number}\t2026-08\t2026-09-01T03:59:00Z",
    ]
    assert _state() == before  # the audit changes nothing

    # Another retailer's bills are not in doubt.
    out, _ = audit("--retailer", "other")
    assert out.splitlines()[-1] == "every order of the summarised months is billed exactly once."


def test_an_unknown_retailer_is_named_and_nothing_is_read(month_data):
    with pytest.raises(CommandError, match="--retailer: no retailer 'nosuch'"):
        audit("--retailer", "nosuch")
