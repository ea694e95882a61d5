"""A big retailer's month (issue 16, point 11): above SUMMARY_EMAIL_ORDER_LIMIT orders the email
keeps totals, every cancellation and every adjustment, and carries the whole order list as a
CSV attachment instead of the table; admin serves the same file. Received at a real SMTP
server (aiosmtpd)."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from delivery.services import destination_disable
from orders.services import LineQuantity, order_lines_cancel, order_shipment_create
from statements.models import MonthlySummary
from statements.order_list import ORDER_LIST_COLUMNS
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _body,
    _settled,
    ny,
    run,
    smtp_fixture,
)
from testsupport.factories import make_products, make_retailer, make_supplier, place_order

ORDERS = 1000


def _attachments(message) -> list:
    return list(message.message.iter_attachments())


@pytest.fixture(name="big_month")
def big_month_fixture(transactional_db, settings, smtp):
    """July 2026 in New York: 'bigshop' places 1,000 orders of two suppliers (GBP and EUR);
    three are cancelled whole, two in part, two shipped (one in part), and a June order is
    cancelled in July (an adjustment)."""
    settings.TIME_ZONE = "America/New_York"
    settings.SUMMARY_EMAIL_ORDER_LIMIT = 200
    acme = make_supplier(slug="acme", name="Acme Home Goods")
    make_products(supplier=acme, skus={"ACME-001": "9.50", "ACME-003": "24.00"})
    cogs = make_supplier(slug="cogs", name="Cogs GmbH")
    make_products(supplier=cogs, skus={"COGS-1": "12.35"}, currency="EUR")
    # The suppliers' order emails wait (a thousand of them would only slow the test down).
    for supplier in (acme, cogs):
        destination_disable(supplier=supplier, channel="email", reason="not in this test")
    with time_machine.travel(ny(2026, 6, 1, 12), tick=True):
        shop, _ = make_retailer(slug="bigshop", rate="0.125", email="accounts@bigshop.example")
    with time_machine.travel(ny(2026, 6, 20, 12), tick=True):
        (june,) = place_order(
            retailer=shop,
            lines=[{"sku": "ACME-003", "quantity": 1}],
            reference="JUNE-1",
            placed_at=ny(2026, 6, 20, 9).isoformat(),
        )
    orders = []
    with time_machine.travel(ny(2026, 7, 31, 12), tick=True):
        for i in range(ORDERS):
            lines = (
                [{"sku": "ACME-001", "quantity": 1 + i % 4}, {"sku": "ACME-003", "quantity": 1}],
                [{"sku": "ACME-003", "quantity": 1 + i % 2}, {"sku": "ACME-001", "quantity": 2}],
                [{"sku": "COGS-1", "quantity": 1 + i % 5}],
            )[i % 3]
            (order,) = place_order(
                retailer=shop,
                lines=lines,
                reference=f"B-{i}",
                placed_at=ny(2026, 7, 1 + i % 30, 8 + i % 12, i % 60).isoformat(),
            )
            orders.append(order)
        for order in orders[10:13]:
            order_lines_cancel(order=order, actor="ops", reason="out_of_stock", note="Sold out")
        for order in orders[21:23]:
            order_lines_cancel(
                order=order,
                actor="ops",
                reason="out_of_stock",
                note="One short",
                lines=[LineQuantity(line=2, quantity=1)],
            )
        order_shipment_create(order=orders[30], actor="ops", carrier="DPD", tracking_number="T1")
        order_shipment_create(
            order=orders[33],
            actor="ops",
            carrier="DPD",
            tracking_number="T2",
            lines=[LineQuantity(line=1, quantity=1)],
        )
        order_lines_cancel(
            order=june, actor="ops", reason="customer_request", note="Changed their mind"
        )
    return {"shop": shop, "orders": orders, "june": june}


def test_a_big_month_attaches_every_order_as_csv_and_keeps_the_email_small(big_month, smtp, client):
    """One test, so the thousand orders are placed once: the email, then admin's download."""
    assert "queued 1 summaries" in run("--month", "2026-07")
    (message,) = _settled(smtp, 1)
    figures = MonthlySummary.objects.get(retailer=big_month["shop"]).figures
    assert figures["counts"]["orders"] == ORDERS

    html, text = _body(message, "html"), _body(message, "plain")
    assert len(html.encode()) < 100_000, len(html.encode())
    assert len(text.encode()) < 100_000, len(text.encode())
    # Totals, every cancellation (whole and partial) and the adjustment stay in the email.
    for total in figures["totals"]:
        assert total["commission_due"] in html and total["commission_due"] in text
    for order in big_month["orders"][10:13] + big_month["orders"][21:23]:
        assert order.number in html and order.number in text
    assert big_month["june"].number in html and big_month["june"].number in text
    assert "Changed their mind" in html
    # ... but not the order table: an order that is neither cancelled nor adjusted is absent.
    assert big_month["orders"][500].number not in html
    assert big_month["orders"][500].number not in text
    assert "orders-bigshop-2026-07.csv" in html and "orders-bigshop-2026-07.csv" in text

    (attachment,) = _attachments(message)
    assert attachment.get_filename() == "orders-bigshop-2026-07.csv"
    assert attachment.get_content_type() == "text/csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert list(rows[0]) == ORDER_LIST_COLUMNS
    assert len(rows) == ORDERS
    # The same orders, in the same order, with the same figures as the summary.
    assert [r["order_number"] for r in rows] == [o["number"] for o in figures["orders"]]
    assert {r["order_number"] for r in rows} == {o.number for o in big_month["orders"]}
    for row, order in zip(rows, figures["orders"], strict=True):
        assert (row["status"], row["total"], row["cancelled_total"], row["commission"]) == (
            order["status"],
            order["total"],
            order["cancelled_total"],
            order["commission"],
        )
        assert row["retailer_reference"] == order["reference"]
        assert Decimal(row["sales_total"]) == Decimal(order["total"]) - Decimal(
            order["cancelled_total"]
        )
    # Summed per currency, the rows give the summary's totals to the cent.
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        for column in ("total", "cancelled_total", "sales_total", "commission"):
            sums[row["currency"]][column] += Decimal(row[column])
    for total in figures["totals"]:
        got = sums[total["currency"]]
        assert str(got["total"]) == total["placed_total"]
        assert str(got["cancelled_total"]) == total["cancelled_total"]
        assert str(got["sales_total"]) == total["sales_total"]
        assert str(got["commission"]) == total["commission"]
    by_number = {r["order_number"]: r for r in rows}
    assert [by_number[o.number]["status"] for o in big_month["orders"][10:13]] == ["cancelled"] * 3
    whole = by_number[big_month["orders"][30].number]
    part = by_number[big_month["orders"][33].number]
    assert " DPD T1 (" in whole["parcels"] and whole["units_shipped"] != "0"
    assert part["parcels"].endswith(" DPD T2 (1)") and part["units_shipped"] == "1"

    _the_same_csv_is_downloaded_from_admin_by_staff_only(
        client, MonthlySummary.objects.get(retailer=big_month["shop"]), attachment.get_content()
    )
    _the_admin_pages_stay_pages(client, MonthlySummary.objects.get(retailer=big_month["shop"]))


