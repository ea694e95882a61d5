from django.conf import settings
from django.utils import timezone

from common.cli import ProjectCommand
from delivery.selectors import delivery_status_summary, events_undispatched_summary


class Command(ProjectCommand):
    help = "Per supplier and channel: delivered, pending, failing, failed, oldest pending."

    def handle(self, *args, **options):
        waiting, oldest = events_undispatched_summary()
        if waiting:
            seconds = int((timezone.now() - oldest).total_seconds())
            line = f"Order events waiting for the dispatcher: {waiting} (oldest {seconds} s)"
            if seconds > settings.DELIVERY_DISPATCH_GRACE_SECONDS:
                line += (
                    "; is `manage.py dispatch_events` running? The sweeper dispatches "
                    "them meanwhile."
                )
            self.stdout.write(line)
        rows = delivery_status_summary()
        if not rows:
            self.stdout.write("No deliveries yet.")
            return
        header = (
            "supplier",
            "channel",
            "delivered",
            "pending",
            "failing",
            "failed",
            "oldest pending",
        )
        lines = [header]
        now = timezone.now()
        for row in rows:
            oldest = row["oldest_pending"]
            age = ""
            if oldest:
                minutes = int((now - oldest).total_seconds() // 60)
                age = f"{oldest:%Y-%m-%d %H:%M} ({minutes} min)"
            lines.append(
                (
                    row["supplier__slug"] or "-",
                    row["channel"],
                    str(row["delivered"]),
                    str(row["pending"]),
                    str(row["failing"]),
                    str(row["failed"]),
                    age or "-",
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
