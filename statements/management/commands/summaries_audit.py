from django.core.management.base import CommandError

from common.cli import ProjectCommand
from orders.documents import iso
from orders.models import Retailer
from statements.audit import billed_twice, never_billed, summarised_months


class Command(ProjectCommand):
    help = (
        "Check that every order that reached us in a summarised month is billed by exactly one "
        "monthly summary: lists orders billed twice and orders never billed (tab-separated), "
        "and exits non-zero when there is any. Run it once after a deploy that changes which "
        "orders a month bills, and whenever a bill is in doubt. Changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--retailer", help="Only this retailer (its slug).")

    def handle(self, *args, retailer=None, **options):
        if retailer is not None and not Retailer.objects.filter(slug=retailer).exists():
            raise CommandError(f"--retailer: no retailer '{retailer}'.")
        months = summarised_months(retailer=retailer)
        self.stderr.write(
            f"{len(months)} summarised months"
            + (f", {months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else "")
        )
        self.stdout.write("problem\tretailer\tnumber\tmonths\tcreated_at")
        counts = {"twice": 0, "never": 0}
        for finding in billed_twice(retailer=retailer):
            counts["twice"] += 1
            self.stdout.write(f"{finding.problem}\t{finding.retailer}\t{finding.number}\t"
                              f"{finding.months}\t")  # fmt: skip
        self.stderr.write(f"billed twice: {counts['twice']}")
        for finding in never_billed(months=months, retailer=retailer):
            counts["never"] += 1
            self.stdout.write(f"{finding.problem}\t{finding.retailer}\t{finding.number}\t"
                              f"{finding.months}\t{iso(finding.created_at)}")  # fmt: skip
        self.stderr.write(f"never billed: {counts['never']}")
        if counts["twice"] or counts["never"]:
            raise CommandError(
                f"{counts['twice']} orders billed twice and {counts['never']} never billed; "
                "each is listed above."
            )
        self.stdout.write("every order of the summarised months is billed exactly once.")
