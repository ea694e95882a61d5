"""A name's lookup within a budget: getaddrinfo takes no timeout of its own, so the webhook
client and the SFTP connection (delivery/netguard.py, channels/sftp/session.py) run it here,
in a thread of a bounded few."""

from __future__ import annotations

import os
import threading


class ResolveTimeout(TimeoutError):
    """The name did not resolve within what was left of the deadline."""


# Lookups that may wait on the resolver at once, per process. A lookup past its caller's
# budget is abandoned, but its thread lives until getaddrinfo returns: under a resolver
# outage every webhook or SFTP attempt left one more thread (found in review). With this
# many still waiting, the next lookup fails at once, as timed out, and starts no thread.
RESOLVE_THREADS_MAX = 8
_resolve_slots = threading.BoundedSemaphore(RESOLVE_THREADS_MAX)


def _slots_renew() -> None:
    """In a forked child: no lookup thread of the parent's came along, so all the slots are
    free. Before, a child forked while lookups waited (a Celery prefork worker, a gunicorn
    worker) started with the parent's count and never got those slots back."""
    global _resolve_slots  # noqa: PLW0603 - the process's one pool of slots
    _resolve_slots = threading.BoundedSemaphore(RESOLVE_THREADS_MAX)


os.register_at_fork(after_in_child=_slots_renew)


def within_budget(work, *, seconds: float, what: str):
    """`work()`, given at most `seconds`: getaddrinfo takes no timeout of its own, and a slow
    resolver held a webhook attempt (the worker, or the page's "Send a test event") far past
    its 10 s deadline (found in review). It runs in a daemon thread (one of at most
    RESOLVE_THREADS_MAX, else ResolveTimeout at once); at the budget's end the caller goes on
    with ResolveTimeout and the lookup's late result is dropped."""
    if not _resolve_slots.acquire(blocking=False):
        raise ResolveTimeout(
            f"{what} did not resolve in time ({RESOLVE_THREADS_MAX} lookups are already "
            "waiting on the resolver)"
        )
    outcome: dict = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc
        finally:
            _resolve_slots.release()
            done.set()

    try:
        threading.Thread(target=run, name="netguard-resolve", daemon=True).start()
    except BaseException:  # no thread (RuntimeError: can't start new thread): no slot held
        _resolve_slots.release()
        raise
    if not done.wait(max(seconds, 0.0)):
        raise ResolveTimeout(f"{what} did not resolve in time")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
