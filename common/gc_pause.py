"""Python's cyclic garbage collector held off while a batch builds many small containers.

The collector runs after every ~700 new containers and, now and then, walks every live one.
A batch of monthly summaries holds ~100,000 dicts and lists at once (500 months' figures
built, or 200 read back to send): the collector walked them again and again, about a fifth
of the build's Python time and 0.4 ms of each email's (bench/summaries.py). Those objects
hold no reference cycles; they are freed by reference counting as soon as the batch lets go
of them, paused or not. Whatever cycles the batch makes are collected once the collector is
back on. Nested pauses keep it off until the outermost ends; a collector already turned off
by someone else stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
