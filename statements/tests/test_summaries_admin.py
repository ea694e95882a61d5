"""Admin: summaries with their figures, read-only; "resend" sends the same summary again."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.models import Delivery
from statements.models import MonthlySummary
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _body,
    _settled,
    month_data_fixture,
    run,
    smtp_fixture,
    summary_emails,
)


@pytest.fixture
def admin_client_(client, transactional_db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-Admin-123")
    client.force_login(user)
    return client


@pytest.fixture
def sent(month_data, smtp):
    run("--month", "2026-07")
    _settled(smtp, 3)
    return MonthlySummary.objects.get(retailer=month_data["shopco"])


def test_changelist_and_figures_are_shown_read_only(admin_client_, sent):
    response = admin_client_.get(reverse("admin:statements_monthlysummary_changelist"))
    assert response.status_code == 200
    assert "shopco" in response.text and "2026-07" in response.text
    assert "1.90 GBP" in response.text  # commission due per currency
    response = admin_client_.get(reverse("admin:statements_monthlysummary_change", args=[sent.pk]))
    assert response.status_code == 200
    for order in sent.figures["orders"]:
        assert order["number"] in response.text
    assert f"retailer:{sent.retailer_id}" in response.text
    assert 'name="figures"' not in response.text  # no editable field
    assert admin_client_.get(reverse("admin:statements_monthlysummary_add")).status_code == 403


def test_resend_sends_the_same_summary_again_as_a_new_delivery(admin_client_, sent, smtp):
    url = reverse("admin:statements_monthlysummary_changelist")
    for expected in (1, 2):
        response = admin_client_.post(
            url, {"action": "resend_summaries", "_selected_action": [sent.pk]}, follow=True
        )
        assert response.status_code == 200
        assert "Queued 1 summary email(s) again" in response.text
        messages = _settled(smtp, 3 + expected)
        message = messages[-1]
        assert message.rcpt_tos == ["buyers@shopco.example"]
        assert message.message_id.startswith(f"<summary.shopco.2026-07.resend.{expected}")
        assert sent.figures["orders"][0]["number"] in _body(message, "plain")
    keys = sorted(sent.deliveries.values_list("target_key", flat=True))
    rid = sent.retailer_id
    assert keys == [f"retailer:{rid}", f"retailer:{rid}:resend:1", f"retailer:{rid}:resend:2"]
    assert MonthlySummary.objects.count() == 3
    # A normal run still sends nothing more.
    assert "queued 0 summaries" in run("--month", "2026-07")
    assert Delivery.objects.filter(source_key__startswith="summary:").count() == 5
    assert len(summary_emails(smtp)) == 5


def test_resend_needs_the_permission(client, transactional_db, sent, smtp):
    user = get_user_model().objects.create_user("viewer", password="pw-Viewer-123", is_staff=True)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_monthlysummary"))
    client.force_login(user)
    url = reverse("admin:statements_monthlysummary_changelist")
    response = client.post(url, {"action": "resend_summaries", "_selected_action": [sent.pk]})
    assert response.status_code in (200, 302)
    assert Delivery.objects.filter(source_key__startswith="summary:").count() == 3
    assert len(summary_emails(smtp)) == 3


def test_a_summarys_page_has_no_save_button_and_its_figures_read_as_tables(admin_client_, sent):
    """Issue 16: read-only means no save button (a POST is refused, nothing changes), and the
    stored figures are labelled fields and tables, not their JSON."""
    url = reverse("admin:statements_monthlysummary_change", args=[sent.pk])
    page = admin_client_.get(url).text
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    for raw in ('"orders":', "&quot;orders&quot;:", "'orders':", "&#x27;orders&#x27;:"):
        assert raw not in page
    assert 'class="readable-json"' in page
    assert '<th scope="col">Commission due</th>' in page and '<th scope="col">Number</th>' in page
    assert "Monthly summaries" in admin_client_.get("/admin/").text
    figures = MonthlySummary.objects.get(pk=sent.pk).figures
    assert admin_client_.post(url, {"month": "2020-01-01"}).status_code == 403
    assert MonthlySummary.objects.get(pk=sent.pk).figures == figures
