"""Shared worker threads, started on first use: one recipe for every pool the kit keeps.

The agent runs concurrent tool calls on one pool and the research case runs its vector-store
queries on another. They are separate on purpose: a tool call waiting for queries submitted to
its own, full pool would wait forever. Both are shared across runs (starting threads costs more
than a step) and made under a lock, so two threads asking at once get the same pool.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SharedPool"]


class SharedPool:
    """A `ThreadPoolExecutor` made on the first call, then the same one every time.

    `warm=True` starts every worker at once (each waits at a barrier until all exist): an
    executor starts threads lazily, and starting them inside the first traced run would show
    up in its timings.
    """

    def __init__(self, workers: int, name: str, *, warm: bool = False) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"a pool needs at least one worker; got {workers!r}")
        self.workers, self.name, self.warm = workers, name, warm
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is not None:  # the common case, after the first call: no lock needed to read a set reference
            return pool
        with self._lock:
            if self._pool is None:
                pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name)
                if self.warm:
                    barrier = threading.Barrier(self.workers)
                    for future in [pool.submit(barrier.wait, 5.0) for _ in range(self.workers)]:
                        future.result()
                self._pool = pool
            return self._pool