def _the_admin_pages_stay_pages(client, summary):
    """The summaries list reads its counts and totals in the query, not every order of every
    summary on the page; a summary's page shows 100 of its orders and says how many more the
    order list has (it rendered all thousand as HTML)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-Boss-123")
    client.force_login(boss)
    with CaptureQueriesContext(connection) as queries:
        listing = client.get(reverse("admin:statements_monthlysummary_changelist"))
    assert listing.status_code == 200
    assert f">{ORDERS}<" in listing.text  # the orders column, read in the query
    for total in summary.figures["totals"]:
        assert f"{total['commission_due']} {total['currency']}" in listing.text
    listed = [q["sql"] for q in queries.captured_queries if "statements_monthlysummary" in q["sql"]]
    assert listed and not any('"statements_monthlysummary"."figures",' in q for q in listed)
    assert not any('"statements_monthlysummary"."figures" FROM' in q for q in listed)

    page = client.get(reverse("admin:statements_monthlysummary_change", args=[summary.pk]))
    assert page.status_code == 200
    numbers = [o["number"] for o in summary.figures["orders"]]
    assert numbers[0] in page.text and numbers[99] in page.text
    assert numbers[500] not in page.text and numbers[-1] not in page.text
    assert f"and {ORDERS - 100} more; the order list above has every order" in page.text
    assert "Download the" in page.text


def _the_same_csv_is_downloaded_from_admin_by_staff_only(client, summary, attached: str):
    url = reverse("admin:statements_monthlysummary_orders_csv", args=[summary.pk])

    # Not logged in: the admin login page, no file.
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    # Staff without the view permission: refused, no file.
    user = get_user_model().objects.create_user("clerk", password="pw-Clerk-123", is_staff=True)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 403
    assert b"order_number" not in response.content

    user.user_permissions.add(Permission.objects.get(codename="view_monthlysummary"))
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="orders-bigshop-2026-07.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body == attached
    # The summary's admin page links to it.
    page = client.get(reverse("admin:statements_monthlysummary_change", args=[summary.pk]))
    assert page.status_code == 200 and url in page.text
    assert f"Download the {ORDERS} order(s) as CSV" in page.text
    # A summary that does not exist: 404, not a 500.
    missing = reverse("admin:statements_monthlysummary_orders_csv", args=[summary.pk + 999])
    assert client.get(missing).status_code == 404
