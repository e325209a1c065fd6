"""The checked exercises of lesson F10 Decomposing big work."""

from __future__ import annotations

from typing import Any

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.patterns import examples as ex


# -- Lesson 10 ------------------------------------------------------------------------------


def _check_partition_by_endpoint(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    for week in ex.LOG_WEEKS:
        lines = list(ex.LOGS[week])
        want: dict[str, list[str]] = {}
        for line in lines:
            want.setdefault(line.split()[2], []).append(line)
        returned, error = call_learner_code(fn, list(lines))
        if error:
            return wrong(f"It raised {error} on week {week}'s logs.")
        if not isinstance(returned, dict):
            return wrong(f"It returned a {type(returned).__name__}; return a dict: endpoint -> its lines.")
        got: dict[Any, Any] = returned
        if set(got) != set(want):
            return wrong(f"On week {week} its keys are {sorted(got)}; the endpoints are {sorted(want)}.")
        for endpoint, endpoint_lines in want.items():
            if list(got[endpoint]) != endpoint_lines:
                return wrong(f"On week {week}, {endpoint} should get its {len(endpoint_lines)} lines in their "
                             "original order (each line once, none from other endpoints).")
    return passed("Every line lands in exactly one partition, in order: four services, four agents.")




EXERCISES = Exercises("f10_decomposition", "Lesson 10 exercises", "F10 Decomposing big work", lesson_notebook="notebooks/10_*.ipynb", tasks=[
    FunctionTask("partition_by_endpoint", "Partition the logs by service", _check_partition_by_endpoint,
                 "a function partition_by_endpoint(lines) -> dict[str, list[str]]",
                 ("The endpoint is the third field of each line: line.split()[2].",
                  "dict.setdefault(endpoint, []).append(line) keeps the order."),
                 probes=((["2026-10-05T00:00 GET /api/cart 200 93ms"],),)),
], solutions={
    "partition_by_endpoint": """
        def partition_by_endpoint(lines):
            "Group log lines by endpoint, keeping their order."
            partitions = {}
            for line in lines:
                partitions.setdefault(line.split()[2], []).append(line)
            return partitions
    """,
}, answers={"partition_by_endpoint": "partition_by_endpoint"})
