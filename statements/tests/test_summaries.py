"""Monthly summaries end to end: the command builds each (retailer, month) once and the email
reaches a real SMTP server (aiosmtpd) once, whatever is re-run or run at the same time."""

import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError
from django.db import connection

from delivery.models import Delivery
from orders.services import order_set_status
from statements.models import MonthlySummary
from statements.tests.summaries_support import (  # noqa: F401  (fixtures)
    _body,
    _settled,
    month_data_fixture,
    ny,
    run,
    smtp_fixture,
    summary_emails,
)
from testsupport.factories import make_retailer, place_order


def test_command_sends_each_retailer_one_summary_even_when_run_twice(month_data, smtp):
    output = run("--month", "2026-07")
    assert "queued 3 summaries" in output
    assert "3 retailers looked at" in output  # progress
    messages = _settled(smtp, 3)

    output = run("--month", "2026-07")
    assert "queued 0 summaries; 3 already made before" in output
    assert not MonthlySummary.objects.filter(sent_at__isnull=True).exists()
    assert MonthlySummary.objects.count() == 3
    assert Delivery.objects.filter(purpose="monthly_summary").count() == 3
    assert len(summary_emails(smtp)) == 3

    by_rcpt = {m.rcpt_tos[0]: m for m in messages}
    assert set(by_rcpt) == {"buyers@shopco.example", "money@other.example", "hello@quiet.example"}
    shop = by_rcpt["buyers@shopco.example"]
    assert shop.subject == "Your monthly summary for July 2026: Shopco"
    assert shop.message_id.startswith("<summary.shopco.2026-07")
    text, html = _body(shop, "plain"), _body(shop, "html")
    shopco_summary = MonthlySummary.objects.get(retailer=month_data["shopco"])
    figures = shopco_summary.figures
    for number in [o["number"] for o in figures["orders"]]:
        assert number in text and number in html
    assert "ORDERS PLACED: 4" in text
    assert "placed 2, processing 0, shipped 1, cancelled 1" in text
    assert "GBP: 2 orders, placed 43.00, cancelled 24.00, sales 19.00" in text
    assert "commission 1.90, commission due 1.90 GBP" in text
    assert "commission 1.90 (10%)" in text and "1.90 (10%)" in html
    assert "EUR: 2 orders, placed 36.00, cancelled 0.00, sales 36.00" in text
    assert "commission 3.60, commission due 3.60 EUR" in text
    assert "Reason: Out of stock" in text
    assert "Note: Back in stock in <September> & not before" in text
    assert "2026-07-31 23:30" in text and "2026-07-31 23:30" in html
    assert "Back in stock in &lt;September&gt; &amp; not before" in html
    assert "<table" in html and "Commission due" in html
    quiet = by_rcpt["hello@quiet.example"]
    assert "You placed no orders in July 2026" in _body(quiet, "plain")
    assert "You placed no orders in July 2026" in _body(quiet, "html")


def test_no_summary_for_a_retailer_without_orders_when_the_setting_says_so(
    month_data, smtp, settings
):
    settings.SUMMARY_SEND_EMPTY = False
    output = run("--month", "2026-07")
    assert "queued 2 summaries" in output and "1 empty skipped" in output
    messages = _settled(smtp, 2)
    assert "hello@quiet.example" not in {m.rcpt_tos[0] for m in messages}
    assert not MonthlySummary.objects.filter(retailer=month_data["quiet"]).exists()


@pytest.mark.parametrize(
    "bad, says",
    [
        ("2026-13", "'2026-13' is not a month"),
        ("July", "'July' is not a month"),
        ("2026-7", "'2026-7' is not a month"),
        # Taken as July before: a trailing newline ($ matched before it), other scripts' digits.
        ("2026-07\n", "'2026-07\\n' is not a month"),
        ("\u0662\u0660\u0662\u0666-\u0660\u0667", "is not a month"),
        ("2999-01", "2999-01 has not ended yet"),
    ],
)
def test_bad_month_changes_nothing(month_data, smtp, bad, says):
    with pytest.raises(CommandError) as raised:
        run("--month", bad)
    assert str(raised.value).startswith("--month: ")
    assert says in str(raised.value)
    assert "\n" not in str(raised.value)
    assert not MonthlySummary.objects.exists()
    assert not Delivery.objects.filter(source_key__startswith="summary:").exists()
    assert summary_emails(smtp) == []


