"""One delivery walked through pending, failing, failed and delivered reads the same, in the
real browser, on the order page, Deliveries, ORDER HISTORY (its row and its strip) and admin:
the state, the tries and the next try all come from `delivery_facts`."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from common.labels import when_text
from delivery.models import Delivery
from delivery.selectors import delivery_facts
from delivery.services import delivery_send, destination_disable, destination_set_webhook
from testsupport.browser import PASSWORD, login, off_loop, run_in_browser
from testsupport.factories import make_supplier_user, place_order
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _facts_on(scope) -> tuple[str, str, str]:
    """(state, tries, next try) as a page shows them inside `scope` (delivery/_state.html)."""
    state = scope.locator("[data-delivery-state]").inner_text()
    tries = scope.locator("[data-delivery-tries]").inner_text()
    following = scope.locator("[data-delivery-next] time")
    return state, tries, following.inner_text() if following.count() else ""


def test_a_delivery_reads_the_same_on_every_page(
    acme, retailer, live_server, settings, http_receiver
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    # After the first failed try, the next is due 2 s later; after the second, none is left.
    settings.DELIVERY_RETRY_SCHEDULE = [0, 2]
    http_receiver.default.status = 500
    base = live_server.url
    make_supplier_user(supplier=acme, username="ann")
    get_user_model().objects.create_superuser(
        username="olga", password=PASSWORD, email="olga@hub.example"
    )
    # The webhook alone, so the order's row in ORDER HISTORY shows this delivery's state.
    destination_disable(supplier=acme, channel="email")
    destination_set_webhook(supplier=acme, url=http_receiver.url + "/hook")
    order = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])[0]
    delivery = Delivery.objects.get(event__order=order, channel="webhook")
    readings: list[dict] = []

    def expected() -> tuple[str, str, str]:
        facts = delivery_facts(Delivery.objects.get(pk=delivery.pk))
        return facts.label, facts.tries_text, when_text(facts.next_try_at)

    def read(portal, admin, step: str) -> None:
        seen = {"step": step, "expected": off_loop(expected)}
        portal.goto(f"{base}/orders/{order.number}/")
        item = portal.locator(f"#delivery-{delivery.pk}")
        seen["order page"] = _facts_on(item)
        seen["order page redeliver"] = item.get_by_role("button", name="Redeliver").count()
        portal.goto(f"{base}/deliveries/")
        row = portal.locator(f"tr#delivery-{delivery.pk}")
        seen["deliveries"] = _facts_on(row)
        seen["deliveries redeliver"] = row.get_by_role("button", name="Redeliver").count()
        portal.goto(f"{base}/orders/")
        history_row = portal.locator("table.orders tbody tr", has_text=order.number)
        seen["history row"] = history_row.locator('[data-label="Delivery"]').inner_text()
        seen["strip"] = int(portal.locator("#failing-link .stat-n").inner_text())
        admin.goto(f"{base}/admin/delivery/delivery/?q={delivery.identity}")
        admin_row = admin.locator("#result_list tbody tr").first
        seen["admin"] = (
            admin_row.locator("td.field-state").inner_text(),
            admin_row.locator("td.field-tries").inner_text(),
            admin_row.locator("td.field-next_try").inner_text(),
        )
        readings.append(seen)

    def steps(browser):
        portal = browser.new_context().new_page()
        login(portal, base, "ann")
        admin = browser.new_context().new_page()
        login(admin, base, "olga")

        read(portal, admin, "pending")
        assert off_loop(delivery_send, delivery_id=delivery.pk) == "retry"
        read(portal, admin, "failing")
        wait_until(
            lambda: off_loop(
                Delivery.objects.filter(pk=delivery.pk, next_attempt_at__lte=timezone.now()).exists
            ),
            timeout=10,
            message="the second try did not come due",
        )
        assert off_loop(delivery_send, delivery_id=delivery.pk) == "failed"
        read(portal, admin, "failed")
        # The supplier presses Redeliver on Deliveries; the receiver is back.
        http_receiver.default.status = 200
        portal.goto(f"{base}/deliveries/")
        portal.locator(f"tr#delivery-{delivery.pk}").get_by_role("button", name="Redeliver").click()
        portal.wait_for_url(f"{base}/deliveries/")
        assert "Redelivery queued" in portal.locator(".messages").inner_text()
        assert off_loop(delivery_send, delivery_id=delivery.pk) == "delivered"
        read(portal, admin, "delivered")

    run_in_browser(steps)

    words = {"pending": "Pending", "failing": "Failing (retrying)", "failed": "Failed"}
    words["delivered"] = "Delivered"
    tries = {"pending": "0 tries", "failing": "1 try", "failed": "2 tries", "delivered": "1 try"}
    for seen in readings:
        step, (label, tried, following) = seen["step"], seen["expected"]
        assert (label, tried) == (words[step], tries[step]), seen
        assert bool(following) == (step in ("pending", "failing")), seen
        for place in ("order page", "deliveries"):
            assert seen[place] == (label, tried, following), (place, seen)
        assert seen["admin"] == (label, tried.split()[0], following or "—"), seen
        assert seen["history row"] == label, seen
        # The strip counts failing and failed deliveries; its link lists them (other test).
        assert seen["strip"] == (1 if step in ("failing", "failed") else 0), seen
        # "Redeliver" only where it helps: not while the delivery is simply waiting its turn.
        helps = 0 if step == "pending" else 1
        assert seen["order page redeliver"] == seen["deliveries redeliver"] == helps, seen
