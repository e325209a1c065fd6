"""What does a sandboxed run cost next to a bare subprocess?

    python benchmarks/sandbox.py [--rounds 5] [--repeats 4]

The same small script (a mean and a standard deviation, the kind of arithmetic
an agent's run_code does) runs five ways, side by side in one process:

1. `exec` in this process: no isolation at all (the floor, and what the case
   study's old in-process executor was);
2. a bare subprocess: `python -I -S -c CODE`, output captured (the floor for
   any real isolation, since the OS has to start an interpreter);
3. `agentkit.sandbox` with only the process, rlimits and Python guards
   (Landlock and network namespace off);
4. the same plus Landlock;
5. the full sandbox: plus a fresh network namespace (`unshare --net`);
6. the full sandbox with `warm=True`: the next run's interpreter is started
   while the caller works on this result, so a run skips Python's start-up
   (still one fresh process per run).

It prints milliseconds per run (median of the rounds) and each variant's
overhead over the bare subprocess. Target (issue 14): the full sandbox within
about 2x of a bare subprocess, i.e. a code step's isolation costs tens of
milliseconds, small next to a model call of a second or more.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from agentkit.sandbox import Sandbox, isolation

from harness import measure  # benchmarks/ is on sys.path when run as a script

CODE = "import statistics\nxs = [18.1, 13.4, 15.2, 16.8]\nresult = [statistics.mean(xs), statistics.stdev(xs)]\n"
BARE = CODE + "print(result)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between runs for the second table")
    parser.add_argument("--gapped", type=int, default=15, help="runs for the second table")
    args = parser.parse_args()

    guards_only = Sandbox(landlock=False, network_namespace=False)
    with_landlock = Sandbox(network_namespace=False)
    full = Sandbox()
    warm = Sandbox(warm=True)
    assert full.run(CODE).ok and guards_only.run(CODE).ok  # the variants do the same work

    def in_process() -> None:
        namespace: dict[str, object] = {}
        exec(CODE, namespace)  # noqa: S102 - the unsafe floor being measured

    def bare() -> None:
        subprocess.run([sys.executable, "-I", "-S", "-c", BARE], capture_output=True, check=True)

    variants = {
        "exec in this process (no isolation)": in_process,
        "bare subprocess (python -I -S)": bare,
        "sandbox: process + rlimits + guards": lambda: guards_only.run(CODE),
        "sandbox: + Landlock": lambda: with_landlock.run(CODE),
        "sandbox: + network namespace (full)": lambda: full.run(CODE),
        "full sandbox, pre-started (warm=True)": lambda: warm.run(CODE),
    }
    names = list(variants)
    repeats = {name: (args.repeats * 50 if name == names[0] else args.repeats) for name in names}
    samples = measure(variants, {name: 1 for name in names}, repeats, rounds=args.rounds)
    floor = statistics.median(samples[names[1]]) / 1000
    print(f"isolation on this machine: {isolation()}")
    print(f"{'variant':40s} {'ms/run':>9s} {'vs bare':>8s} {'overhead':>9s}")
    for name in names:
        ms = statistics.median(samples[name]) / 1000
        print(f"{name:40s} {ms:9.2f} {ms / floor:7.2f}x {ms - floor:+8.1f} ms")
    # A pre-started interpreter helps when there is a gap between runs (the model call), not in a tight
    # loop: measure what the caller waits for when the runs are `--gap` seconds apart.
    print(f"\nwait per run when runs are {args.gap * 1000:.0f} ms apart (a model call in between), median of "
          f"{args.gapped} runs:")
    for name, box in (("full sandbox, cold", full), ("full sandbox, pre-started (warm=True)", warm)):
        waits = []
        for _ in range(args.gapped):
            time.sleep(args.gap)
            started = time.perf_counter()
            box.run(CODE)
            waits.append((time.perf_counter() - started) * 1000)
        print(f"{name:40s} {statistics.median(waits):9.2f} ms")
    warm.close()


if __name__ == "__main__":
    main()
