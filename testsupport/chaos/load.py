"""Steady load: orders from every retailer, updates from every supplier, every answer kept.

A request that got no answer (connection refused or reset, timeout) or a 5xx/429 is sent
again, the same body with the same reference or `Idempotency-Key`, until it is answered.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from testsupport.sshd import SFTP_CANDIDATES, _resolve

RETRYABLE = {429, 500, 502, 503, 504}
REQUEST_TIMEOUT = 10


@dataclass
class Call:
    """One logical request and every try of it."""

    kind: str  # intake, acknowledge, cancel, ship
    key: str  # reference, or Idempotency-Key
    supplier: str = ""
    number: str = ""
    tries: int = 0
    unanswered: int = 0  # tries with no answer at all
    status: int | None = None  # the final answer's status
    replayed: bool = False  # the final answer said Idempotent-Replayed
    body: dict = field(default_factory=dict)
    answered_at: float = 0.0
    echo: int | None = None  # a deliberate second send with the same key: its status
    echo_replayed: bool = False
    errors: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), 5xx/429)


@dataclass
class UpdateFileSent:
    supplier: str
    name: str
    numbers: list[str]
    folder: Path  # the supplier's updates folder (results/ is in it)
    tries: int = 0
    done: bool = False


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.files: list[UpdateFileSent] = []
        self.orders: dict[str, tuple[str, str]] = {}  # number -> (supplier, reference)
        self.lines: dict[str, int] = {}  # number -> line count
        self.pending_updates: list[str] = []  # numbers waiting for an update

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def of(self, kind: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.kind == kind]


def send_until_answered(session, method, url, *, call: Call, deadline: float, **kwargs):
    """Try until an answer that is not a retryable failure, or the deadline."""
    while True:
        call.tries += 1
        try:
            response = session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
        except requests.RequestException:
            call.unanswered += 1
            response = None
        if response is not None and response.status_code in RETRYABLE:
            call.errors.append((time.time(), response.status_code))
        if response is not None and response.status_code not in RETRYABLE:
            call.status = response.status_code
            call.replayed = response.headers.get("Idempotent-Replayed") == "true"
            call.answered_at = time.time()
            return response
        if time.monotonic() > deadline:
            call.status = response.status_code if response is not None else None
            return response
        time.sleep(0.5)


class Load:
    """Intake threads and one updates thread; `stop()` ends the sending, not the retrying."""

    def __init__(self, *, world, web_url: str, hosted_port: int, rate: float, seed: int, log):
        self.world = world
        self.web_url = web_url
        self.hosted_port = hosted_port
        self.rate = rate
        self.rng = random.Random(seed + 1)
        self.log = log
        self.ledger = Ledger()
        self.stopping = threading.Event()
        self.retry_deadline = float("inf")
        self.threads: list[threading.Thread] = []
        self.counter = itertools.count(1)
        self.file_counter = itertools.count(1)
        self.sftp = _resolve(SFTP_CANDIDATES)
        self.errors: list[str] = []

    # --- intake ------------------------------------------------------------------------

    def _intake_loop(self, index: int, threads: int) -> None:
        session = requests.Session()
        rng = random.Random(self.rng.random())
        interval = threads / self.rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            self._intake_one(session, rng)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stopping.wait(delay)
            else:
                next_at = time.monotonic()

    def _intake_one(self, session, rng) -> None:
        retailer = self.world.retailers[rng.choice(sorted(self.world.retailers))]
        suppliers = rng.sample(sorted(self.world.suppliers), rng.randint(1, 3))
        lines = []
        for slug in suppliers:
            skus = self.world.suppliers[slug].skus
            for sku in rng.sample(skus, rng.randint(1, len(skus))):
                lines.append({"sku": sku, "quantity": 2})
        reference = f"{retailer.slug}-{next(self.counter)}-{uuid.uuid4().hex[:6]}"
        payload = {
            "reference": reference,
            "customer": {"name": "Ann Lee", "email": "ann@example.com", "phone": ""},
            "shipping_address": {
                "name": "Ann Lee",
                "line1": "1 High St",
                "city": "Leeds",
                "postcode": "LS1 1AA",
                "country": "GB",
            },
            "lines": lines,
        }
        call = Call(kind="intake", key=reference, body={"retailer": retailer.slug, "lines": lines})
        call.body["suppliers"] = sorted(suppliers)
        self.ledger.add(call)
        response = send_until_answered(
            session,
            "POST",
            f"{self.web_url}/api/v1/retailer/orders",
            call=call,
            deadline=self.retry_deadline,
            json=payload,
            headers={"Authorization": f"Bearer {retailer.key}"},
        )
        if response is None or response.status_code not in (200, 201):
            return
        with self.ledger.lock:
            for order in response.json()["orders"]:
                slug = order["supplier"]
                self.ledger.orders[order["number"]] = (slug, reference)
                self.ledger.lines[order["number"]] = len(order["lines"])
                self.ledger.pending_updates.append(order["number"])

    # --- supplier updates --------------------------------------------------------------

    def _updates_loop(self) -> None:
        session = requests.Session()
        rng = random.Random(self.rng.random())
        batches: dict[str, list[str]] = {"alpha": [], "beta": []}
        while not self.stopping.is_set():
            self.stopping.wait(0.3)
            with self.ledger.lock:
                if not self.ledger.pending_updates:
                    continue
                number = self.ledger.pending_updates.pop(0)
                slug = self.ledger.orders[number][0]
                line_count = self.ledger.lines[number]
            roll = rng.random()
            if slug == "alpha" and roll < 0.25 or slug == "beta" and roll < 0.5:
                batches[slug].append(number)
                if len(batches[slug]) >= 3:
                    self._update_file(slug, batches[slug])
                    batches[slug] = []
            elif slug == "alpha":
                self._api(session, rng, slug, number, "acknowledge")
                self._api(session, rng, slug, number, "cancel", lines=[{"line": 1, "quantity": 1}])
            elif slug == "beta":
                self._api(session, rng, slug, number, "cancel")  # every open unit
            else:
                self._api(session, rng, slug, number, "ship", lines=[{"line": 1, "quantity": 2}])
                if line_count > 1:
                    self._api(
                        session,
                        rng,
                        slug,
                        number,
                        "ship",
                        lines=[{"line": line_count, "quantity": 2}],
                    )
        for slug, numbers in batches.items():
            if numbers:
                self._update_file(slug, numbers)

    def _api(self, session, rng, slug, number, action, *, lines=None) -> None:
        supplier = self.world.suppliers[slug]
        path = {"acknowledge": "acknowledgement", "cancel": "cancellation", "ship": "shipments"}
        body: dict = {}
        if action == "cancel":
            body = {"reason": "out_of_stock", "note": "Short this week"}
        elif action == "ship":
            body = {"carrier": "UPS", "tracking_number": f"1Z{uuid.uuid4().hex[:10]}"}
        if lines is not None:
            body["lines"] = lines
        call = Call(kind=action, key=uuid.uuid4().hex, supplier=slug, number=number, body=body)
        self.ledger.add(call)
        url = f"{self.web_url}/api/v1/orders/{number}/{path[action]}"
        headers = {"Authorization": f"Bearer {supplier.token}", "Idempotency-Key": call.key}
        send_until_answered(
            session,
            "POST",
            url,
            call=call,
            deadline=self.retry_deadline,
            json=body,
            headers=headers,
        )
        if rng.random() < 0.2 and call.status is not None and call.status < 300:
            # A client that retries although it was answered: the first answer, nothing applied.
            echo = Call(kind="echo", key=call.key)
            again = send_until_answered(
                session,
                "POST",
                url,
                call=echo,
                deadline=self.retry_deadline,
                json=body,
                headers=headers,
            )
            call.echo = again.status_code if again is not None else None
            call.echo_replayed = echo.replayed

    def _update_file(self, slug: str, numbers: list[str]) -> None:
        name = f"soak-{slug}-{next(self.file_counter)}.csv"
        rows = ["order_number,action,line,quantity,reason,note,carrier,tracking_number"]
        for number in numbers:
            rows.append(f"{number},acknowledge,,,,,,")
            rows.append(f"{number},ship,1,,,,DHL,F{uuid.uuid4().hex[:10]}")
        content = ("\n".join(rows) + "\n").encode()
        supplier = self.world.suppliers[slug]
        sent = UpdateFileSent(
            supplier=slug, name=name, numbers=list(numbers), folder=supplier.updates_dir
        )
        with self.ledger.lock:
            self.ledger.files.append(sent)
        if supplier.sftp == "own":
            # The supplier writes on its own server: a temporary name, then the rename.
            temp = supplier.updates_dir / f".{name}.part"
            temp.write_bytes(content)
            _give_to_sshd_account(temp, supplier.updates_dir)
            os.replace(temp, supplier.updates_dir / name)
            sent.tries, sent.done = 1, True
            return
        local = Path(supplier.key_path).parent / name
        local.write_bytes(content)
        while not sent.done and time.monotonic() < self.retry_deadline:
            sent.tries += 1
            sent.done = self._hosted_put(supplier, local, name)
            if not sent.done:
                time.sleep(1)

    def _hosted_put(self, supplier, local: Path, name: str) -> bool:
        known = Path(supplier.key_path).parent / "hosted_known_hosts"
        result = subprocess.run(
            [
                self.sftp,
                "-b",
                "-",
                "-F",
                "/dev/null",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                f"UserKnownHostsFile={known}",
                "-o",
                f"IdentityFile={supplier.key_path}",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-P",
                str(self.hosted_port),
                f"{supplier.slug}@127.0.0.1",
            ],
            input=f"put {local} updates/{name}\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            self.log(f"hosted upload of {name} failed, again: {result.stderr.strip()[-200:]}")
        return result.returncode == 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, *, intake_threads: int = 3) -> None:
        for index in range(intake_threads):
            thread = threading.Thread(
                target=self._intake_loop, args=(index, intake_threads), daemon=True
            )
            self.threads.append(thread)
        self.threads.append(threading.Thread(target=self._updates_loop, daemon=True))
        for thread in self.threads:
            thread.start()

    def stop(self, *, retry_for: float) -> None:
        """Stop sending new work; calls in flight keep retrying for up to `retry_for` s."""
        self.retry_deadline = time.monotonic() + retry_for
        self.stopping.set()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=max(1.0, self.retry_deadline - time.monotonic() + 90))


def _give_to_sshd_account(path: Path, folder: Path) -> None:
    """Files we drop as the supplier belong to the SFTP account, so it can move them."""
    if os.geteuid() == 0:
        stat = folder.stat()
        os.chown(path, stat.st_uid, stat.st_gid)
