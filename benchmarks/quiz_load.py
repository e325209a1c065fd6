"""The first quiz in a fresh kernel: load a bank and build its widget, in a new process each time.

Side by side in one run, taking turns round by round:
- `agentkit`: what a lesson's last cell does (`Quiz.load(...).widget()`);
- `+ jsonschema import`: the same after importing jsonschema, which is what every
  load paid before banks were validated with fastjsonschema first (jsonschema is
  now imported only to word the error for a bank that fails).

Run: python benchmarks/quiz_load.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

LOAD = "from agentkit import Quiz; Quiz.load('l1_trace_layer', attempt=1).widget()"
VARIANTS = {
    "bare python": "pass",
    "agentkit": LOAD,
    "+ jsonschema import": "import jsonschema; " + LOAD,
}
ROUNDS = 5


def once(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(ROUNDS):
        for name, code in VARIANTS.items():
            samples[name].append(once(code))
    bare = min(samples["bare python"])
    print(f"first quiz in a fresh process, best of {ROUNDS} (interpreter start-up subtracted):")
    for name in ("agentkit", "+ jsonschema import"):
        best = min(samples[name]) - bare
        print(f"  {name:<22} {best:6.3f} s   (median {statistics.median(samples[name]) - bare:.3f} s)")
    ratio = (min(samples["+ jsonschema import"]) - bare) / (min(samples["agentkit"]) - bare)
    print(f"  with jsonschema on every load it took {ratio:.1f}x as long; target for the first quiz: under 0.3 s")


if __name__ == "__main__":
    main()
