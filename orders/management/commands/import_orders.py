import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, validation_error_line
from orders.intake import intake_validate
from orders.intake.csv import IntakeCsvError, payloads_from_csv
from orders.models import OrderIntake, Retailer
from orders.services import intake_prepare, order_place_from_retailer


def _present(retailer, payload) -> dict | None:
    """The document, when its reference is in already: it counts as present, as the API
    answers a repeat with its first orders, whatever the catalogue says now (found in review:
    running a file again after a product was withdrawn refused all of it, the orders that
    never got in included). None otherwise."""
    try:
        data = intake_validate(payload=payload)
    except ValidationError:
        return None
    if OrderIntake.objects.filter(retailer=retailer, reference=data["reference"]).exists():
        return data
    return None


class Command(ProjectCommand):
    help = (
        "Import a retailer's orders from the intake JSON (a list of documents) or CSV. "
        "Same rules as the API; every document is checked before anything is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("retailer_slug")
        parser.add_argument("file")

    def handle(self, *args, retailer_slug, file, **options):
        retailer = Retailer.objects.filter(slug=retailer_slug).first()
        if retailer is None:
            raise CommandError(f"retailer_slug: no retailer '{retailer_slug}'.")
        if not retailer.is_active:
            # As the API refuses its key (found in review: the command placed the orders).
            raise CommandError(f"retailer_slug: retailer '{retailer_slug}' is inactive.")
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"file: cannot read {file}: {exc}")
        if file.lower().endswith(".csv"):
            try:
                payloads = payloads_from_csv(text)
            except IntakeCsvError as exc:
                raise CommandError(str(exc))
        else:
            try:
                payloads = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"file: not valid JSON ({exc.msg} at line {exc.lineno}).")
            except ValueError as exc:  # a number past Python's digit limit, say
                raise CommandError(f"file: not valid JSON ({exc}).")
            except RecursionError:
                raise CommandError("file: not valid JSON (nested too deeply).")
            if not isinstance(payloads, list):
                raise CommandError("file: the JSON must be a list of order documents.")
        if not payloads:
            raise CommandError("file: no orders in it.")
        references = set()
        for index, payload in enumerate(payloads):
            try:
                data, _ = intake_prepare(payload=payload)
            except ValidationError as exc:
                data = _present(retailer, payload)
                if data is None:
                    raise CommandError(f"order {index + 1}: {validation_error_line(exc)}")
            if data["reference"] in references:
                raise CommandError(
                    f"order {index + 1}: reference '{data['reference']}' appears twice."
                )
            references.add(data["reference"])
        created = existing = 0
        total = len(payloads)
        step = max(1, total // 20)
        # Each order commits on its own, in intake's bounded transaction, as from the API: one
        # transaction round the whole file held every order's created_at back from suppliers'
        # pollers past the settle time, and a poller's window had moved on (found in review).
        # Every document was checked above; a failure after (a race, a lost connection)
        # leaves the orders before it, and running the file again imports the rest (those are
        # "already present": the same reference).
        for index, payload in enumerate(payloads, start=1):
            try:
                result = order_place_from_retailer(
                    retailer=retailer, payload=payload, actor="ops:import"
                )
            except ValidationError as exc:
                raise CommandError(
                    f"order {index}: {validation_error_line(exc)} (orders before it are "
                    "imported; run the file again once it is fixed)"
                )
            created += result.created
            existing += not result.created
            if index % step == 0 or index == total:
                self.stderr.write(f"  {index}/{total} ({100 * index // total}%)")
        self.stdout.write(
            f"{retailer.slug}: {created} orders imported, "
            f"{existing} already present (same reference)."
        )
