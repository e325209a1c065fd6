"""Decomposing big work across agents: split it, run the pieces, put the results together.

A piece of work is a `Subtask`: which role does it, with what prompt, after
which other subtasks (`depends_on`). A subtask may itself be split into
`parts`, which is how decompositions mix. `run_decomposed` works out the
order (`waves`: everything whose dependencies are done runs at the same time)
and runs it on a `agentkit.patterns.multi_agent.Team`, passing each subtask the
outputs of the subtasks it depends on and nothing else.

Four ways to split, one helper each:

- `by_function`: by kind of expertise (frontend, backend, database), pieces
  that can run side by side;
- `by_space`: by place (a directory of the codebase per agent), so agents
  never touch the same files;
- `by_time`: in phases, each starting when the previous one is done
  (research -> planning -> assets -> launch);
- `by_data`: by partition of the data (a week of logs per agent), with an
  aggregation step at the end.

Costs follow the shape: a wave costs its slowest subtask in seconds and all of
them in tokens; waves add up (`agentkit.patterns.measure.Cost`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Mapping, Sequence

from opentelemetry import trace

from agentkit.patterns.measure import Cost
from agentkit.patterns.multi_agent import HandoffError, OnError, RoleRun, Team, _check_on_error, _in_parallel

__all__ = ["DecomposedRun", "Subtask", "by_data", "by_function", "by_space", "by_time", "run_decomposed", "waves"]

_tracer = trace.get_tracer("agentkit")


@dataclass(frozen=True)
class Subtask:
    """One piece of the work: done by `role` (or split further into `parts`) after `depends_on`."""

    name: str
    prompt: str
    role: str | None = None
    depends_on: tuple[str, ...] = ()
    parts: tuple["Subtask", ...] = ()

    def __post_init__(self) -> None:
        if (self.role is None) == (not self.parts):
            raise ValueError(f"subtask {self.name!r} needs either a role to do it or parts to split into (not both)")


def waves(subtasks: Sequence[Subtask]) -> list[list[Subtask]]:
    """The subtasks in waves: each wave holds those whose dependencies all ran in earlier waves.

    Raises ValueError naming an unknown dependency or a cycle.
    """
    names = [s.name for s in subtasks]
    if len(set(names)) != len(names):
        raise ValueError(f"two subtasks share a name: {names}")
    for s in subtasks:
        for d in s.depends_on:
            if d not in names:
                raise ValueError(f"subtask {s.name!r} depends on {d!r}, which is not a subtask ({', '.join(names)})")
    done: set[str] = set()
    left = list(subtasks)
    out: list[list[Subtask]] = []
    while left:
        ready = [s for s in left if set(s.depends_on) <= done]
        if not ready:
            raise ValueError(f"these subtasks depend on each other in a cycle: {', '.join(s.name for s in left)}")
        out.append(ready)
        done |= {s.name for s in ready}
        left = [s for s in left if s.name not in done]
    return out


@dataclass
class DecomposedRun:
    """What a decomposed run produced: each subtask's output text, its runs, and the total cost."""

    name: str
    outputs: dict[str, str]
    runs: list[RoleRun]
    cost: Cost
    waves: list[list[str]] = field(default_factory=list)
    #: with on_error="stop": each subtask whose handoff failed, and why (its output is then that message)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every subtask's handoff was valid."""
        return not self.errors

    @property
    def peak_input_tokens(self) -> int:
        """The largest single request any agent sent: how big one context got."""
        return max((step.reply.usage.input_tokens for r in self.runs for step in r.result.steps), default=0)


