"""The summary email of a fixed summary, byte for byte: its subject, plain-text part and HTML
part (and the attached order list of a big month) are the stored ones in golden/.

Every section of the email is in the fixed figures (orders with a later status, cancelled,
partly cancelled, shipments in parts, adjustments), with text that needs escaping, so a
change to how the email is rendered (speed work) cannot change what a retailer reads.
Regenerate on purpose only: GOLDEN_WRITE=1 pytest statements/tests/test_summary_email_golden.py
rewrites the files that differ and fails naming them; run it again without GOLDEN_WRITE to
pass. In CI (CI or REQUIRE_ALL_TESTS set) GOLDEN_WRITE fails at once and writes nothing.
"""

import copy
import email
import email.policy
import os
from datetime import date
from pathlib import Path

import pytest
from django.core.mail.message import MIMEMixin

from delivery.emails import email_render
from delivery.models import Channel, Delivery, DeliveryPurpose
from statements.emails import summary_email_parts
from statements.models import MonthlySummary, summary_source_key
from statements.order_list import summary_order_list_csv
from testsupport.executables import REQUIRE_ALL_TESTS
from testsupport.factories import make_retailer

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
NAME = "Shop <b>&\"' Co"


def _order(n, status="placed", later=None, currency="GBP", total="24.00", rate="0.1250"):
    return {
        "number": f"PO-{n}",
        "reference": f"R-{n} <&>",
        "supplier": "acme",
        "supplier_name": "Acme & Sons <Home>",
        "placed_at": f"2026-07-{n % 28 + 1:02d}T09:{n % 60:02d}:00-04:00",
        "units_shipped": 0,
        "status": status,
        "later": later,
        "currency": currency,
        "total": total,
        "cancelled_total": "0.00",
        "commission_rate": rate,
        "commission": "3.00",
    }


FIGURES = {
    "version": 3,
    "month": "2026-07",
    "time_zone": "America/New_York",
    "period": {"start": "2026-07-01T00:00:00-04:00", "end": "2026-08-01T00:00:00-04:00"},
    "retailer": {"id": 7, "slug": "odd", "name": NAME},
    "counts": {"orders": 4, "placed": 1, "processing": 1, "shipped": 1, "cancelled": 1},
    "orders": [
        _order(1),
        _order(2, "processing", later={"status": "cancelled", "at": "2026-08-02T10:00:00-04:00"}),
        _order(3, "shipped", currency="EUR", total="1234.50", rate="0.1000"),
        _order(4, "cancelled"),
    ],
    "cancelled": [
        {
            "number": "PO-4",
            "reference": "R-4 <&>",
            "supplier": "acme",
            "supplier_name": "Acme & Sons <Home>",
            "reason": "out_of_stock",
            "reason_label": "Out of stock",
            "note": "Back in <September> & not before",
            "cancelled_at": "2026-07-20T11:00:00-04:00",
            "currency": "GBP",
            "total": "24.00",
        }
    ],
    "partly_cancelled": [
        {
            "number": "PO-2",
            "reference": "R-2 <&>",
            "supplier": "acme",
            "supplier_name": "Acme & Sons <Home>",
            "reason": "customer_request",
            "reason_label": "Customer request",
            "note": 'One "less" & fine',
            "cancelled_at": "2026-07-21T11:00:00-04:00",
            "currency": "GBP",
            "lines": [
                {
                    "line": 1,
                    "sku": "A&B-1",
                    "name": "Mug <big>",
                    "quantity": 1,
                    "of": 2,
                    "unit_price": "1.00",
                },
                {
                    "line": 2,
                    "sku": "A-2",
                    "name": "Cup",
                    "quantity": 2,
                    "of": 3,
                    "unit_price": "2.50",
                },
            ],
            "cancelled_total": "6.00",
        }
    ],
    "adjustments": [
        {
            "number": "PO-0",
            "reference": "R-0",
            "supplier": "acme",
            "supplier_name": "Acme & Sons <Home>",
            "placed_at": "2026-06-30T22:00:00-04:00",
            "placed_month": "2026-06",
            "cancelled_at": "2026-07-02T08:00:00-04:00",
            "reason": "out_of_stock",
            "reason_label": "Out of stock",
            "note": "Late <one>",
            "whole": True,
            "lines": [
                {
                    "line": 1,
                    "sku": "A-1",
                    "name": "Mug",
                    "quantity": 1,
                    "of": 1,
                    "unit_price": "10.00",
                }
            ],
            "currency": "GBP",
            "total": "10.00",
            "cancelled_total": "10.00",
            "commission": "-1.25",
        }
    ],
    "shipments": [
        {
            "number": "PO-2",
            "reference": "R-2 <&>",
            "supplier": "acme",
            "supplier_name": "Acme & Sons <Home>",
            "units_shipped": 1,
            "units_to_ship": 2,
            "whole": False,
            "parcels": [
                {
                    "carrier": "DPD",
                    "tracking_number": "T<1>",
                    "shipped_at": "2026-07-22T10:00:00-04:00",
                    "units": 1,
                }
            ],
        },
        {
            "number": "PO-3",
            "reference": "R-3 <&>",
            "supplier": "acme",
            "supplier_name": "Acme & Sons <Home>",
            "units_shipped": 1,
            "units_to_ship": 1,
            "whole": True,
            "parcels": [
                {
                    "carrier": "UPS",
                    "tracking_number": "1Z",
                    "shipped_at": "2026-07-23T10:00:00-04:00",
                    "units": 1,
                }
            ],
        },
    ],
    "shipped_counts": {"whole": 1, "part": 1},
    "totals": [
        {
            "currency": "EUR",
            "orders": 1,
            "cancelled_orders": 0,
            "placed_total": "1234.50",
            "cancelled_total": "0.00",
            "sales_total": "1234.50",
            "commission": "123.45",
            "adjustments": "0.00",
            "commission_due": "123.45",
        },
        {
            "currency": "GBP",
            "orders": 3,
            "cancelled_orders": 1,
            "placed_total": "72.00",
            "cancelled_total": "30.00",
            "sales_total": "42.00",
            "commission": "5.25",
            "adjustments": "-1.25",
            "commission_due": "4.00",
        },
    ],
    "empty": False,
}


