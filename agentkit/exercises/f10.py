"""The checked exercises of lesson F10 Decomposing big work.

1. ``partition_by_endpoint``: the split of a data-driven decomposition, a pure function, judged against the
   reference on the lesson's weeks and on seeded, shuffled logs with endpoints the lesson never shows.
2. ``map_step``: the map step the learner writes with the plain SDK: one model call per partition, all of the
   partition's lines and nothing else, the reply through structured outputs, returned as a validated object.
   Graded offline on the requests sent (`_transcript.run_recorded`) against scenarios built here from seeded
   partitions: the scripted report is computed with pandas from the same lines, never compared as wording.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pydantic

from agentkit.course.lab import FunctionTask, Verdict, as_function, call_learner_code, passed, wrong
from agentkit.exercises import Exercises
from agentkit.exercises._transcript import run_recorded
from agentkit.patterns import examples as ex


# -- seeded logs ---------------------------------------------------------------------------------------------

_PATHS = ("/api/orders", "/api/search", "/api/cart", "/api/login", "/api/stock", "/api/refunds", "/api/wishlist")


def _random_lines(seed: int, n: int = 24) -> list[str]:
    """A seeded partition of access-log lines, in the lesson's format, over endpoints the lesson never shows."""
    rng = random.Random(seed)
    paths = rng.sample(_PATHS, rng.randint(3, 5))
    day = rng.randint(1, 28)
    lines = []
    for i in range(n):
        path = rng.choice(paths)
        status = 500 if rng.random() < 0.12 else 200
        lines.append(f"2026-11-{day:02d}T{(i * 53) // 60 % 24:02d}:{(i * 53) % 60:02d} GET {path} {status} "
                     f"{int(rng.lognormvariate(4.5, 0.5))}ms")
    return lines