def run_decomposed(team: Team, subtasks: Sequence[Subtask], *, name: str = "work",
                   on_error: OnError = "raise") -> DecomposedRun:
    """Run `subtasks` wave by wave on `team`; a subtask gets the outputs of its dependencies.

    Traced as ``decompose {name}``, with a ``subtask {name}`` span around each piece. A subtask whose role
    hands on an invalid output raises `HandoffError`, or with ``on_error="stop"`` is a failed step: its output
    is "FAILED STEP: ..." (what its dependents then receive), and `errors` names it.
    """
    _check_on_error(on_error)
    plan = waves(subtasks)
    outputs: dict[str, str] = {}
    errors: dict[str, str] = {}
    runs: list[RoleRun] = []
    wave_costs: list[Cost] = []
    with _tracer.start_as_current_span(f"decompose {name}", attributes={"agentkit.pattern": "decomposition",
                                                                         "agentkit.decomposition.waves": len(plan)}):
        for wave in plan:
            results = _in_parallel([partial(_run_one, team, s, outputs, on_error) for s in wave])
            for s, (text, sub_runs, cost, failed) in zip(wave, results):
                outputs[s.name] = text
                runs += sub_runs
                errors.update(failed)
            wave_costs.append(Cost.parallel(cost for _, _, cost, _ in results))
    return DecomposedRun(name, outputs, runs, Cost.sequential(wave_costs), [[s.name for s in w] for w in plan], errors)


def _run_one(team: Team, subtask: Subtask, outputs: Mapping[str, str],
             on_error: OnError = "raise") -> tuple[str, list[RoleRun], Cost, dict[str, str]]:
    prompt = subtask.prompt + "".join(f"\n\nOutput of {d}:\n{outputs[d]}" for d in subtask.depends_on)
    with _tracer.start_as_current_span(f"subtask {subtask.name}", attributes={"agentkit.subtask": subtask.name}):
        if subtask.parts:
            # A subtask split further: its parts see its own inputs through its prompt.
            parts = [Subtask(p.name, p.prompt + (f"\n\n{prompt}" if not p.depends_on else ""), p.role,
                             p.depends_on, p.parts) for p in subtask.parts]
            inner = run_decomposed(team, parts, name=subtask.name, on_error=on_error)
            last = inner.waves[-1]
            return "\n\n".join(inner.outputs[n] for n in last), inner.runs, inner.cost, inner.errors
        try:
            run = team.run_role(subtask.role or "", prompt)
        except HandoffError as error:
            if on_error == "raise" or error.run is None:
                raise
            return f"FAILED STEP: {error}", [error.run], error.run.cost, {subtask.name: str(error)}
        return run.text, [run], run.cost, {}


# ---------------------------------------------------------------------------
# Four ways to split
# ---------------------------------------------------------------------------


def by_function(task: str, specialists: Mapping[str, str]) -> list[Subtask]:
    """One subtask per specialty: `specialists` maps a role to its part of `task`. They run side by side."""
    return [Subtask(role, f"{task}\nYour part: {part}", role) for role, part in specialists.items()]


def by_space(task: str, paths: Sequence[str], role_for: Mapping[str, str], depth: int = 2) -> list[Subtask]:
    """One subtask per directory (the first `depth` parts of each path); `role_for` maps a directory to
    the role that owns it. No file is in two subtasks, so no two agents edit the same file."""
    groups: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        groups["/".join(p.split("/")[:depth]) + "/"].append(p)
    missing = [d for d in groups if d not in role_for]
    if missing:
        raise ValueError(f"no role owns {', '.join(missing)}; give role_for an entry for each directory")
    return [Subtask(d.strip("/").replace("/", "_"), f"{task}\nYour directory: {d}\nFiles: {', '.join(files)}",
                    role_for[d]) for d, files in groups.items()]


def by_time(phases: Sequence[tuple[str, str, str]]) -> list[Subtask]:
    """Phases `(name, role, prompt)`, each starting after the previous one and given its output."""
    out: list[Subtask] = []
    for name, role, prompt in phases:
        out.append(Subtask(name, prompt, role, (out[-1].name,) if out else ()))
    return out


def by_data(partitions: Mapping[str, str], role: str, prompt: str, aggregator: str,
            aggregate_prompt: str) -> list[Subtask]:
    """One subtask per data partition (`prompt` with ``{partition}`` filled in), all done by `role` side by
    side, then one `aggregator` subtask that gets every partition's output."""
    parts = [Subtask(name, prompt.format(partition=label), role) for name, label in partitions.items()]
    return [*parts, Subtask("aggregate", aggregate_prompt, aggregator, tuple(partitions))]