def test_dry_run_writes_and_sends_nothing(month_data, smtp):
    output = run("--month", "2026-07", "--dry-run")
    assert "would send 3 summaries" in output
    assert (
        not MonthlySummary.objects.exists()
        and not Delivery.objects.filter(source_key__startswith="summary:").exists()
    )
    assert summary_emails(smtp) == []


def test_a_month_is_summarised_only_once_it_has_settled(month_data, smtp, settings):
    """A write stamped just before midnight may commit up to the settle time after it: a run
    in those seconds is refused (it would miss that order or cancellation for good), and the
    same run once they have passed goes through."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 10
    with time_machine.travel(ny(2026, 8, 1, 0, 0, 3), tick=False):
        with pytest.raises(CommandError) as raised:
            run()
    assert str(raised.value).startswith("--month: 2026-07 ended less than 10 s ago")
    assert "again in 7 s" in str(raised.value) and "\n" not in str(raised.value)
    assert not MonthlySummary.objects.exists() and summary_emails(smtp) == []
    with time_machine.travel(ny(2026, 8, 1, 0, 0, 11), tick=True):
        assert "2026-07: queued 3 summaries" in run("--month", "2026-07")


def test_default_month_is_last_month(month_data, smtp):
    with time_machine.travel(ny(2026, 8, 1, 6, 0), tick=True):
        output = run()
    assert "2026-07: queued 3 summaries" in output
    _settled(smtp, 3)


def test_late_cancellation_is_an_adjustment_on_the_next_summary(month_data, smtp):
    shopco = month_data["shopco"]
    with time_machine.travel(ny(2026, 7, 31, 12), tick=True):
        (late,) = place_order(
            retailer=shopco,
            lines=[{"sku": "ACME-003", "quantity": 2}],
            reference="L-1",
            placed_at=ny(2026, 7, 20, 9).isoformat(),
        )
    with time_machine.travel(ny(2026, 8, 1, 6, 0), tick=True):
        run("--month", "2026-07")
    _settled(smtp, 3)
    # Cancelled in August, after July's summary went out.
    with time_machine.travel(ny(2026, 8, 10, 12), tick=True):
        order_set_status(
            order=late, status="cancelled", actor="ops", reason="bad_address", note="No such street"
        )
    with time_machine.travel(ny(2026, 9, 1, 6, 0), tick=True):
        run("--month", "2026-08")
    messages = _settled(smtp, 6)

    july = MonthlySummary.objects.get(retailer=shopco, month=date(2026, 7, 1)).figures
    july_row = next(o for o in july["orders"] if o["number"] == late.number)
    assert (july_row["status"], july_row["commission"]) == ("placed", "4.80")
    assert [t["commission_due"] for t in july["totals"]] == ["3.60", "6.70"]  # EUR, GBP
    august = MonthlySummary.objects.get(retailer=shopco, month=date(2026, 8, 1)).figures
    assert [(a["number"], a["commission"]) for a in august["adjustments"]] == [
        (late.number, "-4.80")
    ]
    assert [(t["currency"], t["commission_due"]) for t in august["totals"]] == [("GBP", "-4.80")]
    august_mail = next(
        m
        for m in messages[3:]
        if m.rcpt_tos == ["buyers@shopco.example"] and "August 2026" in m.subject
    )
    text = _body(august_mail, "plain")
    assert "ADJUSTMENTS: cancellations made in August 2026 on orders of earlier months" in text
    assert late.number in text and "placed in July 2026" in text
    # The order's heading is a line of its own, and each line it cancelled another (the
    # heading ran on into the first line: "... (now wholly cancelled)    line 1  ACME-003").
    heading = next(row for row in text.splitlines() if row.startswith(f"  {late.number}  "))
    assert heading.endswith("cancelled 2026-08-10 12:00 (now wholly cancelled)"), heading
    assert "    line 1  ACME-003  " in text.splitlines()[text.splitlines().index(heading) + 1]
    assert "Reason: Bad address" in text and "Note: No such street" in text
    assert "Commission reversed: -4.80 GBP" in text
    assert "commission due -4.80 GBP" in text
    # The HTML part says what the text says (it left out "now wholly cancelled").
    html = _body(august_mail, "html")
    assert "2026-08-10 12:00<br>(now wholly cancelled)</td>" in html
    assert "line 1 ACME-003: 2 of 2" in html and "-4.80 GBP" in html


def test_a_failure_for_one_retailer_does_not_stop_the_others(month_data, smtp, monkeypatch):
    from statements import selectors
    from statements import services as summaries

    real = selectors.retailer_month_figures

    def broken_batch(**kwargs):
        raise RuntimeError("batch broke")

    def broken_for_other(*, retailer, month):
        if retailer.slug == "other":
            raise RuntimeError("figures broke")
        return real(retailer=retailer, month=month)

    monkeypatch.setattr(summaries, "retailer_month_figures_many", broken_batch)
    monkeypatch.setattr(summaries, "retailer_month_figures", broken_for_other)
    with pytest.raises(CommandError, match="1 retailer summaries could not be built \\(other\\)"):
        run("--month", "2026-07")
    messages = _settled(smtp, 2)
    assert {m.rcpt_tos[0] for m in messages} == {"buyers@shopco.example", "hello@quiet.example"}
    assert not MonthlySummary.objects.filter(retailer=month_data["other"]).exists()

    monkeypatch.undo()
    assert "queued 1 summaries; 2 already made before" in run("--month", "2026-07")
    messages = _settled(smtp, 3)
    assert messages[2].rcpt_tos == ["money@other.example"]


def test_concurrent_runs_send_one_email_per_retailer(on_postgres, month_data, smtp):
    with time_machine.travel(ny(2026, 6, 1, 12), tick=True):
        extra = [make_retailer(slug=f"extra{i}")[0] for i in range(20)]
    barrier = threading.Barrier(3)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            run("--month", "2026-07")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    messages = _settled(smtp, 3 + len(extra))
    recipients = sorted(m.rcpt_tos[0] for m in messages)
    assert len(recipients) == len(set(recipients)) == 23
    assert MonthlySummary.objects.count() == 23
    assert Delivery.objects.filter(source_key__startswith="summary:").count() == 23


def test_beat_task_sends_last_months_summaries_once(month_data, smtp, settings):
    from celery import current_app

    from statements import tasks  # noqa: F401  (registers the tasks)

    schedule = settings.CELERY_BEAT_SCHEDULE["statements-monthly-summaries"]
    assert schedule["task"] == "statements.send_monthly_summaries"
    task = current_app.tasks["statements.send_monthly_summaries"]
    # A retry queued under the name the task had in delivery still runs (and sends nothing new).
    old_name = current_app.tasks["delivery.send_monthly_summaries"]
    with time_machine.travel(ny(2026, 8, 1, 6, 0), tick=True):
        task.apply()
        task.apply()
        old_name.apply()
    _settled(smtp, 3)
    assert MonthlySummary.objects.filter(month=date(2026, 7, 1)).count() == 3


def test_a_missed_run_on_the_1st_is_made_up_by_the_catch_up_and_sends_each_once(
    month_data, smtp, settings
):
    """Beat counts its 06:00 entry as run before sending it: if that send was lost, the
    hourly catch-up of the same task (until the 3rd) makes the month's summaries, once."""
    from celery import current_app
    from celery.schedules import crontab

    from statements import tasks  # noqa: F401  (registers the tasks)

    entry = settings.CELERY_BEAT_SCHEDULE["statements-monthly-summaries-catch-up"]
    assert entry["task"] == "statements.send_monthly_summaries"
    assert entry["schedule"] == crontab(minute=30, hour="7-23", day_of_month="1-3")
    task = current_app.tasks[entry["task"]]
    assert not MonthlySummary.objects.exists()  # 06:00's run never reached a worker
    for day, hour in ((1, 7), (1, 8), (2, 23)):
        with time_machine.travel(ny(2026, 8, day, hour, 30), tick=True):
            task.apply()
    messages = _settled(smtp, 3)  # three, and no more came
    assert len({m.rcpt_tos[0] for m in messages}) == 3
    assert MonthlySummary.objects.filter(month=date(2026, 7, 1)).count() == 3


