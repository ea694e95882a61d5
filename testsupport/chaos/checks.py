"""After the soak: the ledger (what was asked and answered), the database and what every
receiver got, compared. Each check that fails adds a line to `failures`."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

CANCEL_TYPES = ("order.cancelled", "order.lines_cancelled")


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)  # channel -> figures

    def fail(self, message: str, *, limit: int = 20) -> None:
        if len(self.failures) < limit:
            self.failures.append(message)
        elif len(self.failures) == limit:
            self.failures.append("... (more failures not shown)")


def _signature_ok(secret: str, request) -> bool:
    headers = request.headers
    try:
        stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
        expected = Webhook(secret).sign(headers["webhook-id"], stamp, request.body.decode())
    except (KeyError, ValueError, UnicodeDecodeError):
        return False
    wanted = expected.split(",", 1)[1]
    given = [part.split(",", 1)[-1] for part in headers.get("webhook-signature", "").split()]
    return any(base64.b64decode(g) == base64.b64decode(wanted) for g in given if g)


def check_intake(report: Report, ledger) -> dict[str, list]:
    """Every intake answered 2xx and made exactly one set of orders (one per supplier)."""
    from orders.models import Order

    calls = ledger.of("intake")
    by_reference = defaultdict(list)
    for order in Order.objects.values("retailer__slug", "retailer_reference", "supplier__slug"):
        by_reference[(order["retailer__slug"], order["retailer_reference"])].append(
            order["supplier__slug"]
        )
    unanswered = [c for c in calls if c.unanswered]
    for call in calls:
        if call.status not in (200, 201):
            report.fail(f"intake {call.key}: final answer {call.status} after {call.tries} tries")
            continue
        got = sorted(by_reference.get((call.body["retailer"], call.key), []))
        if got != call.body["suppliers"]:
            report.fail(f"intake {call.key}: orders for {got}, expected {call.body['suppliers']}")
    known = {(c.body["retailer"], c.key) for c in calls}
    extra = [key for key in by_reference if key not in known]
    if extra:
        report.fail(f"{len(extra)} references in the database nobody sent, e.g. {extra[:3]}")
    report.figures.update(
        intakes=len(calls),
        intakes_retried_after_no_answer=len(unanswered),
        intakes_replayed=sum(1 for c in unanswered if c.status == 200),
        orders=sum(len(v) for v in by_reference.values()),
        orders_lost=sum(1 for c in calls if not by_reference.get((c.body["retailer"], c.key))),
    )
    return by_reference


def check_deliveries(report: Report, *, stack, world) -> None:
    """Every row delivered; every identity received at least once; nothing unknown received;
    one identity per (order, event, destination)."""
    from delivery.models import Delivery, DeliveryPurpose, DeliveryStatus
    from orders.models import OrderEvent

    undispatched = OrderEvent.objects.filter(dispatched_at__isnull=True).count()
    if undispatched:
        report.fail(f"{undispatched} order events never dispatched")
    rows = list(
        Delivery.objects.values(
            "identity",
            "channel",
            "status",
            "purpose",
            "last_error",
            "recipient",
            "event__type",
            "event__order__number",
            "event__order__supplier__slug",
            "event_id",
            "destination_id",
        )
    )
    not_sent = [r for r in rows if r["status"] != DeliveryStatus.DELIVERED]
    for row in not_sent[:10]:
        report.fail(
            f"delivery {row['identity']} ({row['channel']}, {row['event__type']}) is "
            f"{row['status']}: {row['last_error'][:160]}"
        )
    if len(not_sent) > 10:
        report.fail(f"{len(not_sent)} deliveries not delivered in all")
    notices = [r for r in rows if r["purpose"] == DeliveryPurpose.FAILURE_NOTICE]
    if notices:
        report.fail(f"{len(notices)} failure notices sent (a delivery failed for good)")
    by_channel = defaultdict(list)
    for row in rows:
        by_channel[row["channel"]].append(row)

    # Webhooks: signature, identity known, one identity per (path, event).
    requests = list(stack.receiver.requests)
    expected = {r["identity"] for r in by_channel["webhook"]}
    seen = Counter()
    identities_per_event = defaultdict(set)
    bad_signatures = 0
    for request in requests:
        secret = world.secret_for_path(request.path)
        if secret is None or not _signature_ok(secret, request):
            bad_signatures += 1
            continue
        msg_id = request.headers["webhook-id"]
        seen[msg_id] += 1
        body = json.loads(request.body)
        key = (request.path, body["type"], body["data"]["number"], body["timestamp"])
        identities_per_event[key].add(msg_id)
    if bad_signatures:
        report.fail(f"{bad_signatures} webhook requests with a bad or missing signature")
    _compare(report, "webhook", expected=expected, seen=seen)
    doubled = [k for k, ids in identities_per_event.items() if len(ids) > 1]
    if doubled:
        report.fail(f"{len(doubled)} webhook events arrived with two identities, e.g. {doubled[0]}")

    # Email: Message-IDs.
    with stack.smtp.lock:
        messages = list(stack.smtp.messages)
    seen_mail = Counter(m.message_id for m in messages)
    _compare(report, "email", expected={r["identity"] for r in by_channel["email"]}, seen=seen_mail)

    # SFTP: one file per order, named by its identity, in the supplier's folder.
    files = {}
    for slug, setup in world.suppliers.items():
        if setup.orders_dir is not None:
            names = [p.name for p in setup.orders_dir.iterdir() if p.is_file()]
            files[slug] = {n for n in names if not n.startswith(".")}
            leftovers = [n for n in names if n.startswith(".")]
            report.figures[f"sftp_temp_leftovers_{slug}"] = len(leftovers)
    seen_files = Counter()
    for names in files.values():
        for name in names:
            seen_files[name] += 1
    _compare(report, "sftp", expected={r["identity"] for r in by_channel["sftp"]}, seen=seen_files)
    for row in by_channel["sftp"]:
        slug = row["event__order__supplier__slug"]
        if row["identity"] not in files.get(slug, set()):
            report.fail(f"file {row['identity']} is not in {slug}'s folder")

    # Every cancellation: exactly one retailer email identity, received.
    cancel_mail = defaultdict(set)
    for row in by_channel["email"]:
        if row["purpose"] == DeliveryPurpose.RETAILER_CANCELLATION:
            cancel_mail[row["event_id"]].add(row["identity"])
    cancel_events = OrderEvent.objects.filter(type__in=CANCEL_TYPES).values_list("pk", flat=True)
    for event_id in cancel_events:
        ids = cancel_mail.get(event_id, set())
        if len(ids) != 1 or not all(seen_mail[i] for i in ids):
            report.fail(f"cancellation event {event_id}: retailer email identities {sorted(ids)}")
    report.figures["cancellations"] = len(cancel_events)
    report.figures["cancellation_emails"] = sum(1 for e in cancel_events if cancel_mail.get(e))

    # Every order reached every channel of its supplier (order.created).
    created = defaultdict(set)
    for row in rows:
        if row["event__type"] == "order.created" and row["purpose"] == "supplier_order":
            created[row["event__order__number"]].add(row["channel"])
    wanted = {"alpha": {"email", "webhook", "sftp"}, "beta": {"email", "webhook", "sftp"}}
    from orders.models import Order

    for number, slug in Order.objects.values_list("number", "supplier__slug"):
        need = wanted.get(slug, {"email", "webhook"})
        if created.get(number, set()) != need:
            report.fail(f"order {number} of {slug}: order.created went to {created.get(number)}")


def _compare(report: Report, channel: str, *, expected: set, seen: Counter) -> None:
    missing = expected - set(seen)
    unknown = set(seen) - expected
    if missing:
        report.fail(
            f"{channel}: {len(missing)} identities never received, e.g. {sorted(missing)[:3]}"
        )
    if unknown:
        report.fail(
            f"{channel}: {len(unknown)} identities received that no row has: {sorted(unknown)[:3]}"
        )
    report.channels[channel] = {
        "rows": len(expected),
        "received": sum(seen.values()),
        "identities": len(set(seen)),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
    }


def check_updates(report: Report, *, ledger, world) -> None:
    """API updates applied once (Idempotency-Key); each update file applied once, answered once."""
    from orders.models import Cancellation, Order, OrderEvent, Shipment, UpdateFile

    api = [c for c in ledger.calls if c.kind in ("acknowledge", "cancel", "ship")]
    for call in api:
        if call.status not in (200, 201):
            report.fail(f"{call.kind} of {call.number}: final answer {call.status}")
        if call.echo is not None and (call.echo != call.status or not call.echo_replayed):
            report.fail(f"{call.kind} of {call.number}: the same key again answered {call.echo}")
    cancels = Counter(c.number for c in api if c.kind == "cancel" and c.status in (200, 201))
    ships = Counter(c.number for c in api if c.kind == "ship" and c.status in (200, 201))
    for sent in ledger.files:
        for number in sent.numbers:
            ships[number] += 1
    numbers = set(ledger.orders)
    got_cancels = Counter(
        Cancellation.objects.filter(order__number__in=numbers).values_list(
            "order__number", flat=True
        )
    )
    got_ships = Counter(
        Shipment.objects.filter(order__number__in=numbers).values_list("order__number", flat=True)
    )
    for number in numbers:
        if got_cancels[number] != cancels[number]:
            report.fail(
                f"order {number}: {got_cancels[number]} cancellations, sent {cancels[number]}"
            )
        if got_ships[number] != ships[number]:
            report.fail(f"order {number}: {got_ships[number]} shipments, sent {ships[number]}")
    acks = Counter(
        OrderEvent.objects.filter(type="order.acknowledged").values_list("order__number", flat=True)
    )
    twice = [n for n, count in acks.items() if count > 1]
    if twice:
        report.fail(f"{len(twice)} orders acknowledged twice, e.g. {twice[:3]}")
    if Order.objects.filter(acknowledged_at__isnull=True, number__in=ships).exists():
        report.fail("a shipped order is not acknowledged")
    unannounced = set(
        Order.objects.filter(acknowledged_at__isnull=False, number__in=numbers).values_list(
            "number", flat=True
        )
    ) - set(acks)
    if unannounced:
        report.fail(
            f"{len(unannounced)} acknowledged orders have no order.acknowledged event, "
            f"e.g. {sorted(unannounced)[:3]}"
        )

    answered_again = 0
    for sent in ledger.files:
        setup = world.suppliers[sent.supplier]
        folder = setup.updates_dir
        if not sent.done:
            report.fail(f"update file {sent.name} could not be uploaded in {sent.tries} tries")
            continue
        name, stem = sent.name, sent.name.removesuffix(".csv")
        results = _names(folder / "results", {f"{name}.results.csv"}.__contains__)
        processed = _names(
            folder / "processed",
            lambda n, name=name, stem=stem: n == name or n.startswith(stem + "."),
        )
        if results != [f"{sent.name}.results.csv"]:
            report.fail(f"update file {sent.name}: result files {results}")
            continue
        if len(processed) != 1 or (folder / sent.name).exists():
            report.fail(
                f"update file {sent.name}: processed {processed}, left in updates/: "
                f"{(folder / sent.name).exists()}"
            )
        rows = list(csv.DictReader(io.StringIO((folder / "results" / results[0]).read_text())))
        outcomes = Counter(r.get("result") for r in rows)
        if rows and all("already applied" in r.get("message", "") for r in rows):
            # The run that applied it was cut before it answered (sshd stopped, worker
            # killed): the next run replays the answer, "already applied". Applied once all
            # the same (the shipment counts above), and every row says it was applied.
            answered_again += 1
        if set(outcomes) != {"applied"}:
            report.fail(f"update file {sent.name}: results {dict(outcomes)}")
        count = UpdateFile.objects.filter(supplier__slug=sent.supplier, name=sent.name).count()
        if count != 1:
            report.fail(f"update file {sent.name}: {count} UpdateFile rows")
    report.figures.update(
        api_updates=len(api),
        api_updates_retried_after_no_answer=sum(1 for c in api if c.unanswered),
        api_same_key_resent=sum(1 for c in api if c.echo is not None),
        update_files=len(ledger.files),
        update_files_answered_already_applied=answered_again,
    )


def _names(folder, keep) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if keep(p.name)) if folder.exists() else []


def checks_run(*, stack, world, ledger) -> Report:
    report = Report()
    down = stack.all_running()
    for name in down:
        tail = stack.processes[name].log_tail(1500).replace("\n", "\n      ")
        report.fail(f"process {name} is not running at the end; its log ends:\n      {tail}")
    check_intake(report, ledger)
    check_deliveries(report, stack=stack, world=world)
    check_updates(report, ledger=ledger, world=world)
    return report
