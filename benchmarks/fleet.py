"""The fleet simulator's speed: 10,000 virtual runs of the support agent, and what they show.

The runs are the support-desk agent's measured runs (Lesson 4's case, prompt
caching on), replayed by `agentkit.fleet.simulate` on SimPy at 1,000 arrivals
a minute against an example organization's limits. Target: under 5 seconds
of wall time for 10,000 runs on this machine. Median of a few rounds.

    python benchmarks/fleet.py [--runs N] [--rate PER_MINUTE]
"""

from __future__ import annotations

import argparse
import statistics
import time

from agentkit.cases import support_desk as sd
from agentkit.fleet import RateLimits, profiles_from, simulate

TARGET_SECONDS = 5.0
LIMITS = RateLimits(rpm=4_000, itpm=2_000_000, otpm=400_000)  # an example organization's limits for one model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="arrivals per minute")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    measured = {"no caching": sd.evaluate_config(sd.SupportConfig()),
                "prompt caching": sd.evaluate_config(sd.SupportConfig(cache_prompt=True))}
    print(f"{args.runs:,} virtual runs at {args.rate:,.0f} arrivals/min, limits {LIMITS}:")
    for name, card in measured.items():
        profiles = profiles_from(card)
        walls = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            report = simulate(profiles, arrivals_per_minute=args.rate, runs=args.runs, limits=LIMITS, concurrency=200)
            walls.append(time.perf_counter() - started)
        wall = statistics.median(walls)
        verdict = "OK" if wall < TARGET_SECONDS else f"OVER the {TARGET_SECONDS:g} s target"
        print(f"  {name:15s} wall {wall:5.2f} s ({verdict}); measured ${card.cost_per_1000:.2f}/1,000 runs; fleet: "
              f"${report.cost_per_1000:.2f}/1,000 arrivals, ${report.cost_per_1000_completed:.2f}/1,000 completed, "
              f"queue wait {report.mean_queue_wait:.2f} s, slots {report.utilisation:.0%} busy, "
              f"{report.mean_in_system:.1f} in the system, p50 {report.p50:.2f} s, p95 {report.p95:.2f} s, "
              f"p99 {report.p99:.2f} s, {report.throughput_per_minute:,.0f} runs/min, "
              f"{report.limited_share:.1%} hit a limit, {report.failed_share:.1%} failed")
    unloaded = simulate(profiles_from(measured["prompt caching"]), arrivals_per_minute=100, runs=args.runs)
    print(f"  no limit binding (100/min): fleet ${unloaded.cost_per_1000:.4f} vs 1,000 x mean measured run "
          f"${1000 * unloaded.mean_measured_cost:.4f} per 1,000 runs")


if __name__ == "__main__":
    main()