def test_a_sending_failure_is_retried_by_the_delivery_with_the_same_message(month_data, smtp):
    from django.utils import timezone

    from delivery.services import deliveries_sweep

    smtp.fail_data = True
    run("--month", "2026-07")
    summary_deliveries = Delivery.objects.filter(purpose="monthly_summary")
    assert summary_deliveries.count() == 3
    assert all(d.status == "pending" and "451" in d.last_error for d in summary_deliveries)
    assert summary_emails(smtp) == []
    assert MonthlySummary.objects.filter(sent_at__isnull=True).count() == 3

    smtp.fail_data = False
    assert "queued 0 summaries; 3 already made before" in run("--month", "2026-07")
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=True):
        deliveries_sweep()
    messages = _settled(smtp, 3)
    identities = {d.identity for d in summary_deliveries}
    assert {m.message_id for m in messages} == identities
    assert summary_deliveries.filter(status="delivered").count() == 3
    # The engine records the summary as sent when its retried email is delivered, without
    # waiting for the next command run.
    assert MonthlySummary.objects.filter(sent_at__isnull=True).count() == 0


def test_a_batch_of_summary_emails_is_sent_in_a_fixed_number_of_queries(
    month_data, smtp, monkeypatch
):
    """The engine's batch send loads the batch's summaries and their retailers before rendering
    (the renderer's `prepare`, one query): one summary or two in a batch cost the same queries
    (none per summary to render it)."""
    from django.test.utils import CaptureQueriesContext

    from delivery.services import deliveries_process_batch
    from statements import services as summaries

    queued: list[int] = []
    monkeypatch.setattr(
        summaries, "deliveries_queue", lambda *, delivery_ids: queued.extend(delivery_ids)
    )
    run("--month", "2026-07")
    assert len(queued) == 3 and summary_emails(smtp) == []

    def send(ids) -> int:
        with CaptureQueriesContext(connection) as queries:
            outcomes = deliveries_process_batch(
                deliveries=list(Delivery.objects.filter(pk__in=ids))
            )
        assert outcomes == {pk: "delivered" for pk in ids}
        reads = [q for q in queries if 'FROM "statements_monthlysummary"' in q["sql"]]
        assert len(reads) == 1, reads  # the batch's summaries, together
        return len(queries)

    assert send(queued[:1]) == send(queued[1:])
    messages = _settled(smtp, 3)
    assert {m.message_id for m in messages} == set(
        Delivery.objects.filter(pk__in=queued).values_list("identity", flat=True)
    )


