from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, command_error, supplier_by_slug_or_error, text_option
from delivery.management.off_said import off_said
from delivery.models import Channel
from delivery.selectors import supplier_channels_all_off
from delivery.services import (
    destination_disable,
    destination_set_email,
    destination_set_sftp,
    destination_set_webhook,
)

# The sftp options for the supplier's own server, which --hosted would leave unused.
_OWN_SERVER_OPTIONS = (
    "host",
    "port",
    "username",
    "password",
    "key_file",
    "path",
    "host_key",
    "updates_path",
)
# The options that set each channel up (their dests; not given: None, or False for --hosted).
# None of them goes with --off, nor with another channel: said, never ignored.
_CHANNEL_OPTIONS = {
    Channel.EMAIL: ("to",),
    Channel.WEBHOOK: ("url", "secret", "events"),
    Channel.SFTP: (*_OWN_SERVER_OPTIONS, "every", "file_format", "hosted", "public_key"),
}


class Command(ProjectCommand):
    secret_options = ("password", "secret")
    help = (
        "Set or turn off a supplier's channel: email --to, webhook --url [--secret], "
        "sftp --host ... (or --hosted), or CHANNEL --off."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("channel", choices=Channel.values)
        parser.add_argument("--off", action="store_true", help="Turn the channel off.")
        parser.add_argument("--to", help="email: one address or several, comma-separated.")
        parser.add_argument("--url", help="webhook: the URL we POST to.")
        parser.add_argument(
            "--secret",
            help='webhook: a whsec_... secret (else one is made); "-" reads it from stdin.',
        )
        parser.add_argument(
            "--events", help="webhook: event types, comma-separated (default: all)."
        )
        parser.add_argument("--host")
        parser.add_argument("--port", help="sftp: the server's port (default 22).")
        parser.add_argument("--username")
        parser.add_argument(
            "--password", help='sftp: the login\'s password; "-" reads it from stdin.'
        )
        parser.add_argument("--key-file", dest="key_file")
        parser.add_argument("--path")
        parser.add_argument("--host-key", dest="host_key", help='The server key: "TYPE BASE64".')
        parser.add_argument(
            "--every", help="sftp: minutes between runs (default 15; given before: kept)."
        )
        parser.add_argument(
            "--format",
            dest="file_format",
            help="sftp: the file format (default csv; given before: kept).",
        )
        parser.add_argument(
            "--hosted", action="store_true", help="sftp: use the platform's hosted SFTP server."
        )
        parser.add_argument(
            "--updates-path",
            dest="updates_path",
            help='sftp (own server): where update files are dropped (default "updates"; "" off).',
        )
        parser.add_argument(
            "--public-key",
            dest="public_key",
            metavar="FILE.pub",
            help="sftp --hosted: let this SSH public key log in as the supplier.",
        )

    def handle(self, *args, slug, channel, off, **opts):
        supplier = supplier_by_slug_or_error(slug)
        self._refuse_stray_options(channel, off, opts)
        try:
            if off:
                self._off(supplier, channel)
            elif channel == Channel.EMAIL:
                self._email(supplier, opts)
            elif channel == Channel.WEBHOOK:
                self._webhook(supplier, opts)
            else:
                self._sftp(supplier, opts)
        except ValidationError as exc:
            raise command_error(exc)

    def _refuse_stray_options(self, channel, off, opts):
        """An option the command would not use is refused, naming it: `--off --to X` may mean
        "change the addresses", `email --url U` a webhook, `--hosted --host H` a server."""
        given = [
            name
            for names in _CHANNEL_OPTIONS.values()
            for name in names
            if opts[name] is not None and opts[name] is not False
        ]
        if off:
            stray, why = given, "is not used with --off; give one."
        elif channel == Channel.SFTP and opts["hosted"]:
            stray = [name for name in given if name in _OWN_SERVER_OPTIONS]
            why = "is for the supplier's own server, not --hosted."
        else:
            stray = [name for name in given if name not in _CHANNEL_OPTIONS[channel]]
            why = f"is not used with {channel}."
        if stray:
            option = self._option_names()[stray[0]]
            raise CommandError(f"{option}: --{option} {why}")

    def _off(self, supplier, channel):
        destination = destination_disable(supplier=supplier, channel=channel)
        if destination is None:
            # No row was found, so nothing changed: said as a refusal, not as a success.
            raise CommandError(
                f"channel: {supplier.slug} has no {channel} set up; nothing to turn off."
            )
        self.stdout.write(off_said(supplier.slug, channel, destination))
        if destination.pending_cancelled:
            self.stdout.write(
                f"Cancelled {destination.pending_cancelled} pending {channel} deliveries. "
                f"Once it is on again, `redeliver --supplier {supplier.slug} --channel "
                f"{channel} --cancelled-only --since ISO` sends them."
            )
        if supplier_channels_all_off(supplier=supplier):
            self.stdout.write(
                f"Every channel of {supplier.slug} is off: it collects orders by the API alone. "
                "Retailers are still emailed about cancellations."
            )

    def _email(self, supplier, opts):
        if not opts["to"]:
            raise CommandError("to: give --to ADDRESS[,ADDRESS2].")
        destination = destination_set_email(supplier=supplier, addresses=opts["to"])
        self.stdout.write(
            f"{supplier.slug}: order emails go to {destination.email_addresses.replace(',', ', ')}."
        )

    def _webhook(self, supplier, opts):
        if not opts["url"]:
            raise CommandError("url: give --url URL.")
        destination, generated = destination_set_webhook(
            supplier=supplier, url=opts["url"], secret=opts["secret"], event_types=opts["events"]
        )
        self.stdout.write(f"{supplier.slug}: webhook on, POSTing to {destination.webhook_url}.")
        if generated:
            self.stdout.write(
                f"Signing secret (shown once, store it now): {generated}\n"
                "Verify the webhook-signature header with any Standard Webhooks library."
            )

    def _sftp(self, supplier, opts):
        if opts["public_key"] and not opts["hosted"]:
            raise CommandError("public-key: only with --hosted (it logs in to our server).")
        if opts["hosted"]:
            public_key = None
            if opts["public_key"]:
                from delivery.management.commands.sftp_keys import read_public_key_file

                public_key = read_public_key_file(opts["public_key"])
            destination = destination_set_sftp(
                supplier=supplier,
                hosted=True,
                public_key=public_key,
                interval_minutes=opts["every"],
                file_format=opts["file_format"],
            )
        else:
            for name in ("host", "username", "path", "host_key"):
                if not opts[name]:
                    raise CommandError(f"{name}: give --{name.replace('_', '-')}.")
            if bool(opts["password"]) == bool(opts["key_file"]):
                raise CommandError("password: give either --password or --key-file (one).")
            private_key = None
            if opts["key_file"]:
                try:
                    with open(opts["key_file"], encoding="utf-8") as handle:
                        private_key = handle.read()
                except OSError as exc:
                    raise CommandError(f"key-file: cannot read {opts['key_file']}: {exc.strerror}")
                except UnicodeDecodeError:
                    raise CommandError(
                        f"key-file: {opts['key_file']} is not a text (OpenSSH or PEM) private key."
                    ) from None
                text_option(private_key, option="key-file")
            destination = destination_set_sftp(
                supplier=supplier,
                host=opts["host"],
                port="22" if opts["port"] is None else opts["port"],
                username=opts["username"],
                password=opts["password"],
                private_key=private_key,
                path=opts["path"],
                host_key=opts["host_key"],
                updates_path=opts["updates_path"],
                interval_minutes=opts["every"],
                file_format=opts["file_format"],
            )
        if destination.sftp_hosted:
            self.stdout.write(
                f"{supplier.slug}: sftp on (hosted), {destination.sftp_format} files to its "
                f"orders/ folder; it logs in as {supplier.slug!r} to "
                f"{settings.HOSTED_SFTP_ADDRESS}:{settings.HOSTED_SFTP_PORT}."
            )
            return
        self.stdout.write(
            f"{supplier.slug}: sftp on, {destination.sftp_format} files to "
            f"{destination.sftp_username}@{destination.sftp_host}:{destination.sftp_port}"
            f"{destination.sftp_path} every {destination.sftp_interval_minutes} min"
            "."
        )