def _reference_partition(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in lines:
        out.setdefault(line.split()[2], []).append(line)
    return out


# -- 1. partition by endpoint --------------------------------------------------------------------------------


def _check_partition_by_endpoint(answer: Any) -> Verdict:
    fn = as_function(answer, "your answer")
    seed = random.SystemRandom().randrange(10_000)
    cases: list[tuple[str, list[str]]] = [(f"week {week}'s logs", list(ex.LOGS[week])) for week in ex.LOG_WEEKS]
    shuffled = _random_lines(seed)
    random.Random(seed).shuffle(shuffled)
    cases += [(f"a hidden partition (seed {seed}) with other endpoints", _random_lines(seed + 1)),
              (f"a hidden shuffled partition (seed {seed})", shuffled),
              ("an empty partition", [])]
    for label, lines in cases:
        want = _reference_partition(lines)
        returned, error = call_learner_code(fn, list(lines))
        if error:
            return wrong(f"It raised {error} on {label}.")
        if not isinstance(returned, dict):
            return wrong(f"It returned a {type(returned).__name__} on {label}; return a dict: endpoint -> its lines.")
        if set(returned) != set(want):
            extra, missing = sorted(set(returned) - set(want), key=str), sorted(set(want) - set(returned))
            return wrong(f"On {label} the keys are wrong: {len(missing)} endpoint(s) missing, {len(extra)} key(s) "
                         f"that are not endpoints{f' (such as {extra[0]!r})' if extra else ''}.")
        for endpoint, endpoint_lines in want.items():
            got = list(returned[endpoint]) if isinstance(returned[endpoint], (list, tuple)) else None
            if got != endpoint_lines:
                return wrong(f"On {label}, {endpoint} should get its {len(endpoint_lines)} lines in their original "
                             "order (each line once, none from other endpoints).")
    return passed(f"Every line lands in exactly one partition, in order, on all {len(cases)} partitions "
                  "(the lesson's four weeks and three hidden ones).")


# -- 2. the map step -----------------------------------------------------------------------------------------


class _Report(pydantic.BaseModel):
    """The schema the check hands the learner's map step (the lesson's `WeekReport`)."""

    model_config = pydantic.ConfigDict(extra="forbid")
    slowest: str
    p95_ms: int
    most_errors: str | None
    errors: int


def _truth(lines: list[str]) -> dict[str, Any]:
    import pandas as pd

    rows = [line.split() for line in lines]
    df = pd.DataFrame({"path": [r[2] for r in rows], "status": [int(r[3]) for r in rows],
                       "ms": [int(r[4].removesuffix("ms")) for r in rows]})
    p95 = df.groupby("path")["ms"].quantile(0.95)
    errors = df[df.status >= 500].groupby("path").size()
    return {"slowest": str(p95.idxmax()), "p95_ms": int(round(p95.max())),
            "most_errors": str(errors.idxmax()) if len(errors) else None,
            "errors": int(errors.max()) if len(errors) else 0}


def _map_case(seed: int | None) -> dict[str, Any]:
    lines = list(ex.LOGS[3]) if seed is None else _random_lines(seed)
    report = _truth(lines)
    marker = re.escape(lines[len(lines) // 2])  # a line from the middle: the request must carry the partition
    return {"label": "week 3 of the lesson" if seed is None else f"a hidden partition (seed {seed})",
            "lines": lines, "report": report,
            "scenarios": [{"name": f"f10_map_{seed}", "match": {"user": marker}, "turns": [{"json": report}]}]}


def _sent_text(body: dict[str, Any]) -> str:
    parts = [str(body.get("system", ""))]
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts += [str(b.get("text", "")) for b in content or [] if isinstance(b, dict)]
    return "\n".join(parts)


def _judge_map(fn: Any, case: dict[str, Any]) -> str | None:
    t = run_recorded(fn, list(case["lines"]), _Report, scenarios=case["scenarios"])
    label = case["label"]
    if t.calls == 0:
        return f"On {label} it never called the model." if not t.error else f"On {label} it raised {t.error[:200]}."
    if t.calls > 1:
        return f"On {label} it made {t.calls} model calls; a map step is one call per partition."
    body = t.requests[0]
    fmt = (body.get("output_config") or {}).get("format") or {}
    if fmt.get("type") != "json_schema":
        return ("Its request asks for no structured output. Use client.messages.parse(..., output_format=schema) "
                "(or output_config={'format': {'type': 'json_schema', ...}}), so the reply is data the reduce "
                "step can read.")
    if set((fmt.get("schema") or {}).get("properties") or {}) != set(_Report.model_fields):
        return "Its output format is not the `schema` it was given; build it from that argument."
    sent = _sent_text(body)
    missing = [line for line in case["lines"] if line not in sent]
    if missing:
        return (f"On {label} the request leaves out {len(missing)} of the partition's {len(case['lines'])} lines "
                f"(for example {missing[0]!r}); send the whole partition, one line per line.")
    if t.error:
        return f"On {label} it raised {t.error[:200]}."
    value = t.value
    if isinstance(value, dict):
        return "It returned a dict; return the validated object, an instance of `schema`."
    if not isinstance(value, _Report):
        return f"It returned {type(value).__name__} {value!r:.60}; return the parsed reply, an instance of `schema`."
    if value.model_dump() != case["report"]:
        return f"On {label} it returned {value.model_dump()}, which is not what the model answered."
    return None


def _check_map_step(answer: Any) -> Verdict:
    fn = as_function(answer, "map_step")
    seed = random.SystemRandom().randrange(1, 10_000)
    for case in (_map_case(None), _map_case(seed), _map_case(seed + 1)):
        problem = _judge_map(fn, case)
        if problem:
            return wrong(problem)
    return passed("One structured call per partition, the whole partition sent, the report returned as data: "
                  "on the lesson's week and two hidden partitions.")


EXERCISES = Exercises("f10_decomposition", "Lesson 10 exercises", "F10 Decomposing big work", lesson_notebook="notebooks/10_*.ipynb", tasks=[
    FunctionTask("partition_by_endpoint", "Partition the logs by service", _check_partition_by_endpoint,
                 "a function partition_by_endpoint(lines) -> dict[str, list[str]]",
                 ("Each line names its endpoint; lines with the same endpoint go in the same list, in the order "
                  "they came. (Next: lab.hint('partition_by_endpoint', 2).)",
                  "Split a line on whitespace and look at the fields: time, method, path, status, latency. One "
                  "loop over the lines, a dict from path to a list.",
                  "A dict's setdefault(key, default) returns the list for a key, creating it the first time; "
                  "append each line to its endpoint's list."),
                 probes=((["2026-10-05T00:00 GET /api/cart 200 93ms"],),)),
    FunctionTask("map_step", "The map step of a map-reduce", _check_map_step,
                 "a function map_step(client, lines, schema) -> an instance of schema",
                 ("One model call per partition: it gets every line of that partition and must come back as data "
                  "the reduce step can read. (Next: lab.hint('map_step', 2).)",
                  "client.messages.parse(model=..., max_tokens=..., system=..., messages=[...], output_format=schema) "
                  "sends the schema as structured outputs and validates the reply.",
                  "Put '\\n'.join(lines) in the user message; the validated object is the reply's parsed_output."),
                 probes=((None, [], None),)),
], solutions={
    "partition_by_endpoint": """
        def partition_by_endpoint(lines):
            "Group log lines by endpoint, keeping their order."
            partitions = {}
            for line in lines:
                partitions.setdefault(line.split()[2], []).append(line)
            return partitions
    """,
    "map_step": """
        import agentkit

        def map_step(client, lines, schema):
            "The map step: one partition of log lines in, one validated report out."
            reply = client.messages.parse(
                model=agentkit.FAST_MODEL, max_tokens=400,
                system="You analyse one partition of access logs: the slowest endpoint by p95 latency, "
                       "and the endpoint with the most 5xx errors.",
                messages=[{"role": "user", "content": "\\n".join(lines)}],
                output_format=schema,
            )
            return reply.parsed_output
    """,
}, answers={"partition_by_endpoint": "partition_by_endpoint", "map_step": "map_step"})
