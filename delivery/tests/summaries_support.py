"""Shared by the monthly summary tests: a real SMTP server (aiosmtpd) and a month of orders."""

import email
import email.policy
import logging
import threading
import time
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.management import call_command

from delivery.models import Delivery
from orders.services import order_set_status
from orders.tests.factories import make_retailer, place_order
from suppliers.tests.factories import make_products, make_supplier

NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


class _Controller(Controller):
    """aiosmtpd on a free port chosen by the OS."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Inbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        with self.lock:
            raise AssertionError(f"expected {count} emails, got {len(self.messages)}")


@pytest.fixture(name="smtp")
def smtp_fixture(settings):
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    inbox = _Inbox()
    controller = _Controller(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def _body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def _settled(inbox: _Inbox, count: int) -> list:
    """Wait for count emails, then make sure no more arrive while deliveries finish."""
    messages = inbox.wait_for(count)
    deadline = time.monotonic() + 20
    while Delivery.objects.filter(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Delivery.objects.filter(status="pending").exists()
    assert len(inbox.messages) == count
    return messages


@pytest.fixture(name="month_data")
def month_data_fixture(transactional_db, settings):
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
