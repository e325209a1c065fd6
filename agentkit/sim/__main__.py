"""`python -m agentkit.sim serve [--port N] [--seed N] [--scenarios FILE ...]`"""

from __future__ import annotations

import argparse
import sys

from .core import Simulator
from .scenarios import Scenario, ScenarioError
from .server import SimServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.sim", description="agentkit's simulated Messages API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulator on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--scenarios", nargs="*", default=[], metavar="FILE", help="scenario YAML files to load")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    sim = Simulator(seed=args.seed)
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
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
