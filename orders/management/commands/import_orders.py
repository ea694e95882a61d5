import csv
import io
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.cli import validation_error_line
from orders.models import Retailer
from orders.services import intake_prepare, order_place_from_retailer

CSV_COLUMNS = [
    "reference",
    "placed_at",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postcode",
    "ship_country",
    "sku",
    "quantity",
]


def payloads_from_csv(text: str) -> list[dict]:
    """One intake document per reference; one CSV row per line, header row required."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CommandError(f"file: CSV header lacks column(s) {', '.join(missing)}.")
    documents: dict[str, dict] = {}
    for row_number, row in enumerate(reader, start=2):
        reference = (row["reference"] or "").strip()
        if not reference:
            raise CommandError(f"line {row_number}: reference is empty.")
        try:
            quantity = int(row["quantity"])
        except (TypeError, ValueError):
            raise CommandError(
                f"line {row_number}: quantity '{row['quantity']}' is not a whole number."
            )
        document = documents.setdefault(
            reference,
            {
                "reference": reference,
                "customer": {
                    "name": row["customer_name"],
                    "email": row["customer_email"],
                    "phone": row["customer_phone"],
                },
                "shipping_address": {
                    "name": row["ship_name"],
                    "line1": row["ship_line1"],
                    "line2": row["ship_line2"],
                    "city": row["ship_city"],
                    "region": row["ship_region"],
                    "postcode": row["ship_postcode"],
                    "country": row["ship_country"],
                },
                "lines": [],
            },
        )
        if row["placed_at"]:
            document["placed_at"] = row["placed_at"]
        document["lines"].append({"sku": row["sku"], "quantity": quantity})
    return list(documents.values())


class Command(BaseCommand):
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
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"file: cannot read {file}: {exc}")
        if file.lower().endswith(".csv"):
            payloads = payloads_from_csv(text)
        else:
            try:
                payloads = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"file: not valid JSON ({exc.msg} at line {exc.lineno}).")
            if not isinstance(payloads, list):
                raise CommandError("file: the JSON must be a list of order documents.")
        if not payloads:
            raise CommandError("file: no orders in it.")
        references = set()
        for index, payload in enumerate(payloads):
            try:
                data, _ = intake_prepare(payload=payload)
            except ValidationError as exc:
                raise CommandError(f"order {index + 1}: {validation_error_line(exc)}")
            if data["reference"] in references:
                raise CommandError(
                    f"order {index + 1}: reference '{data['reference']}' appears twice."
                )
            references.add(data["reference"])
        created = existing = 0
        total = len(payloads)
        step = max(1, total // 20)
        # All or nothing: a failure after the checks above (a race, a lost connection) leaves
        # no half-imported file behind.
        with transaction.atomic():
            for index, payload in enumerate(payloads, start=1):
                try:
                    result = order_place_from_retailer(
                        retailer=retailer, payload=payload, actor="ops:import"
                    )
                except ValidationError as exc:
                    raise CommandError(f"order {index}: {validation_error_line(exc)}")
                created += result.created
                existing += not result.created
                if index % step == 0 or index == total:
                    self.stderr.write(f"  {index}/{total} ({100 * index // total}%)")
        self.stdout.write(
            f"{retailer.slug}: {created} orders imported, "
            f"{existing} already present (same reference)."
        )