def _big() -> dict:
    """Over SUMMARY_EMAIL_ORDER_LIMIT orders: the order list is the attached CSV."""
    figures = copy.deepcopy(FIGURES)
    figures["orders"] = [_order(n) for n in range(1, 206)]
    figures["counts"] = {**figures["counts"], "orders": 205}
    return figures


def _empty() -> dict:
    figures = {key: FIGURES[key] for key in ("version", "month", "time_zone", "period")}
    return figures | {
        "retailer": FIGURES["retailer"],
        "counts": {"orders": 0, "placed": 0, "processing": 0, "shipped": 0, "cancelled": 0},
        "orders": [],
        "cancelled": [],
        "partly_cancelled": [],
        "adjustments": [],
        "shipments": [],
        "shipped_counts": {"whole": 0, "part": 0},
        "totals": [],
        "empty": True,
    }


def _golden(name: str) -> str:
    with open(GOLDEN / name, encoding="utf-8", newline="") as file:
        return file.read()


def _check(parts: dict[str, str]) -> None:
    """Each part is its stored file. GOLDEN_WRITE=1 (by hand; refused in CI) rewrites the
    files that differ and fails naming them, so a rewrite is read before it is kept."""
    if os.environ.get("GOLDEN_WRITE"):
        if os.environ.get("CI") or REQUIRE_ALL_TESTS:
            pytest.fail("GOLDEN_WRITE is set in CI: goldens are compared here, never rewritten")
        rewritten = []
        for name, text in parts.items():
            if not (GOLDEN / name).exists() or _golden(name) != text:
                with open(GOLDEN / name, "w", encoding="utf-8", newline="") as file:
                    file.write(text)
                rewritten.append(name)
        if rewritten:
            pytest.fail(
                f"GOLDEN_WRITE rewrote {', '.join(rewritten)} in {GOLDEN}: review the diff, "
                "then run again without GOLDEN_WRITE"
            )
    for name, text in parts.items():
        assert text == _golden(name), name


@pytest.fixture
def fixed(settings):
    settings.SITE_URL = "https://portal.example/"
    settings.PLATFORM_NAME = "Orders <portal>"
    settings.SUMMARY_EMAIL_ORDER_LIMIT = 200
    settings.DEFAULT_FROM_EMAIL = "orders@portal.example"


@pytest.mark.parametrize("case", ["month", "big", "empty"])
def test_the_parts_of_a_fixed_summary_are_the_stored_ones(fixed, case):
    figures = {"month": FIGURES, "big": _big(), "empty": _empty()}[case]

    subject, text, html = summary_email_parts(figures=figures, retailer_name=NAME)

    parts = {f"{case}.subject.txt": subject + "\n", f"{case}.txt": text, f"{case}.html": html}
    if case == "big":
        parts["big.csv"] = summary_order_list_csv(figures=figures)
    _check(parts)


@pytest.mark.parametrize("case", ["month", "big"])
def test_the_sent_message_carries_the_stored_parts(fixed, case):
    """What the retailer's mail client reads out of the message: the same text, HTML and
    attachment, whatever way the MIME is built."""
    figures = {"month": FIGURES, "big": _big()}[case]
    retailer, _key = make_retailer(slug="odd", email="buyers@odd.example")
    retailer.name = NAME
    retailer.save(update_fields=["name"])
    summary = MonthlySummary.objects.create(
        retailer=retailer, month=date(2026, 7, 1), figures=figures
    )
    delivery = Delivery.objects.create(
        source_key=summary_source_key(summary.pk),
        channel=Channel.EMAIL,
        purpose=DeliveryPurpose.MONTHLY_SUMMARY,
        target_key=f"retailer:{retailer.pk}",
        recipient=retailer.email,
        identity="<summary.odd.2026-07@portal.example>",
    )

    message = email_render(delivery).message()
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)

    assert parsed["To"] == "buyers@odd.example"
    assert parsed["Message-ID"] == "<summary.odd.2026-07@portal.example>"
    assert parsed["Subject"] + "\n" == _golden(f"{case}.subject.txt")
    assert parsed.get_body(("plain",)).get_content() == _golden(f"{case}.txt")
    assert parsed.get_body(("html",)).get_content() == _golden(f"{case}.html")
    attachments = list(parsed.iter_attachments())
    if case == "big":
        assert [a.get_filename() for a in attachments] == ["orders-odd-2026-07.csv"]
        # A text part's line ends travel as the mail's (CRLF), and are read back as "\n".
        assert attachments[0].get_content() == _golden("big.csv").replace("\r\n", "\n")
    else:
        assert attachments == []

    # And its bytes are the ones Django's own flattening writes (the summary's is its own).
    assert type(message).as_bytes is not MIMEMixin.as_bytes
    assert message.as_bytes(linesep="\r\n") == MIMEMixin.as_bytes(message, linesep="\r\n")
