from django.core.management.base import CommandError

from common.cli import ProjectCommand, supplier_by_slug_or_error
from suppliers.selectors import api_tokens_for_supplier
from suppliers.services import api_token_revoke


class Command(ProjectCommand):
    help = (
        "Revoke a supplier API token, found by the first characters shown when it was made "
        "(see list_api_tokens). It is refused at once, by every server."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("prefix", help="The token's start, e.g. sup_AbCdEfGh (4+ characters).")

    def handle(self, *args, slug, prefix, **options):
        supplier = supplier_by_slug_or_error(slug)
        prefix = prefix.strip()
        if len(prefix) < 4:
            raise CommandError("prefix: give at least 4 characters of the token.")
        tokens = api_tokens_for_supplier(supplier=supplier)
        # The stored prefix is the token's first 12 characters; the user may give more or less.
        matches = [t for t in tokens if t.prefix.startswith(prefix) or prefix.startswith(t.prefix)]
        if not matches:
            raise CommandError(f"prefix: {supplier.slug} has no token starting '{prefix}'.")
        active = [t for t in matches if t.revoked_at is None]
        if len(active) > 1:
            names = ", ".join(f"{t.prefix} ({t.name or 'unnamed'})" for t in active)
            raise CommandError(f"prefix: '{prefix}' matches several tokens: {names}; give more.")
        if not active:
            token = matches[0]
            self.stdout.write(
                f"Token {token.prefix}… of {supplier.slug} was already revoked at "
                f"{token.revoked_at.isoformat()}; nothing changed."
            )
            return
        token = api_token_revoke(token=active[0])
        self.stdout.write(
            f"Revoked token {token.prefix}… ({token.name or 'unnamed'}) of {supplier.slug}."
        )
