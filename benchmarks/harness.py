"""The timing loop shared by the benchmarks.

Variants take turns within each round, so a noisy neighbour on this shared
2-core machine disturbs all of them alike; the collector is off while timing
(its pauses are noise, not the code's cost) and runs between samples.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def measure(variants: dict[str, Callable[[], object]], units: dict[str, int], repeats: dict[str, int],
            rounds: int = 7) -> dict[str, list[float]]:
    """Microseconds per unit (span, step or call) for each variant, one sample per round.

    `repeats[name]` calls of `variants[name]` make one sample; each call does `units[name]` units of work.
    """
    for name, once in variants.items():  # warm up
        for _ in range(max(1, repeats[name] // 10)):
            once()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    gc.disable()
    try:
        for _ in range(rounds):
            for name, once in variants.items():
                started = time.perf_counter()
                for _ in range(repeats[name]):
                    once()
                samples[name].append((time.perf_counter() - started) / (repeats[name] * units[name]) * 1e6)
                gc.collect()
    finally:
        gc.enable()
    return samples
