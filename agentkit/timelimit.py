"""Real-time limits for code that may never return: a learner's function in a lab check, a tool call.

Python cannot stop a thread from outside, but a timer signal (SIGALRM) interrupts the
main thread wherever it is, even inside `while True: pass`. A notebook cell and a
script both run on the main thread, so that is where the kit's limits can really stop
code; elsewhere `time_limit` says it could not arm, and the caller falls back (a tool
call moves to a worker thread that is abandoned; a lab check runs without a limit).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def time_limit(seconds: float, error: type[BaseException], *, take_over: bool = False) -> Iterator[bool]:
    """Raise `error` inside the block once `seconds` of real time have passed; yields whether the limit is armed.

    The timer is used only when it is free (no other SIGALRM handler), unless `take_over` is set: a lab check
    takes it over from pytest-timeout or an outer limit and hands it back afterwards, the time already used
    deducted. `error` should be a BaseException, so the limited code's own `except Exception` lets it by.
    """
    usable = (seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if usable and not take_over:
        usable = signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    if not usable:
        yield False
        return

    def stop(signum: int, frame: Any) -> None:
        raise error()

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, stop)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:  # an outer limit was running: it keeps the time it had left
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)
