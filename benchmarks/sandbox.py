"""What does a sandboxed run cost next to a bare subprocess?

    python benchmarks/sandbox.py [--rounds 5] [--repeats 4]

The same small script (a mean and a standard deviation, the kind of arithmetic
an agent's run_code does) runs these ways, side by side in one process, each
sandbox variant adding one kernel layer to the one before:

1. `exec` in this process: no isolation at all (the floor, and what the case
   study's old in-process executor was);
2. a bare subprocess: `python -I -S -c CODE`, output captured (the floor for
   any real isolation, since the OS has to start an interpreter);
3. `agentkit.sandbox` with only the process, rlimits and Python guards
   (every kernel layer off);
4. + Landlock;
5. + a network namespace;
6. + an IPC namespace;
7. + a PID namespace (one more fork: a supervisor outside, PID 1 inside);
8. + a mount namespace with a private, size-limited tmpfs /tmp (and /proc);
9. + the seccomp filter: the full sandbox;
10. the full sandbox with `warm=True`: the next run's interpreter is started
   while the caller works on this result, so a run skips Python's start-up
   (still one fresh process per run).

It prints milliseconds per run (median of the rounds), each variant's ratio
to the bare subprocess, what the layer added to the variant above it, and
the CPU milliseconds the run's processes used (rusage: steadier than wall
time on a busy machine). Targets: the full sandbox within about 2x of a bare
subprocess (issue 14); with a pre-started interpreter, under 50 ms of waiting
per run when runs are spaced by a model call (issue 23, second table).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from agentkit.sandbox import Sandbox, isolation

from harness import measure  # benchmarks/ is on sys.path when run as a script

CODE = "import statistics\nxs = [18.1, 13.4, 15.2, 16.8]\nresult = [statistics.mean(xs), statistics.stdev(xs)]\n"
BARE = CODE + "print(result)\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between runs for the second table")
    parser.add_argument("--gapped", type=int, default=30, help="runs of each for the second table")
    args = parser.parse_args()

    off = {"landlock": False, "network_namespace": False, "ipc_namespace": False, "pid_namespace": False,
           "private_tmp": False, "seccomp": False}
    layered: dict[str, Sandbox] = {}
    for label, layer in (("sandbox: process + rlimits + guards", None), ("  + Landlock", "landlock"),
                         ("  + network namespace", "network_namespace"), ("  + IPC namespace", "ipc_namespace"),
                         ("  + PID namespace", "pid_namespace"), ("  + private /tmp (mount ns)", "private_tmp"),
                         ("  + seccomp (full sandbox)", "seccomp")):
        if layer is not None:
            off[layer] = True
        layered[label] = Sandbox(**off)
    full = Sandbox()
    warm = Sandbox(warm=True)
    assert layered[list(layered)[-1]] == full  # the last layered variant is the default sandbox
    for box in layered.values():
        assert box.run(CODE).ok  # the variants do the same work
    cpu_ms: dict[str, list[float]] = {name: [] for name in [*layered, "full sandbox, pre-started (warm=True)"]}

    def sandboxed(name: str, box: Sandbox) -> Callable[[], None]:
        def once() -> None:
            cpu_ms[name].append(box.run(CODE).cpu_s * 1000)
        return once

    def in_process() -> None:
        namespace: dict[str, object] = {}
        exec(CODE, namespace)  # noqa: S102 - the unsafe floor being measured

    def bare() -> None:
        subprocess.run([sys.executable, "-I", "-S", "-c", BARE], capture_output=True, check=True)

    variants: dict[str, Callable[[], object]] = {
        "exec in this process (no isolation)": in_process,
        "bare subprocess (python -I -S)": bare,
        **{name: sandboxed(name, box) for name, box in layered.items()},
        "full sandbox, pre-started (warm=True)": sandboxed("full sandbox, pre-started (warm=True)", warm),
    }
    names = list(variants)
    repeats = {name: (args.repeats * 50 if name == names[0] else args.repeats) for name in names}
    samples = measure(variants, {name: 1 for name in names}, repeats, rounds=args.rounds)
    floor = statistics.median(samples[names[1]]) / 1000
    print(f"isolation on this machine: {isolation()}")
    print(f"{'variant':40s} {'ms/run':>9s} {'vs bare':>8s} {'overhead':>9s} {'layer adds':>11s} {'CPU ms':>7s}")
    previous: float | None = None
    for name in names:
        ms = statistics.median(samples[name]) / 1000
        adds = f"{ms - previous:+8.1f} ms" if name in layered and previous is not None else ""
        cpu = f"{statistics.median(cpu_ms[name]):7.1f}" if name in cpu_ms else ""
        print(f"{name:40s} {ms:9.2f} {ms / floor:7.2f}x {ms - floor:+8.1f} ms {adds:>11s} {cpu:>7s}")
        previous = ms if name in layered else previous
    # A pre-started interpreter helps when there is a gap between runs (the model call), not in a tight
    # loop: measure what the caller waits for when the runs are `--gap` seconds apart.
    print(f"\nwait per run when runs are {args.gap * 1000:.0f} ms apart (a model call in between), median of "
          f"{args.gapped} runs each, the two taking turns:")
    gapped = {"full sandbox, cold": full, "full sandbox, pre-started (warm=True)": warm}
    waits: dict[str, list[float]] = {name: [] for name in gapped}
    for _ in range(args.gapped):
        for name, box in gapped.items():
            time.sleep(args.gap)
            started = time.perf_counter()
            box.run(CODE)
            waits[name].append((time.perf_counter() - started) * 1000)
    for name, samples_ms in waits.items():
        print(f"{name:40s} {statistics.median(samples_ms):9.2f} ms")
    warm.close()


if __name__ == "__main__":
    main()
