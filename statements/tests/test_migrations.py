"""Moving MonthlySummary from delivery to statements keeps every summary and its deliveries.

Runs the real migrations on the test database: back to main's schema before the move
(delivery 0003, no statements), rows written with the historical models, then forward.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

DELIVERY_BEFORE = ("delivery", "0003_delivery_redelivered_at")


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets):
    """Migrate to `targets`; the historical models there (other apps at their latest)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    nodes = [node for node in targets if node[1] is not None]
    moved = {app for app, _ in targets}
    nodes += [node for node in _latest() if node[0] not in moved]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


BEFORE = [DELIVERY_BEFORE, ("statements", None)]


@pytest.fixture
def before_the_move(transactional_db):
    apps = _migrate(BEFORE)
    yield apps
    _migrate(_latest())


def test_summaries_and_their_deliveries_survive_the_move(before_the_move):
    apps = before_the_move
    Retailer = apps.get_model("orders", "Retailer")
    Summary = apps.get_model("delivery", "MonthlySummary")
    Delivery = apps.get_model("delivery", "Delivery")
    ContentType = apps.get_model("contenttypes", "ContentType")
    shop = Retailer.objects.create(slug="shop", name="Shop", email="buyers@shop.example")
    summary = Summary.objects.create(retailer=shop, month="2026-10-01", figures={"x": 1})
    for target in (f"retailer:{shop.pk}", f"retailer:{shop.pk}:resend:1"):
        Delivery.objects.create(
            summary=summary,
            channel="email",
            purpose="monthly_summary",
            target_key=target,
            recipient=shop.email,
            identity=f"<{target}@x>",
        )
    Delivery.objects.create(
        channel="email",
        purpose="failure_notice",
        target_key="notice:1",
        recipient="ops@x",
        identity="<notice@x>",
    )
    ContentType.objects.get_or_create(app_label="delivery", model="monthlysummary")

    apps = _migrate(_latest())

    Summary = apps.get_model("statements", "MonthlySummary")
    Delivery = apps.get_model("delivery", "Delivery")
    ContentType = apps.get_model("contenttypes", "ContentType")
    moved = Summary.objects.get()
    assert (moved.pk, moved.retailer_id, moved.figures) == (summary.pk, shop.pk, {"x": 1})
    assert sorted(Delivery.objects.values_list("source_key", "target_key")) == [
        ("", "notice:1"),
        (f"summary:{summary.pk}", f"retailer:{shop.pk}"),
        (f"summary:{summary.pk}", f"retailer:{shop.pk}:resend:1"),
    ]
    assert ContentType.objects.filter(app_label="statements", model="monthlysummary").exists()
    assert not ContentType.objects.filter(app_label="delivery", model="monthlysummary").exists()
    assert "statements_monthlysummary" in connection.introspection.table_names()
    assert "delivery_monthlysummary" not in connection.introspection.table_names()
