"""A process forked while lookups wait on a hung resolver starts with every lookup slot free.

A Celery prefork worker or a gunicorn worker is forked from a parent; a lookup thread of the
parent does not come along, so its slot can never be given back in the child. Before, a child
forked while RESOLVE_THREADS_MAX lookups waited failed every lookup at once, for good.
The fork and the hung lookups are real; the lookup itself is a callable that waits, as
getaddrinfo waits on a resolver that does not answer.
"""

import os
import threading

import pytest

from delivery import resolve
from delivery.resolve import RESOLVE_THREADS_MAX, ResolveTimeout, within_budget
from testsupport.waiting import wait_until


def _free_slots() -> int:
    return resolve._resolve_slots._value


@pytest.fixture
def hung():
    """RESOLVE_THREADS_MAX lookups waiting (past their callers' budgets) until released."""
    release = threading.Event()
    for _ in range(RESOLVE_THREADS_MAX):
        with pytest.raises(ResolveTimeout):
            within_budget(release.wait, seconds=0.01, what="hung.example")
    assert _free_slots() == 0
    yield release
    release.set()
    wait_until(lambda: _free_slots() == RESOLVE_THREADS_MAX, message="lookups did not end")


def test_the_parent_with_every_slot_taken_fails_a_lookup_at_once(hung):
    with pytest.raises(ResolveTimeout, match="already waiting on the resolver"):
        within_budget(lambda: "resolved", seconds=5, what="ok.example")


def test_a_child_forked_while_lookups_wait_resolves(hung):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what a lookup gives, and leave at once
        try:
            said = within_budget(lambda: "resolved", seconds=5, what="ok.example")
            said += f" free={_free_slots()}"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            said = f"{type(exc).__name__}: {exc}"
        os.write(write_end, said.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        said = pipe.read().decode()
    os.waitpid(pid, 0)
    assert said == f"resolved free={RESOLVE_THREADS_MAX}"
    assert _free_slots() == 0  # the parent's hung lookups still hold theirs
