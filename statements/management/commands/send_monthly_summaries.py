from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand
from statements.months import month_last_closed, summary_month_check_closed, summary_month_parse
from statements.services import SummaryRun, summaries_send_for_month, summaries_undelivered


class Command(ProjectCommand):
    help = (
        "Build and send each retailer's monthly summary (default: last month, in TIME_ZONE), "
        "once per retailer and month."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM, a month that has ended; default: last month.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be sent; write nothing."
        )

    def handle(self, *args, month=None, dry_run=False, **options):
        try:
            month_date = month_last_closed() if month is None else summary_month_parse(value=month)
            summary_month_check_closed(month=month_date)  # last month, in its first seconds
        except ValidationError as exc:
            raise CommandError(f"--month: {' '.join(exc.messages)}")

        def progress(run: SummaryRun) -> None:
            self.stderr.write(
                f"{run.month:%Y-%m}: batch of {run.batch_retailers} retailers, "
                f"{run.batch_orders} orders; {run.retailers} retailers looked at, "
                + (f"{run.would_create} would be sent" if dry_run else f"{run.created} queued")
                + f", {run.existing} already done, {run.empty_skipped} empty skipped, "
                f"{len(run.failed)} failed"
            )

        run = summaries_send_for_month(month=month_date, dry_run=dry_run, progress=progress)
        for slug, error in sorted(run.failed.items()):
            self.stderr.write(f"failed: retailer {slug}: {error}")
        verb = "would send" if dry_run else "queued"
        count = run.would_create if dry_run else run.created
        self.stdout.write(
            f"{run.month:%Y-%m}: {verb} {count} summaries; {run.existing} already made before, "
            f"{run.empty_skipped} empty skipped, {len(run.failed)} failed."
        )
        # Made before is not sent: a summary whose email failed for good reached nobody, and
        # a re-run sends nothing for it. Said, with what to do, rather than counted as sent.
        undelivered = summaries_undelivered(month=run.month) if run.existing else []
        if undelivered:
            self.stdout.write(
                f"{len(undelivered)} of those made before never reached the retailer (every "
                f"email failed for good): {', '.join(undelivered[:10])}"
                + (" ..." if len(undelivered) > 10 else "")
                + "; correct the address and resend it from the admin (Monthly summaries)."
            )
        if run.failed:
            raise CommandError(
                f"{len(run.failed)} retailer summaries could not be built "
                f"({', '.join(sorted(run.failed)[:10])}); run the command again to retry them."
            )
