"""`manage.py sftp_keys SLUG [--add FILE.pub] [--remove FINGERPRINT]`: hosted SFTP logins."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from common.cli import ProjectCommand, command_error, supplier_by_slug_or_error
from delivery.hosted.credentials import hosted_key_add, hosted_key_remove, hosted_keys_for


def read_public_key_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"public-key: cannot read {path}: {getattr(exc, 'strerror', exc)}")


class Command(ProjectCommand):
    help = "List a supplier's hosted SFTP keys; --add FILE.pub or --remove FINGERPRINT."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--add", dest="public_key", metavar="FILE.pub")
        parser.add_argument("--remove", metavar="FINGERPRINT")

    def handle(self, *args, slug, public_key, remove, **opts):
        supplier = supplier_by_slug_or_error(slug)
        text = read_public_key_file(public_key) if public_key else None
        said = []
        try:
            # One transaction: a --remove that fails undoes the --add before it.
            with transaction.atomic():
                if text is not None:
                    key = hosted_key_add(supplier=supplier, public_key=text)
                    said.append(f"Added {key.key_type} {key.fingerprint} for {slug}.")
                if remove:
                    hosted_key_remove(supplier=supplier, fingerprint=remove)
                    said.append(f"Removed {remove} for {slug}.")
        except ValidationError as exc:
            raise command_error(exc)
        for line in said:
            self.stdout.write(line)
        keys = hosted_keys_for(supplier)
        if not keys:
            self.stdout.write(f"{slug} has no hosted SFTP keys.")
        for key in keys:
            self.stdout.write(f"{key.key_type} {key.fingerprint} {key.comment}".rstrip())
