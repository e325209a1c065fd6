"""`python -m agentkit.sim serve [--port N] [--seed N] [--time-scale S] [--scenarios FILE ...] [faults, limits]`"""

from __future__ import annotations

import argparse
import gc
import sys

from . import validate
from .core import Simulator
from .faults import KINDS, Faults, RateLimits
from .latency import check_time_scale, time_scale
from .scenarios import Scenario, ScenarioError
from .server import SimServer


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a probability such as 0.1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return value


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {', '.join(unknown) or text!r}; choose from "
                                         f"{', '.join(KINDS)}")
    return kinds


def _scale(text: str) -> float:
    try:
        return check_time_scale(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limit(text: str) -> int | None:
    if text.lower() in ("none", "off", "0"):
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number per minute, or 'off'")
    return int(text)


def _settle() -> None:
    """Load what the first request would load (the SDK's request types for validation), then move every object
    alive now out of the garbage collector's sight: the collector then never re-walks the tens of megabytes of
    imported modules, which otherwise showed as millisecond pauses in the server's p99."""
    validate.top_level({})
    gc.collect()
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.sim", description="agentkit's simulated Messages API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--seed", type=int, default=0, help="seed for latency jitter and faults (same seed, same run)")
    serve.add_argument("--time-scale", type=_scale, default=None, metavar="S",
                       help="real seconds per simulated second (default: AGENTKIT_TIME_SCALE or 0.02; 0 = no waits)")
    serve.add_argument("--scenarios", nargs="*", default=[], metavar="FILE", help="scenario YAML files to load")
    serve.add_argument("--fault-rate", type=_probability, default=0.0, metavar="P",
                       help="probability that a /v1/messages attempt fails, shared among --fault-kinds")
    serve.add_argument("--fault-kinds", type=_kinds, default=["rate_limit", "overloaded", "server_error"],
                       metavar="K,K", help=f"comma-separated, from: {', '.join(KINDS)} "
                                           "(default: rate_limit,overloaded,server_error)")
    serve.add_argument("--stream-error-rate", type=_probability, default=None, metavar="P",
                       help="probability that a stream breaks mid-way with event: error (overloaded_error)")
    serve.add_argument("--rpm", type=_limit, default=RateLimits().requests_per_minute, metavar="N",
                       help="requests per (simulated) minute before 429s ('off' for none)")
    serve.add_argument("--itpm", type=_limit, default=RateLimits().input_tokens_per_minute, metavar="N",
                       help="input tokens per minute ('off' for none)")
    serve.add_argument("--otpm", type=_limit, default=RateLimits().output_tokens_per_minute, metavar="N",
                       help="output tokens per minute ('off' for none)")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    faults = Faults.of_rate(args.fault_rate, args.fault_kinds) if args.fault_rate else Faults()
    if args.stream_error_rate is not None:
        faults = Faults(**{**faults.__dict__, "stream_error": args.stream_error_rate})
    sim = Simulator(seed=args.seed, faults=faults, time_scale=args.time_scale,
                    rate_limits=RateLimits(args.rpm, args.itpm, args.otpm))
    try:
        for path in args.scenarios:
            sim.scenarios.extend(Scenario.load(path))
    except (OSError, ScenarioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        server = SimServer(sim, port=args.port, verbose=args.verbose)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}. Try another --port.", file=sys.stderr)
        return 2
    print(f"agentkit simulator listening on {server.url}", flush=True)
    print(f"  export ANTHROPIC_BASE_URL={server.url}   (any API key works; Ctrl-C stops)", flush=True)
    scale = time_scale() if args.time_scale is None else args.time_scale
    extra = f", faults {args.fault_rate:g} ({','.join(args.fault_kinds)})" if args.fault_rate else ""
    print(f"  time scale {scale:g} (real s per simulated s), seed {args.seed}{extra}", flush=True)
    _settle()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
