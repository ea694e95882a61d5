"""Claims: a worker's lease on delivery rows, taken by one conditional UPDATE and given back.

Sending (sending.py) and recovery (recovery.py) both pick rows through these conditions, so
"whose row is this" is answered in one place.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, F, Q, When, prefetch_related_objects
from django.utils import timezone

from orders.models import OrderLine

from ..channels import channels_where
from ..db import bookkeeping_atomic
from ..models import Delivery, DeliveryStatus


def claimable_now(now) -> Q:
    return Q(status=DeliveryStatus.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


# A row whose next try is within this is due now.
DUE_SLACK = timedelta(seconds=1)


def due_now(now) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + DUE_SLACK)


def waiting_on_retry(now) -> Q:
    """Not `due_now`: the row waits on a later try of its schedule."""
    return Q(next_attempt_at__gt=now + DUE_SLACK)


# The last error of a row tried early because its destination answered again and that failed
# too: such a row waits for its own next try (it is not taken early twice in a row).
EARLY_FAILED_PREFIX = "(tried early, its destination having answered again) "


def waiting_after_healing(now) -> Q:
    """Rows waiting on a retry that may go early now that their destination answered: their
    last try failed at least DELIVERY_HEALED_MIN_WAIT_SECONDS ago, and it was not itself such
    an early try (so a row the receiver refuses for its own content, while taking the
    others, gets at most one early try per try of its schedule)."""
    wait = timedelta(seconds=settings.DELIVERY_HEALED_MIN_WAIT_SECONDS)
    return (
        waiting_on_retry(now)
        & Q(updated_at__lte=now - wait)
        & ~Q(last_error__startswith=EARLY_FAILED_PREFIX)
    )


def deliveries_claim(
    *,
    delivery_ids: list[int] | None = None,
    destination_id: int | None = None,
    limit: int = 0,
    lease_seconds: float | None = None,
    due_only: bool = False,
    healed: bool = False,
):
    """Take a lease on rows by one conditional UPDATE; return (token, rows won).

    The rows are `delivery_ids`, or up to `limit` due rows of one destination (with
    `healed`, also its rows waiting on a retry, `waiting_after_healing`: the destination has
    just taken a delivery, so they need not wait out their backoff; such an early try is not
    counted in `attempt_count`, the row keeps its place in the schedule, and it comes back
    with `early` set). The lease end
    is the token: a row is ours while its claimed_until equals it. A worker killed mid-send
    lets it lapse; a worker that outlived its lease finds the token changed and records its
    attempt without moving the row. The rows come back with their order and its lines
    loaded, so a channel needs no further query to render them (rows of another source, e.g.
    a monthly summary, are loaded by their renderer's `prepare`, once per batch).
    """
    now = timezone.now()
    token = now + timedelta(seconds=lease_seconds or settings.DELIVERY_CLAIM_SECONDS)
    if destination_id is not None:
        scope = Q(destination_id=destination_id, channel__in=channels_where(batched=True))
        when = due_now(now) | waiting_after_healing(now) if healed else due_now(now)
        picked = (
            Delivery.objects.filter(claimable_now(now), when, scope)
            .order_by("next_attempt_at", "pk")
            .values("pk")[:limit]
        )
        wanted = Q(pk__in=picked)
    else:
        wanted = scope = Q(pk__in=delivery_ids or [])
    claimable = Delivery.objects.filter(claimable_now(now)).filter(wanted)
    if due_only:
        claimable = claimable.filter(due_now(now))
    counted = F("attempt_count") + 1
    if healed:
        counted = Case(When(waiting_on_retry(now), then=F("attempt_count")), default=counted)
    with bookkeeping_atomic():
        won = claimable.update(attempt_count=counted, claimed_until=token, updated_at=now)
    if not won:
        return token, []
    rows = list(
        Delivery.objects.select_related(
            "destination",
            "event__order__supplier",
            "event__order__retailer",
        )
        .filter(claimed_until=token, status=DeliveryStatus.PENDING)
        .filter(scope)
        .order_by(*(["pk"] if won > 1 else []))
    )
    for row in rows:
        row.early = (  # waiting_on_retry, read off the row as claimed
            healed and row.next_attempt_at is not None and row.next_attempt_at > now + DUE_SLACK
        )
    _attach_order_lines(rows)
    return token, rows


def _attach_order_lines(deliveries: list[Delivery]) -> None:
    """Load the lines of every delivery's order in one query (a lean prefetch), and their
    cancellations and shipments with their lines (the document's; four queries a batch)."""
    orders = {d.event.order_id: d.event.order for d in deliveries if d.event_id is not None}
    if not orders:
        return
    lines: dict[int, list[OrderLine]] = {pk: [] for pk in orders}
    for line in OrderLine.objects.filter(order_id__in=list(orders)).order_by("order_id", "line_no"):
        lines[line.order_id].append(line)
    for pk, order in orders.items():
        order._prefetched_objects_cache = {"lines": _lines_queryset(order, lines[pk])}
    prefetch_related_objects(list(orders.values()), "cancellations__lines", "shipments__lines")


def _lines_queryset(order, lines: list[OrderLine]):
    """A lines manager result that `order.lines.all()` serves from memory."""
    queryset = order.lines.all()
    queryset._result_cache = lines
    queryset._prefetch_done = True
    return queryset


def deliveries_release(*, deliveries: list[Delivery], token) -> None:
    """Give claimed rows back untried: no attempt is counted, the sweeper queues them.

    The claim counted a try for each row but the early ones (`early`: taken along before
    their next try, not counted), so only the others get one taken back. Taking one back
    from an early row too made its count drift below the tries it had used, and at 0 the
    release broke the count's check constraint (found in review).
    """
    early = [d.pk for d in deliveries if getattr(d, "early", False)]
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], claimed_until=token, status=DeliveryStatus.PENDING
    ).update(
        claimed_until=None,
        attempt_count=Case(
            When(pk__in=early, then=F("attempt_count")), default=F("attempt_count") - 1
        ),
        queued_at=None,
        updated_at=timezone.now(),
    )
