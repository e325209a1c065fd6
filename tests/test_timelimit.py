"""time_limit: stops a block on the main thread; steps aside when the timer is taken; gives an outer limit back."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from agentkit.timelimit import time_limit


class Late(BaseException):
    pass


@pytest.fixture
def free_timer():
    """The timer as a script has it (pytest-timeout's handler set aside for the test, then restored)."""
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    yield
    signal.signal(signal.SIGALRM, previous)
    if delay:
        signal.setitimer(signal.ITIMER_REAL, delay, interval)


def test_a_tight_loop_is_stopped(free_timer):
    started = time.monotonic()
    with pytest.raises(Late):
        with time_limit(0.1, Late) as armed:
            assert armed
            while True:
                pass
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL and signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_taken_timer_is_left_alone_unless_taken_over(free_timer):
    def outer(signum, frame):
        raise AssertionError("the outer limit fired")

    signal.signal(signal.SIGALRM, outer)
    signal.setitimer(signal.ITIMER_REAL, 30)
    with time_limit(0.1, Late) as armed:
        assert not armed
    with time_limit(5, Late, take_over=True) as armed:
        assert armed
        time.sleep(0.05)
    assert signal.getsignal(signal.SIGALRM) is outer
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    assert 25 < left < 30  # the outer limit keeps the time it had left
    signal.setitimer(signal.ITIMER_REAL, 0)


def test_another_thread_cannot_be_limited(free_timer):
    seen = []

    def work():
        with time_limit(0.1, Late) as armed:
            seen.append(armed)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen == [False]