def test_a_summary_delivery_whose_summary_is_gone_fails_without_sending(retailer, email_via_smtp):
    """The email channel knows a summary only by the row's source key: a key naming no summary
    fails the row for good (no retry can help) and sends nothing."""
    from django.utils import timezone

    from delivery.services import delivery_send

    delivery = Delivery.objects.create(
        source_key="summary:999999",
        channel="email",
        purpose="monthly_summary",
        target_key=f"retailer:{retailer.pk}",
        recipient=retailer.email,
        identity="<summary.gone.2026-07@orders.localhost>",
        next_attempt_at=timezone.now(),
    )
    assert delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "summary:999999" in delivery.last_error
    assert email_via_smtp.messages == []
    assert not MonthlySummary.objects.exists()


def test_a_summary_refused_at_an_old_address_goes_to_the_corrected_one_when_redelivered(
    month_data, smtp, django_capture_on_commit_callbacks
):
    """A summary row knows its retailer by its target key; its redelivery goes where the
    retailer's email is now (the address stored on the row was used for good before)."""
    from delivery.services import delivery_redeliver
    from orders.models import Retailer

    smtp.refuse.add("buyers@shopco.example")
    run("--month", "2026-07")
    _settled(smtp, 2)  # other and quiet; shopco's address was refused
    row = Delivery.objects.get(purpose="monthly_summary", recipient="buyers@shopco.example")
    assert row.status == "failed" and "refused" in row.last_error

    Retailer.objects.filter(slug="shopco").update(email="accounts@shopco.example")
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=row)
    messages = _settled(smtp, 3)
    (mail,) = [m for m in messages if m.message_id == row.identity]
    assert mail.rcpt_tos == ["accounts@shopco.example"]
    row.refresh_from_db()
    assert row.status == "delivered" and row.recipient == "accounts@shopco.example"
    assert MonthlySummary.objects.filter(sent_at__isnull=True).count() == 0


