"""Shared by the monthly summary tests: a real SMTP server (aiosmtpd) and a month of orders."""

import logging
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from delivery.models import Delivery
from orders.services import order_set_status
from testsupport.factories import make_products, make_retailer, make_supplier, place_order
from testsupport.waiting import wait_until

NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture(name="smtp")
def smtp_fixture(email_via_smtp, tasks_inline):
    """The root conftest's real SMTP server; delivery tasks run inline (Celery eager)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return email_via_smtp


def _body(message, subtype: str) -> str:
    return message.body(subtype)


def summary_emails(smtp) -> list:
    """The summary emails received (order and cancellation emails also go through smtp)."""
    with smtp.lock:
        return [m for m in smtp.messages if m.message_id.startswith("<summary.")]


def _settled(smtp, count: int) -> list:
    """Wait for count summary emails and for every summary delivery to finish; no more came."""
    wait_until(
        lambda: len(summary_emails(smtp)) >= count,
        timeout=20,
        message=f"expected {count} summary emails, got {len(summary_emails(smtp))}",
    )
    wait_until(
        lambda: not Delivery.objects.filter(purpose="monthly_summary", status="pending").exists(),
        timeout=20,
        message="summary deliveries still pending",
    )
    messages = summary_emails(smtp)
    assert len(messages) == count, [m.rcpt_tos for m in messages]
    return messages


@pytest.fixture(name="month_data")
def month_data_fixture(transactional_db, settings, smtp):
    """July 2026 in New York: two retailers with orders (two suppliers, GBP and EUR), one with
    none; retailer 'shopco' has an order on 31 July at 23:30 and a cancelled one."""
    settings.TIME_ZONE = "America/New_York"
    settings.SUMMARY_SEND_EMPTY = True
    acme = make_supplier(slug="acme", name="Acme Home Goods")
    make_products(supplier=acme, skus={"ACME-001": "9.50", "ACME-003": "24.00"})
    cogs = make_supplier(slug="cogs", name="Cogs GmbH")
    make_products(supplier=cogs, skus={"COGS-1": "12.00"}, currency="EUR")
    with time_machine.travel(ny(2026, 6, 1, 12), tick=True):
        shopco, _ = make_retailer(slug="shopco", rate="0.10", email="buyers@shopco.example")
        other, _ = make_retailer(slug="other", rate="0.20", email="money@other.example")
        quiet, _ = make_retailer(slug="quiet", email="hello@quiet.example")
    with time_machine.travel(ny(2026, 7, 31, 12), tick=True):
        (shipped,) = place_order(
            retailer=shopco,
            lines=[{"sku": "ACME-001", "quantity": 2}],
            reference="S-1",
            placed_at=ny(2026, 7, 3, 9).isoformat(),
        )
        order_set_status(order=shipped, status="processing", actor="ops")
        order_set_status(order=shipped, status="shipped", actor="ops", carrier="DPD")
        gbp, eur = place_order(
            retailer=shopco,
            lines=[{"sku": "ACME-003", "quantity": 1}, {"sku": "COGS-1", "quantity": 2}],
            reference="S-2",
            placed_at=ny(2026, 7, 12, 9).isoformat(),
        )
        order_set_status(
            order=gbp,
            status="cancelled",
            actor="ops",
            reason="out_of_stock",
            note="Back in stock in <September> & not before",
        )
        place_order(
            retailer=shopco,
            lines=[{"sku": "COGS-1", "quantity": 1}],
            reference="S-3",
            placed_at=ny(2026, 7, 31, 23, 30).isoformat(),
        )
        place_order(
            retailer=other,
            lines=[{"sku": "ACME-001", "quantity": 1}],
            reference="O-1",
            placed_at=ny(2026, 7, 5, 9).isoformat(),
        )
    return {"shopco": shopco, "other": other, "quiet": quiet, "cancelled": gbp}


def run(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("send_monthly_summaries", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()
