"""The checked exercises of lesson F10 Decomposing big work.

1. ``partition_by_endpoint``: the split of a data-driven decomposition, a pure function, judged against the
   reference on the lesson's weeks and on seeded, shuffled logs with endpoints the lesson never shows.
2. ``map_reduce``: a map-reduce the learner writes with the plain SDK: one model call per partition, with all of
   that partition's lines and nothing else, the reply through structured outputs; then a reduce in code that
   names the slowest partition.
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
    """Named partitions (the lesson's weeks, or seeded ones), each with the report its scenario answers."""
    if seed is None:
        partitions = {f"week{w}": list(ex.LOGS[w]) for w in ex.LOG_WEEKS}
        label = "the lesson's four weeks"
    else:
        rng = random.Random(seed)
        partitions = {f"{rng.choice(['shard', 'day', 'region'])}-{seed % 89}-{i}": _random_lines(seed * 10 + i)
                      for i in range(rng.randint(2, 5))}
        label = f"hidden partitions (seed {seed})"
    reports: dict[str, dict[str, Any]] = {}
    seen: set[int] = set()
    for name, lines in partitions.items():
        report = _truth(lines)
        while report["p95_ms"] in seen:  # one clear worst partition
            report["p95_ms"] += 1
        seen.add(report["p95_ms"])
        reports[name] = report
    scenarios = [{"name": f"f10_map_{seed}_{name}", "match": {"user": re.escape(lines[len(lines) // 2])},
                  "turns": [{"json": reports[name]}]} for name, lines in partitions.items()]
    worst = max(reports, key=lambda name: reports[name]["p95_ms"])
    return {"label": label, "partitions": partitions, "reports": reports, "worst": worst, "scenarios": scenarios}


def _sent_text(body: dict[str, Any]) -> str:
    parts = [str(body.get("system", ""))]
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts += [str(b.get("text", "")) for b in content or [] if isinstance(b, dict)]
    return "\n".join(parts)


def _judge_map_reduce(fn: Any, case: dict[str, Any]) -> str | None:
    partitions: dict[str, list[str]] = case["partitions"]
    t = run_recorded(fn, {k: list(v) for k, v in partitions.items()}, _Report, scenarios=case["scenarios"])
    label = case["label"]
    if t.calls == 0:
        return f"On {label} it never called the model." if not t.error else f"On {label} it raised {t.error[:200]}."
    for body in t.requests:
        fmt = (body.get("output_config") or {}).get("format") or {}
        if fmt.get("type") != "json_schema":
            return ("A map request asks for no structured output. Use client.messages.parse(..., output_format=schema) "
                    "(or output_config={'format': {'type': 'json_schema', ...}}), so the reduce step reads data.")
        if set((fmt.get("schema") or {}).get("properties") or {}) != set(_Report.model_fields):
            return "A map request's output format is not the `schema` it was given; build it from that argument."
    if t.calls != len(partitions):
        return f"On {label} it made {t.calls} model calls for {len(partitions)} partitions; map is one call per partition."
    covered: list[str] = []
    for n, body in enumerate(t.requests, 1):
        sent = _sent_text(body)
        holds = [name for name, lines in partitions.items() if any(line in sent for line in lines)]
        if len(holds) != 1:
            return (f"On {label} request {n} carries lines of {len(holds)} partitions; each map call gets one "
                    "partition's lines and nothing else.")
        missing = [line for line in partitions[holds[0]] if line not in sent]
        if missing:
            return (f"On {label} request {n} leaves out {len(missing)} of its partition's {len(partitions[holds[0]])} "
                    f"lines (for example {missing[0]!r}); send the whole partition.")
        covered.append(holds[0])
    if sorted(covered) != sorted(partitions):
        return f"On {label} some partitions were sent twice and others never."
    if t.error:
        return f"On {label} it raised {t.error[:200]}."
    if t.value not in partitions:
        return f"It returned {t.value!r:.60}; return the name (a key of `partitions`) of the worst partition."
    if t.value != case["worst"]:
        return (f"On {label} it returned {t.value!r}, but another partition's report has a higher p95_ms. The reduce "
                "step picks the partition whose report says it was slowest.")
    return None


def _check_map_reduce(answer: Any) -> Verdict:
    fn = as_function(answer, "map_reduce")
    seed = random.SystemRandom().randrange(1, 10_000)
    for case in (_map_case(None), _map_case(seed), _map_case(seed + 1)):
        problem = _judge_map_reduce(fn, case)
        if problem:
            return wrong(problem)
    return passed("One structured call per partition with only its lines, and a reduce that reads the reports: "
                  "right on the lesson's weeks and two sets of hidden partitions.")


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
    FunctionTask("map_reduce", "Map, then reduce", _check_map_reduce,
                 "a function map_reduce(client, partitions, schema) -> the name of the slowest partition",
                 ("Two phases. Map: the same model call once per partition, each seeing only its own lines, each "
                  "coming back as data. Reduce: plain code over those reports. (Next: lab.hint('map_reduce', 2).)",
                  "Loop over partitions.items(); for each, client.messages.parse(..., output_format=schema) with "
                  "that partition's lines in the user message. Keep the parsed reports in a dict by name.",
                  "The reduce is max() over the dict's keys, with a key function that reads each report's p95_ms; "
                  "skip a partition whose parsed_output is None."),
                 probes=((None, {}, None),)),
], solutions={
    "partition_by_endpoint": """
        def partition_by_endpoint(lines):
            "Group log lines by endpoint, keeping their order."
            partitions = {}
            for line in lines:
                partitions.setdefault(line.split()[2], []).append(line)
            return partitions
    """,
    "map_reduce": """
        import agentkit

        def map_reduce(client, partitions, schema):
            "Map: one structured report per partition. Reduce: the name of the slowest partition."
            reports = {}
            for name, lines in partitions.items():
                reply = client.messages.parse(
                    model=agentkit.FAST_MODEL, max_tokens=400, output_format=schema,
                    system="Report on these access-log lines: slowest endpoint by p95, most 5xx errors.",
                    messages=[{"role": "user", "content": "\\n".join(lines)}],
                )
                if reply.parsed_output is not None:
                    reports[name] = reply.parsed_output
            return max(reports, key=lambda name: reports[name].p95_ms)
    """,
}, answers={"partition_by_endpoint": "partition_by_endpoint", "map_reduce": "map_reduce"})
