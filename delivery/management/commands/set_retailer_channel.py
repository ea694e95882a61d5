"""`set_retailer_channel SLUG webhook --url U [--events T1,T2]`, `... webhook --off`,
`... shipment-email --off|--on`: what a retailer hears back (issue 19).

Cancellation emails to the retailer are not a channel here: they always go.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, command_error
from delivery.management.off_said import off_said
from delivery.services import (
    RETAILER_CHANNELS,
    retailer_shipment_email_set,
    retailer_webhook_disable,
    retailer_webhook_set,
)
from orders.models import Retailer


class Command(ProjectCommand):
    secret_options = ("secret",)
    help = (
        "Set a retailer's channel: webhook --url URL [--events TYPES] [--secret whsec_...], "
        "webhook --off, shipment-email --off|--on."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("channel", choices=sorted(RETAILER_CHANNELS))
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument("--off", action="store_true", help="Turn the channel off.")
        switch.add_argument("--on", action="store_true", help="shipment-email: turn it on.")
        parser.add_argument("--url", help="webhook: the URL we POST to.")
        parser.add_argument(
            "--secret",
            help='webhook: a whsec_... secret (else one is made); "-" reads it from stdin.',
        )
        parser.add_argument(
            "--events",
            help="webhook: event types, comma-separated (default: all four: "
            "order.shipment_created, order.lines_cancelled, order.cancelled, "
            "order.acknowledged).",
        )

    def handle(self, *args, slug, channel, off, on, **opts):
        retailer = Retailer.objects.filter(slug=slug).first()
        if retailer is None:
            raise CommandError(f"slug: no retailer '{slug}'.")
        try:
            if channel == "shipment-email":
                self._shipment_email(retailer, off=off, on=on, opts=opts)
            elif off:
                self._webhook_off(retailer, opts=opts)
            else:
                self._webhook(retailer, opts=opts, on=on)
        except ValidationError as exc:
            raise command_error(exc)

    def _shipment_email(self, retailer, *, off, on, opts):
        for name in ("url", "secret", "events"):
            if opts[name] is not None:
                raise CommandError(f"{name}: --{name} is for the webhook, not shipment-email.")
        if not (off or on):
            raise CommandError("off: give --off or --on.")
        destination = retailer_shipment_email_set(retailer=retailer, on=on)
        state = "on" if on else "off (cancellation emails still go)"
        self.stdout.write(f"{retailer.slug}: shipment emails to {retailer.email} are {state}.")
        if destination.pending_cancelled:
            self.stdout.write(
                f"Cancelled {destination.pending_cancelled} shipment emails not sent yet."
            )

    def _webhook_off(self, retailer, *, opts):
        # Said, not ignored: `--off --url U` may mean "change the URL".
        for name in ("url", "secret", "events"):
            if opts[name] is not None:
                raise CommandError(f"{name}: --{name} is not used with --off; give one.")
        destination = retailer_webhook_disable(retailer=retailer)
        if destination is None:
            # No row was found, so nothing changed: said as a refusal, not as a success.
            raise CommandError(
                f"channel: {retailer.slug} has no webhook set up; nothing to turn off."
            )
        self.stdout.write(off_said(retailer.slug, "webhook", destination))
        if destination.pending_cancelled:
            self.stdout.write(
                f"Cancelled {destination.pending_cancelled} pending webhook "
                "deliveries; once it is on again, the admin's delivery log "
                "(purpose: webhook to retailer, status: cancelled) redelivers them."
            )

    def _webhook(self, retailer, *, opts, on):
        if on:
            raise CommandError("on: a webhook is turned on with --url URL.")
        if not opts["url"]:
            raise CommandError("url: give --url URL (or --off).")
        destination, generated = retailer_webhook_set(
            retailer=retailer,
            url=opts["url"],
            event_types=opts["events"],
            secret=opts["secret"],
        )
        types = ", ".join(destination.event_types) or "all four types"
        self.stdout.write(
            f"{retailer.slug}: webhook on, POSTing {types} to {destination.webhook_url}."
        )
        if generated:
            self.stdout.write(
                f"Signing secret (shown once, store it now): {generated}\n"
                "Verify the webhook-signature header with any Standard Webhooks library."
            )
