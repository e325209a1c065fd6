"""A passed check is judged again in a fresh Python process before it is recorded.

A check runs in the learner's kernel, where anything can be patched: set every price in `agentkit.pricing` to
zero and any configuration "meets the budget"; replace a checker and every answer passes. So before a pass is
recorded, the answer is sent (with cloudpickle, which carries notebook functions by value and the kit's own
objects by reference) to a new interpreter that imports the installed kit, loads the lab afresh, and runs the same
check offline, with no API key in its environment. That verdict is the one recorded. (The approach otter-grader and
nbgrader take, restarting or isolating before grading, reduced to one subprocess per pass.)

    python -m agentkit.course.regrade     # reads one pickled request on stdin, writes one JSON verdict on stdout

Reference runs (labs/src) are not recorded, so they are not judged again. `AGENTKIT_FRESH_CHECKS=0` turns this off
for the kit's own unit tests of checkers, which then run fast; it is on by default everywhere else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

ENV_VAR = "AGENTKIT_FRESH_CHECKS"
#: Environment the fresh process must not see: it judges offline, whatever the learner's mode.
_DROPPED_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "AGENTKIT_LIVE")
#: Real seconds for the fresh process on top of the check's own limit (start-up and imports on a busy machine).
START_UP_ALLOWANCE_S = 60.0


@dataclass(frozen=True)
class FreshVerdict:
    status: str  # a CheckResult status: passed, wrong, invalid, error, not_attempted
    message: str
    expected: str | None = None


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1") != "0"


def judge_in_fresh_process(kind: str, key: str, task_id: str, answer: Any, time_limit_s: float) -> FreshVerdict:
    """Run `task_id`'s check on `answer` in a new interpreter; never raises for anything the answer holds."""
    import cloudpickle

    try:
        payload = cloudpickle.dumps({"kind": kind, "key": key, "task": task_id, "answer": answer})
    except Exception as err:  # noqa: BLE001 - whatever the answer holds, say what could not be sent
        return FreshVerdict("invalid", (
            f"This answer cannot be sent to a fresh Python process to be graded ({type(err).__name__}: {err}). "
            "Hand in plain values, functions, or the kit's own objects (configurations, traces), not open "
            "clients, files or generators."))
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env[ENV_VAR] = "0"  # the fresh process judges once; it never spawns another
    try:
        done = subprocess.run([sys.executable, "-m", "agentkit.course.regrade"], input=payload, env=env,
                              capture_output=True, timeout=time_limit_s + START_UP_ALLOWANCE_S)
    except subprocess.TimeoutExpired:
        return FreshVerdict("invalid", f"Judged again in a fresh process, the check ran past {time_limit_s:g} "
                                       "seconds; look for an endless loop in your code.")
    if done.returncode != 0 or not done.stdout.strip():
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return FreshVerdict("error", "This answer could not be judged again in a fresh process "
                                     f"({tail[0][:300]}). If your code relies on variables defined in other cells, "
                                     "make sure the function or object you hand in carries what it needs.")
    data = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
    return FreshVerdict(data["status"], data["message"], data.get("expected"))


def _load(kind: str, key: str) -> Any:
    if kind == "lab":
        from agentkit.course.lab import Lab

        return Lab.load(key)
    if kind == "exercises":
        from agentkit.exercises import load

        return load(key)
    raise ValueError(f"unknown kind {kind!r}")


def main() -> int:
    import cloudpickle

    request = cloudpickle.loads(sys.stdin.buffer.read())
    lab = _load(request["kind"], request["key"])
    # Task.check, not Lab.check: judge only; the learner's kernel records the verdict.
    result = lab.task(request["task"]).check(request["answer"], lab.id)
    sys.stdout.write(json.dumps({"status": result.status, "message": result.message,
                                 "expected": result.expected}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