def test_a_rerun_says_which_summaries_made_before_never_reached_the_retailer(
    month_data, smtp, django_capture_on_commit_callbacks
):
    """A summary whose email failed for good was counted as "already sent before" by a
    re-run, which sends nothing for it: ops read that the retailer had it. The re-run now
    names it, and says what to do; it still sends nothing."""
    from delivery.services import delivery_redeliver
    from orders.models import Retailer

    smtp.refuse.add("buyers@shopco.example")
    run("--month", "2026-07")
    _settled(smtp, 2)  # other and quiet; shopco's address was refused
    row = Delivery.objects.get(purpose="monthly_summary", recipient="buyers@shopco.example")
    assert row.status == "failed"

    output = run("--month", "2026-07")
    assert "queued 0 summaries; 3 already made before" in output
    assert (
        "1 of those made before never reached the retailer (every email failed for good): "
        "shopco; correct the address and resend it from the admin" in output
    )
    assert Delivery.objects.filter(purpose="monthly_summary").count() == 3
    assert len(summary_emails(smtp)) == 2

    Retailer.objects.filter(slug="shopco").update(email="accounts@shopco.example")
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=row)
    _settled(smtp, 3)
    output = run("--month", "2026-07")
    assert "queued 0 summaries; 3 already made before" in output
    assert "never reached" not in output


def test_a_retailer_taking_a_renamed_retailers_slug_gets_its_own_summary_of_the_same_month(
    month_data, smtp
):
    """A summary email's Message-ID named the retailer by slug and month only, and Message-IDs
    are unique: once 'shopco' was renamed and a new retailer took 'shopco', that retailer's
    summary of a month the first had one of could not be stored, and its run failed (the
    retailer got nothing). The summary's own id is in the Message-ID now."""
    from orders.models import Retailer

    run("--month", "2026-07")
    _settled(smtp, 3)
    Retailer.objects.filter(slug="shopco").update(slug="shopco-old")
    with time_machine.travel(ny(2026, 6, 2, 12), tick=True):
        newco, _ = make_retailer(slug="shopco", email="orders@newco.example")

    output = run("--month", "2026-07")
    assert "queued 1 summaries; 3 already made before, 0 empty skipped, 0 failed." in output
    messages = _settled(smtp, 4)
    (mail,) = [m for m in messages if m.rcpt_tos == ["orders@newco.example"]]
    assert mail.message_id.startswith("<summary.shopco.2026-07.")
    assert "You placed no orders in July 2026" in _body(mail, "plain")
    assert MonthlySummary.objects.filter(retailer=newco, sent_at__isnull=False).count() == 1
    assert len({m.message_id for m in messages}) == 4
