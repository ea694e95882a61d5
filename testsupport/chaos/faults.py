"""The chaos loop: seeded, logged, one fault at a time for a random while, then healed, and
the time until the backlog from before the healing is drained is measured."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from testsupport.http import Answer

from .stack import WEBHOOK_TIMEOUT_SECONDS

KINDS = (
    "kill_worker",
    "kill_dispatcher",
    "kill_beat",
    "redis_restart_empty",
    "postgres_restart",
    "smtp_down",
    "receiver_500",
    "receiver_hang",
    "sshd_down",
    "gunicorn_restart",
)
CATCH_UP_BOUND = 240.0


@dataclass
class FaultRun:
    kind: str
    target: str
    started: float  # time.time()
    duration: float
    healed: float = 0.0
    catch_up: float | None = None  # seconds from healing to the backlog drained
    notes: list[str] = field(default_factory=list)


def inject(stack, kind: str, rng: random.Random) -> tuple[str, callable]:
    """Start the fault; return what it hit and the function that heals it."""
    processes = stack.processes
    if kind == "kill_worker":
        name = rng.choice(["worker-1", "worker-2"])
        processes[name].kill()
        return name, lambda: processes[name].start(timeout=120)
    if kind in ("kill_dispatcher", "kill_beat"):
        name = kind.removeprefix("kill_")
        processes[name].kill()
        return name, lambda: processes[name].start(timeout=120)
    if kind == "redis_restart_empty":
        stack.redis.stop()  # no persistence: it comes back empty, every queued task gone
        return "redis", stack.redis.start
    if kind == "postgres_restart":
        stack.postgres.stop(mode="immediate")
        return "postgres", stack.postgres.start
    if kind == "smtp_down":
        stack.smtp.stop()
        return "smtp", stack.smtp.start
    if kind == "receiver_500":
        stack.receiver.default = Answer(status=500, body=b"down")
        return "receiver", _receiver_heal(stack)
    if kind == "receiver_hang":
        stack.receiver.default = Answer(status=200, delay=WEBHOOK_TIMEOUT_SECONDS + 2)
        return "receiver", _receiver_heal(stack)
    if kind == "sshd_down":
        stack.sshd.stop()
        port = stack.sshd.port
        return "sshd", lambda: stack.sshd.start(port=port)
    if kind == "gunicorn_restart":
        processes["gunicorn"].kill()
        return "gunicorn", lambda: processes["gunicorn"].start(timeout=120)
    raise ValueError(kind)


def _receiver_heal(stack):
    def heal() -> None:
        stack.receiver.default = Answer()

    return heal


def backlog(*, before, scheduled: bool) -> int:
    """Events committed before `before` not dispatched, plus their deliveries not sent (the
    interval-sent SFTP rows only when `scheduled`)."""
    from delivery.channels import channels_where
    from delivery.models import Delivery, DeliveryStatus
    from orders.models import OrderEvent

    events = OrderEvent.objects.filter(created_at__lte=before, dispatched_at__isnull=True).count()
    rows = Delivery.objects.filter(event__created_at__lte=before, status=DeliveryStatus.PENDING)
    if not scheduled:
        rows = rows.exclude(channel__in=channels_where(scheduled=True))
    return events + rows.count()


def quiet(*, ledger) -> bool:
    """Nothing left to do: every update file sent has its result file, no event waits for
    the dispatcher and no delivery is pending (the load has stopped)."""
    from delivery.models import Delivery, DeliveryStatus
    from orders.models import OrderEvent

    for sent in ledger.files:
        if not (sent.folder / "results" / f"{sent.name}.results.csv").exists():
            return False
    if OrderEvent.objects.filter(dispatched_at__isnull=True).exists():
        return False
    return not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()


def settled_after(*, ledger, bound: float, quiet_for: float = 3.0) -> float | None:
    """Seconds until the system is quiet and stays so for `quiet_for` (None: not in `bound`)."""
    from django.db import close_old_connections, connection
    from django.db.utils import DatabaseError

    started = time.monotonic()
    quiet_since = None
    while time.monotonic() - started < bound:
        try:
            close_old_connections()
            if quiet(ledger=ledger):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_for:
                    return quiet_since - started
            else:
                quiet_since = None
        except DatabaseError:
            connection.close()
        time.sleep(0.25)
    return None


def drained_after(*, before, scheduled: bool, bound: float) -> float | None:
    """Seconds until the backlog from before `before` is empty (None: not within `bound`)."""
    from django.db import close_old_connections
    from django.db.utils import DatabaseError

    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            close_old_connections()
            if backlog(before=before, scheduled=scheduled) == 0:
                return time.monotonic() - started
        except DatabaseError:
            from django.db import connection

            connection.close()
        time.sleep(0.25)
    return None


class ChaosLoop:
    """Every kind once per round, in a seeded order; a random while each.

    After healing, the loop waits up to `catch_up_wait` seconds for the backlog from before
    the healing to drain; a fault whose backlog takes longer goes on being timed in the
    background (up to CATCH_UP_BOUND) while the next fault starts.
    """

    def __init__(
        self,
        *,
        stack,
        seed: int,
        log,
        min_fault: float,
        max_fault: float,
        gap: float,
        catch_up_wait: float = CATCH_UP_BOUND,
    ):
        self.stack = stack
        self.rng = random.Random(seed)
        self.log = log
        self.min_fault, self.max_fault, self.gap = min_fault, max_fault, gap
        self.catch_up_wait = catch_up_wait
        self.runs: list[FaultRun] = []
        self.kinds: list[str] = []
        self.timers: list[threading.Thread] = []

    def next_kind(self) -> str:
        if not self.kinds:
            self.kinds = list(KINDS)
            self.rng.shuffle(self.kinds)
        return self.kinds.pop()

    def run(self, *, until: float, min_faults: int = 0) -> None:
        """Inject faults until `until` (monotonic), and at least `min_faults` of them."""
        while time.monotonic() < until or len(self.runs) < min_faults:
            self.one(self.next_kind())
            time.sleep(self.rng.uniform(0.5, self.gap))

    def join(self) -> None:
        """Wait for the catch-up times still being measured."""
        for timer in self.timers:
            timer.join(timeout=CATCH_UP_BOUND + 30)

    def one(self, kind: str) -> FaultRun:
        from django.utils import timezone

        duration = round(self.rng.uniform(self.min_fault, self.max_fault), 1)
        with self.stack.lock:  # not while the supervisor restarts something
            target, heal = inject(self.stack, kind, self.rng)
        run = FaultRun(kind=kind, target=target, started=time.time(), duration=duration)
        self.runs.append(run)
        self.log(f"fault {len(self.runs)}: {kind} ({target}) for {duration} s")
        time.sleep(duration)
        with self.stack.lock:
            heal()
        run.healed = time.time()
        healed_at = timezone.now()
        scheduled = kind == "sshd_down"
        done = threading.Event()

        def measure() -> None:
            from django.db import connection

            try:
                run.catch_up = drained_after(
                    before=healed_at, scheduled=scheduled, bound=CATCH_UP_BOUND
                )
                shown = "not drained" if run.catch_up is None else f"{run.catch_up:.1f} s"
                self.log(f"healed {kind} ({target}); backlog from before drained in {shown}")
            finally:
                connection.close()
                done.set()

        timer = threading.Thread(target=measure, daemon=True)
        timer.start()
        self.timers.append(timer)
        done.wait(self.catch_up_wait)
        return run
