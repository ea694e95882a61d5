"""Chaos soak: orders keep flowing while every part fails in turn; nothing lost or doubled.

Starts the whole production shape on 127.0.0.1 with servers of its own (a throwaway
PostgreSQL cluster, its own redis-server, gunicorn, two Celery workers, the dispatcher, beat,
a real SMTP server, the test sshd as a supplier's own SFTP server, the hosted SFTP server
`serve_sftp`, an HTTP receiver whose requests are checked against their signatures), sends
orders at a steady rate from three retailers to three suppliers with every channel on, and
supplier updates (API with Idempotency-Key; update files over the hosted SFTP and on the
supplier's own server), while a seeded chaos loop does one fault at a time for a random
while. Then every fault is healed, the load stops, the system is given a bounded time to
settle, and the checks run (testsupport/chaos/checks.py). Exit status 0 only if all hold.

    DEBUG=true .venv/bin/python bench/chaos.py                      # 10 minutes, seed 1
    DEBUG=true .venv/bin/python bench/chaos.py --duration 60 --seed 7 --json summary.json

This is not a speed benchmark: the figures are counts and catch-up times (seconds from a
fault's healing until everything committed before it is delivered).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_portal.settings")
os.environ["DEBUG"] = "true"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load and faults")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=2.0, help="intakes per second")
    parser.add_argument("--min-fault", type=float, default=4.0, help="shortest fault, seconds")
    parser.add_argument("--max-fault", type=float, default=25.0, help="longest fault, seconds")
    parser.add_argument("--gap", type=float, default=4.0, help="longest pause between faults")
    parser.add_argument("--settle", type=float, default=300, help="longest wait to settle")
    parser.add_argument(
        "--catch-up-wait",
        type=float,
        default=240,
        help="longest wait for a fault's backlog before the next fault (timing goes on)",
    )
    parser.add_argument("--every-fault", action="store_true", help="each kind at least once")
    parser.add_argument("--json", help="also write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep logs and data afterwards")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every process, over the soak's short timers (testsupport/chaos/"
        "stack.py), e.g. DELIVERY_RETRY_SCHEDULE=0,5,300,1800 for the product's first tries",
    )
    return parser.parse_args()


def main() -> int:
    args = parse()
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {message}", flush=True)

    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
    from testsupport.chaos.stack import Stack

    overrides = dict(item.split("=", 1) for item in args.env)
    stack = Stack(log=log, overrides=overrides)
    try:
        return run(args, stack, log)
    finally:
        if args.keep:
            log(f"kept: {stack.base}, {stack.postgres.dir}, process logs under /tmp/op-*")
        stack.cleanup(keep=args.keep)


def run(args, stack, log) -> int:
    log(f"seed {args.seed}, {args.duration:.0f} s of load at {args.rate}/s, load {_load()}")
    if args.env:
        log(f"settings over the soak's: {' '.join(args.env)}")
    stack.servers_start()
    import django

    django.setup()
    from django.core.management import call_command

    log("servers up (PostgreSQL, Redis, SMTP, receiver, sshd)")
    call_command("migrate", verbosity=0)
    log("database migrated; processes start")
    from testsupport.chaos.checks import checks_run
    from testsupport.chaos.faults import CATCH_UP_BOUND, KINDS, ChaosLoop, settled_after
    from testsupport.chaos.load import Load
    from testsupport.chaos.world import world_make

    world = world_make(stack=stack)
    stack.processes_start()
    stack.supervise()
    log("every part is up; load starts")
    load = Load(
        world=world,
        web_url=stack.web_url,
        hosted_port=stack.hosted_port,
        rate=args.rate,
        seed=args.seed,
        log=log,
    )
    load.start()
    chaos = ChaosLoop(
        stack=stack,
        seed=args.seed,
        log=log,
        min_fault=args.min_fault,
        max_fault=args.max_fault,
        gap=args.gap,
        catch_up_wait=args.catch_up_wait,
    )
    chaos.run(
        until=time.monotonic() + args.duration, min_faults=len(KINDS) if args.every_fault else 0
    )
    log("chaos over (every fault healed); load stops, calls in flight retry")
    load.stop(retry_for=120)
    load.join()
    chaos.join()
    settle = settled_after(ledger=load.ledger, bound=args.settle)
    log(f"settled in {settle:.1f} s" if settle is not None else "did NOT settle")
    stack.supervise_stop()
    from django.db import close_old_connections

    close_old_connections()
    report = checks_run(stack=stack, world=world, ledger=load.ledger)
    if settle is None:
        report.fail(f"the system did not settle within {args.settle:.0f} s")
    report.figures["error_answers"] = error_answers(load.ledger, chaos.runs)
    not_503 = {k: n for k, n in report.figures["error_answers"].items() if k.startswith("5")}
    not_503 = {k: n for k, n in not_503.items() if not k.startswith("503")}
    if not_503:
        report.fail(f"answers 5xx other than 503 (an outage must answer 503): {not_503}")
    report.figures["exits_restarted_by_supervisor"] = [
        {"process": e["process"], "code": e["code"]} for e in stack.exits
    ]
    for exit_ in stack.exits:
        log(f"{exit_['process']} had exited on its own; its log ended:\n{exit_['log_end']}")
    summary = summary_make(args, chaos, report, settle)
    summary["bounds"] = {"catch_up_seconds": CATCH_UP_BOUND, "settle_seconds": args.settle}
    print(summary_table(summary), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if not report.failures else 1


def error_answers(ledger, runs) -> dict[str, int]:
    """Every 5xx or 429 the load got, by the call's kind (intake, acknowledge, cancel, ship)
    and the fault in progress then ("none": no fault; a fault counts from its start until
    five seconds after its healing)."""
    counts: dict[str, int] = {}
    for call in ledger.calls:
        for at, status in call.errors:
            during = next((r.kind for r in runs if r.started <= at <= (r.healed or at) + 5), "none")
            key = f"{status} {call.kind} during {during}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary_make(args, chaos, report, settle) -> dict:
    faults = [
        {
            "kind": r.kind,
            "target": r.target,
            "duration": r.duration,
            "down": round((r.healed or r.started) - r.started, 1),
            "catch_up": None if r.catch_up is None else round(r.catch_up, 1),
        }
        for r in chaos.runs
    ]
    for run in chaos.runs:
        if run.catch_up is None:
            report.fail(f"{run.kind}: the backlog from before its healing was not drained")
    return {
        "seed": args.seed,
        "duration": args.duration,
        "load_average_at_end": _load(),
        "faults": faults,
        "figures": report.figures,
        "channels": report.channels,
        "settle_seconds": None if settle is None else round(settle, 1),
        "failures": report.failures,
        "passed": not report.failures,
    }


def summary_table(summary: dict) -> str:
    figures, lines = summary["figures"], []
    lines.append(f"\n== chaos soak, seed {summary['seed']}, {summary['duration']:.0f} s ==")
    lines.append(f"load average at the end: {summary['load_average_at_end']}")
    bounds = summary.get("bounds", {})
    lines.append(
        "asserted: every check below, each fault's backlog (what was committed before its "
        f"healing) drained within {bounds.get('catch_up_seconds', 0):.0f} s of the healing, "
        f"the system settled within {bounds.get('settle_seconds', 0):.0f} s of the load's end, "
        "no 5xx answer but 503"
    )
    lines.append(f"faults injected: {len(summary['faults'])}")
    lines.append(f"{'fault':<22}{'target':<12}{'down s':>8}{'catch-up s':>12}")
    for fault in summary["faults"]:
        catch = "NOT DRAINED" if fault["catch_up"] is None else f"{fault['catch_up']:.1f}"
        down = fault.get("down", fault["duration"])
        lines.append(f"{fault['kind']:<22}{fault['target']:<12}{down:>8.1f}{catch:>12}")
    done = [f["catch_up"] for f in summary["faults"] if f["catch_up"] is not None]
    if done:
        lines.append(f"longest catch-up: {max(done):.1f} s")
    lines.append(
        f"intakes: {figures.get('intakes')} (retried after no answer: "
        f"{figures.get('intakes_retried_after_no_answer')}, of them replayed: "
        f"{figures.get('intakes_replayed')}); orders: {figures.get('orders')}; "
        f"orders lost: {figures.get('orders_lost')}"
    )
    lines.append(
        f"cancellations: {figures.get('cancellations')} (retailer emails: "
        f"{figures.get('cancellation_emails')}); API updates: {figures.get('api_updates')} "
        f"(retried after no answer: {figures.get('api_updates_retried_after_no_answer')}, same "
        f"key resent: {figures.get('api_same_key_resent')}); update files: "
        f'{figures.get("update_files")} (answered "already applied" after a cut run: '
        f"{figures.get('update_files_answered_already_applied')})"
    )
    lines.append("deliveries per channel (duplicates: extra arrivals of an identity already seen)")
    lines.append(f"{'channel':<10}{'rows':>8}{'received':>10}{'identities':>12}{'duplicates':>12}")
    for channel, row in sorted(summary["channels"].items()):
        lines.append(
            f"{channel:<10}{row['rows']:>8}{row['received']:>10}{row['identities']:>12}"
            f"{row['duplicates']:>12}"
        )
    duplicates = sum(row["duplicates"] for row in summary["channels"].values())
    lines.append(f"duplicates received: {duplicates}; orders lost: {figures.get('orders_lost')}")
    lines.append(f"5xx/429 answers (each retried): {figures.get('error_answers') or 'none'}")
    lines.append(
        "processes that exited on their own (restarted by the supervisor): "
        f"{figures.get('exits_restarted_by_supervisor') or 'none'}"
    )
    lines.append(f"settled in: {summary['settle_seconds']} s")
    if summary["failures"]:
        lines.append("FAILED:")
        lines.extend(f"  - {f}" for f in summary["failures"])
    else:
        lines.append("every check passed")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
