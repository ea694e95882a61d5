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
from testsupport.waiting import wait_until


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


def test_a_resend_refused_at_an_old_address_goes_to_the_corrected_one_when_redelivered(
    admin_client_, sent, smtp
):
    """Ops resends a summary the retailer says it never got; the address was wrong, so the
    server refuses it. Ops corrects the retailer's email in the admin and redelivers that
    resend: it goes to the corrected address (before, only the first send followed the
    correction: a resend's target key, `retailer:<id>:resend:<n>`, named no retailer, so its
    every try went to the address it was made with)."""
    smtp.refuse.add("buyers@shopco.example")
    changelist = reverse("admin:statements_monthlysummary_changelist")
    admin_client_.post(changelist, {"action": "resend_summaries", "_selected_action": [sent.pk]})
    resend = sent.deliveries.get(target_key__endswith=":resend:1")
    wait_until(
        lambda: Delivery.objects.get(pk=resend.pk).status == "failed",
        timeout=20,
        message="the resend was not refused",
    )
    assert len(summary_emails(smtp)) == 3  # the refused resend reached nobody
    to_old_address = len(smtp.to("buyers@shopco.example"))  # the first send's, before

    retailer = sent.retailer
    page = admin_client_.post(
        reverse("admin:orders_retailer_change", args=[retailer.pk]),
        {
            "slug": retailer.slug,
            "name": retailer.name,
            "email": "accounts@shopco.example",
            "commission_rate": str(retailer.commission_rate),
            "is_active": "on",
        },
    )
    assert page.status_code == 302, page.context["adminform"].form.errors
    admin_client_.post(
        reverse("admin:delivery_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [resend.pk]},
    )
    messages = _settled(smtp, 4)
    assert messages[-1].rcpt_tos == ["accounts@shopco.example"]
    assert messages[-1].message_id.startswith("<summary.shopco.2026-07.resend.1")
    resend.refresh_from_db()
    assert resend.status == "delivered" and resend.recipient == "accounts@shopco.example"
    assert len(smtp.to("buyers@shopco.example")) == to_old_address


def test_resending_more_summaries_than_the_cap_at_once_sends_none(
    admin_client_, sent, smtp, monkeypatch
):
    """ "Select all" over the list, then Resend, mailed every retailer of every month again
    in one web request; above the cap the action is refused whole and nothing is sent."""
    from statements import admin as statements_admin

    monkeypatch.setattr(statements_admin, "RESEND_ADMIN_MAX", 2)
    url = reverse("admin:statements_monthlysummary_changelist")
    every = list(MonthlySummary.objects.values_list("pk", flat=True))
    assert len(every) == 3
    page = admin_client_.post(
        url, {"action": "resend_summaries", "_selected_action": every}, follow=True
    ).text
    assert "Select at most 2 summaries to resend at once. Nothing was sent." in page
    assert Delivery.objects.filter(target_key__contains=":resend:").count() == 0
    assert Delivery.objects.filter(purpose="monthly_summary").count() == 3
    assert len(summary_emails(smtp)) == 3

    page = admin_client_.post(
        url, {"action": "resend_summaries", "_selected_action": every[:2]}, follow=True
    ).text
    assert "Queued 2 summary email(s) again" in page
    _settled(smtp, 5)
