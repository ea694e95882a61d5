"""The APIs answer 503 with Retry-After, not 500, while the database cannot be reached.

Found by bench/chaos.py: during a PostgreSQL restart intake and update requests got Django's
500. The database here is made unreachable for real: this process's connection is closed and
pointed at a port nothing listens on, then back.
"""

import pytest
from django.db import connection

from orders.models import Order
from testsupport.factories import intake_payload
from testsupport.waiting import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _unreachable(send):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = free_port()
    try:
        return send()
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()


def test_intake_answers_503_while_the_database_is_down_and_a_resend_applies_once(
    on_postgres, acme, retailer_client
):
    payload = intake_payload(reference="R-DOWN", lines=[{"sku": "ACME-001", "quantity": 1}])

    def send():
        return retailer_client.post("/api/v1/retailer/orders", payload, format="json")

    response = _unreachable(send)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "database cannot be reached" in response.json()["errors"]["detail"][0]
    assert Order.objects.count() == 0

    assert send().status_code == 201
    assert send().status_code == 200  # the same reference again: the same orders
    assert Order.objects.filter(retailer_reference="R-DOWN").count() == 1
