from collections.abc import Callable, Iterable, Iterator

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, validation_error_line
from orders.intake import intake_validate
from orders.intake.csv import (
    CsvDocument,
    IntakeCsvError,
    RowsApart,
    csv_documents_streamed,
    documents_from_csv,
)
from orders.intake.json_stream import IntakeJsonError, json_documents
from orders.models import OrderIntake, Retailer
from orders.services import intake_prepare, order_place_from_retailer

# The first pass (every document checked) says how far it is every this many documents.
CHECK_PROGRESS_EVERY = 1000


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
        source = _streamed
        try:
            total = self._check(retailer, _documents(file, source))
        except RowsApart:
            source = _grouped
            total = self._check(retailer, _documents(file, source))
        created = existing = 0
        step = max(1, total // 20)
        # Each order commits on its own, in intake's bounded transaction, as from the API: one
        # transaction round the whole file held every order's created_at back from suppliers'
        # pollers past the settle time, and a poller's window had moved on (found in review).
        # Every document was checked above; a failure after (a race, a lost connection)
        # leaves the orders before it, and running the file again imports the rest (those are
        # "already present": the same reference).
        written = _documents(file, source)
        for index, (payload, explain) in enumerate(_or_changed(written), start=1):
            try:
                result = order_place_from_retailer(
                    retailer=retailer, payload=payload, actor="ops:import"
                )
            except ValidationError as exc:
                raise CommandError(
                    f"order {index}: {explain(exc)} (orders before it are "
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

    def _check(self, retailer, documents: Iterator) -> int:
        """Check every document before anything is written; return how many there are."""
        references = set()
        total = 0
        for index, (payload, explain) in enumerate(documents, start=1):
            try:
                data, _ = intake_prepare(payload=payload)
            except ValidationError as exc:
                data = _present(retailer, payload)
                if data is None:
                    raise CommandError(f"order {index}: {explain(exc)}")
            if data["reference"] in references:
                raise CommandError(f"order {index}: reference '{data['reference']}' appears twice.")
            references.add(data["reference"])
            total = index
            if index % CHECK_PROGRESS_EVERY == 0:
                self.stderr.write(f"  checked {index} orders")
        if not total:
            raise CommandError("file: no orders in it.")
        return total


def _open(file: str):
    # utf-8-sig: a spreadsheet's byte order mark is not part of the first column's name.
    return open(file, encoding="utf-8-sig", newline="")


# A document and how to say in one line what intake refused in it: a CSV's names the file's
# line and column (orders/intake/csv.py), a JSON document's its field's path.
Explained = tuple[dict, Callable[[ValidationError], str]]


def _csv(documents: Iterable[CsvDocument]) -> Iterator[Explained]:
    for document in documents:
        yield document.payload, document.error_line


def _streamed(file: str) -> Iterator[Explained]:
    """The file's documents, read one at a time: memory holds one of them, not the file."""
    with _open(file) as handle:
        if file.lower().endswith(".csv"):
            yield from _csv(csv_documents_streamed(handle))
        else:
            for payload in json_documents(handle):
                yield payload, validation_error_line


def _grouped(file: str) -> Iterator[Explained]:
    """A CSV's documents when the rows of a reference lie apart in it: every row must be read
    before an order is whole, so the file is grouped in memory."""
    with _open(file) as handle:
        text = handle.read()
    yield from _csv(documents_from_csv(text))


def _documents(file: str, source: Callable[[str], Iterator[Explained]]) -> Iterator[Explained]:
    """The source's documents, its faults as one-line CommandErrors (RowsApart passes)."""
    try:
        yield from source(file)
    except (IntakeCsvError, IntakeJsonError) as exc:
        raise CommandError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"file: {file} is not UTF-8 text ({exc.reason}).") from None
    except OSError as exc:
        raise CommandError(f"file: cannot read {file}: {exc}") from None


def _or_changed(documents: Iterator) -> Iterator:
    """The documents of the writing pass: the file was checked whole, so a CSV whose rows lie
    apart now was changed in between."""
    try:
        yield from documents
    except RowsApart:
        raise CommandError(
            "file: it changed while it was imported (orders before the change are in; run "
            "it again)."
        ) from None
