"""Multi-agent systems: a team of specialists, how they talk, and what it costs.

Each agent is defined by a **role** (`Role`): a job description (its system
prompt), *only* the tools that job needs, the model it runs on, and the
schema of what it hands on. Four ways for the team to communicate, simplest
first:

- `run_sequential`: each agent finishes, then hands its output to the next;
- `run_parallel`: independent agents work at the same time, one agent combines;
- `run_managed`: a manager agent delegates to specialists and they report back
  to it, never to each other; a specialist may manage its own sub-agents
  (a deeper hierarchy) by having `reports` of its own;
- `run_all_to_all`: every agent reads every message and posts to the others,
  round after round.

**Handoffs are typed**: a role with an `output` schema gets it through structured
outputs (`output_config.format`, never "reply in JSON" in a prompt), and what it
passes on is validated against the pydantic model at every handoff (`handoff`),
limits included that the API cannot enforce. A malformed handoff raises a
`HandoffError` that names the sender, the receiver and the field, instead of
confusing the next agent; with ``on_error="stop"`` the run ends there and the
`TeamRun` reports the failed step (`error`, `describe()`).

**Tracing shows the topology.** Every agent run is an ``invoke_agent {name}``
span (from `agentkit.Agent`); a handoff is a ``handoff {from} -> {to}`` span;
a delegation nests the specialist's span under the manager's; an all-to-all
message is an ``agentkit.message`` event. `topology(trace)` reads the team's
shape back from the spans and `draw_topology` draws it (a partial run too: an
agent a handoff named but that never ran is drawn as such). `timeline` lays a
sequential or parallel run out in the seconds its cost adds up.

**Costs add up the way the work ran** (`agentkit.patterns.measure.Cost`):
sequential work adds seconds, parallel work waits only for the slowest branch.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Literal, Sequence, TypeVar, cast

import anthropic
import pydantic
from opentelemetry import trace

from agentkit.agent import CURRENT_STEP, Agent, RunResult
from agentkit.models import DEFAULT_MODEL
from agentkit.patterns.measure import Cost, Meter
from agentkit.jsontext import extract_json
from agentkit.tools import Tool, ToolError, as_tool, tool

__all__ = [
    "Edge", "HandoffError", "Role", "RoleRun", "Team", "TeamRun", "Topology", "agent_spans", "draw_topology",
    "handoff", "redundant_calls", "topology",
]

_tracer = trace.get_tracer("agentkit")


class HandoffError(ValueError):
    """A handoff whose content does not match its schema; the message names sender, receiver and fields.

    Raised by `Team.run_role`, it carries the sender's run as `.run` (its text and cost), so a team that
    stops on it can still show and price what ran."""

    run: "RoleRun | None" = None


@dataclass(frozen=True)
class Role:
    """One agent's job: its name, instructions, tools, model and the schema of what it hands on.

    `reports` makes it a manager: it gets a ``delegate`` tool that runs one of
    these roles on a task (and passes it named earlier outputs), and nothing else
    of theirs.
    """

    name: str
    system: str
    tools: tuple[Any, ...] = ()  # Tool objects or plain functions; turned into Tools on creation
    output: type[pydantic.BaseModel] | None = None
    model: str = DEFAULT_MODEL
    reports: tuple["Role", ...] = ()
    max_steps: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "tools", tuple(as_tool(t) for t in self.tools))
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"a role's name must be letters, digits and underscores, got {self.name!r}")

    def with_model(self, model: str) -> "Role":
        """The same role on another model."""
        return Role(self.name, self.system, self.tools, self.output, model, self.reports, self.max_steps)


@dataclass
class RoleRun:
    """One agent's run: its text, its validated output (if it has a schema), and its cost."""

    role: Role
    text: str
    output: pydantic.BaseModel | None
    cost: Cost
    result: RunResult


@dataclass
class TeamRun:
    """A team's run: every agent's run in the order they finished, the final output, the total cost.

    With ``on_error="stop"`` a run that hit an invalid handoff ends there: `error` holds the message (the
    sender, the receiver and the fields), `final` is None, and `runs` and `cost` cover what did run."""

    pattern: str
    runs: list[RoleRun]
    final: Any
    cost: Cost
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every step ran and every handoff was valid."""
        return self.error is None

    def describe(self) -> str:
        """One line per agent that ran, and the failed step if there was one: what a notebook prints."""
        lines = [f"{r.role.name:14} {'handed on ' + type(r.output).__name__ if r.output is not None else 'replied'}"
                 f" · {r.cost}" for r in self.runs]
        if self.error:
            lines.append(f"FAILED STEP: {self.error}")
        return "\n".join(lines)

    def by_role(self, name: str) -> RoleRun:
        for r in self.runs:
            if r.role.name == name:
                return r
        raise KeyError(f"no run of {name!r}; roles that ran: {', '.join(r.role.name for r in self.runs)}")


def handoff(sender: str, receiver: str, schema: type[pydantic.BaseModel], text: str) -> pydantic.BaseModel:
    """Validate what `sender` hands to `receiver` against `schema`; a ``handoff`` span records it.

    Raises `HandoffError` with every problem (field and reason) if it does not fit.
    """
    with _tracer.start_as_current_span(f"handoff {sender} -> {receiver}", attributes={
        "agentkit.handoff.from": sender, "agentkit.handoff.to": receiver, "agentkit.handoff.schema": schema.__name__,
    }) as span:
        try:
            value = schema.model_validate_json(extract_json(text))
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            if isinstance(exc, pydantic.ValidationError):
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors())
            else:
                problems = str(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, problems[:200]))
            span.set_attribute("error.type", "invalid_handoff")
            raise HandoffError(
                f"{sender} -> {receiver}: the {schema.__name__} handoff is invalid: {problems}. "
                f"Fix {sender}'s output (or its instructions) so it matches {schema.__name__}."
            ) from None
        span.set_attribute("agentkit.handoff.bytes", len(text))
    return value


class Team:
    """The roles of a team, the client they run on, and the meter that prices them."""

    def __init__(self, client: Any, roles: Sequence[Role], *, meter: Meter) -> None:
        self.client = client
        self.meter = meter
        self.roles = {r.name: r for r in roles}
        if len(self.roles) != len(roles):
            raise ValueError("two roles share a name")
        self._runs_seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def _client_for(self, role: Role, prompt: str) -> Any:
        """The client one agent run uses: the team's own against the real API; offline, a copy over a
        simulator of its own.

        Why: the simulator numbers the ids it hands out (``toolu_...``) in the order requests
        arrive, and those ids go back in the agent's next request, where they change its token count
        and its seeded latency. Agents running at the same time would race for the numbers, so the
        same lesson would give slightly different figures from run to run. An agent run with its own
        simulator (same scenarios, a seed derived from the role and its prompt) gets the same ids every
        time, whatever runs beside it.
        """
        from agentkit.sim import simulator_of

        shared = simulator_of(self.client)
        if shared is None:
            return self.client
        import httpx2

        from agentkit.sim import Simulator, SimTransport

        key = f"{role.name}\n{prompt}"
        with self._lock:
            n = self._runs_seen[key] = self._runs_seen.get(key, 0) + 1
        digest = hashlib.sha256(f"{shared.seed}:{key}:{n}".encode()).digest()
        own = Simulator(seed=int.from_bytes(digest[:4], "big"), scenarios=shared.scenarios, faults=shared.faults,
                        latency=shared.latency)
        copy = self.client.with_options(http_client=httpx2.Client(transport=SimTransport(own)))
        copy._agentkit_simulator = own
        return copy

    def role(self, name: str) -> Role:
        try:
            return self.roles[name]
        except KeyError:
            raise KeyError(f"no role {name!r}; roles: {', '.join(self.roles)}") from None

    # -- one agent --------------------------------------------------------------
    def run_role(self, role: Role | str, prompt: str, *, receiver: str | None = None) -> RoleRun:
        """Run one role's agent on `prompt`; validate its output as a handoff to `receiver` if it has a schema."""
        role = self.role(role) if isinstance(role, str) else role
        delegated: list[tuple[int, Cost]] = []
        tools = list(role.tools)
        if role.reports:
            tools.append(self._delegate_tool(role, delegated))
        client = self._client_for(role, prompt)
        options: dict[str, Any] = {}
        if role.output is not None:
            # Structured outputs: the API constrains the final reply to the handoff's JSON Schema, so a role
            # is never asked for "JSON in prose". transform_schema (the SDK's) moves what the API cannot
            # enforce (minItems > 1, patterns, lengths) into descriptions; `handoff` still checks all of it.
            options["output_config"] = {"format": {"type": "json_schema",
                                                   "schema": anthropic.transform_schema(role.output)}}
        agent = Agent(client, model=role.model, system=role.system, tools=tools, name=role.name,
                      max_steps=role.max_steps, max_tokens=1500, **options)
        try:
            result = agent.run(prompt)
        finally:
            if client is not self.client:
                client.close()  # the per-run copy's own HTTP client
        cost = _run_cost(self.meter, result, delegated)
        output = None
        if role.output is not None:
            try:
                output = handoff(role.name, receiver or "team", role.output, result.text)
            except HandoffError as error:
                error.run = RoleRun(role, result.text, None, cost, result)
                raise
        return RoleRun(role, result.text, output, cost, result)

    def _delegate_tool(self, manager: Role, delegated: list[tuple[int, Cost]]) -> Tool:
        reports = {r.name: r for r in manager.reports}
        board: dict[str, str] = {}  # what each report handed back, for later delegations to use

        def delegate(role: str, task: str, inputs: list[str] | None = None) -> str:
            """Give a task to one of your reports and get back their validated output (JSON).

            Args:
                role: which report does it
                task: what they should do, in a sentence or two
                inputs: names of reports whose earlier output they need (it is passed to them)
            """
            if role not in reports:
                raise ToolError(f"{role!r} does not report to {manager.name}; reports: {', '.join(reports)}")
            missing = [name for name in inputs or [] if name not in board]
            if missing:
                raise ToolError(f"no output from {', '.join(missing)} yet; delegate to them first")
            prompt = task + "".join(f"\n\nOutput of {name}:\n{board[name]}" for name in inputs or [])
            run = self.run_role(reports[role], prompt, receiver=manager.name)
            delegated.append((CURRENT_STEP.get(), run.cost))
            text = run.output.model_dump_json() if run.output is not None else run.text
            board[role] = text
            return text

        return tool(delegate, name="delegate")


def _run_cost(meter: Meter, result: RunResult, delegated: Sequence[tuple[int, Cost]]) -> Cost:
    """An agent's cost: per step, its model call, then the delegations it asked for in that step
    (run at the same time, so the step waits for the slowest)."""
    steps = []
    for step in result.steps:
        subs = [c for s, c in delegated if s == step.index]
        steps.append(meter.cost(step.response) + Cost.parallel(subs))
    return Cost.sequential(steps)


T = TypeVar("T")


def _in_parallel(fns: Sequence[Callable[[], T]]) -> list[T]:
    # Each worker runs in a copy of this context, so its spans nest under the current (team) span.
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn) for fn in fns]
        return [f.result() for f in futures]


def _team_span(pattern: str) -> Any:
    return _tracer.start_as_current_span(f"team {pattern}", attributes={"agentkit.pattern": f"multi_agent.{pattern}"})


# ---------------------------------------------------------------------------
# The four communication patterns
# ---------------------------------------------------------------------------


OnError = Literal["raise", "stop"]


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "stop"):
        raise ValueError(f"on_error must be 'raise' or 'stop', got {on_error!r}")


def _stopped(pattern: str, runs: list[RoleRun], cost: Cost, error: HandoffError) -> TeamRun:
    return TeamRun(pattern, runs, None, cost, str(error))


def run_sequential(team: Team, order: Sequence[str], brief: str,
                   prompt_for: Callable[[str, dict[str, RoleRun]], str] | None = None, *,
                   on_error: OnError = "raise") -> TeamRun:
    """Each role in `order` runs after the previous one and gets every earlier output.

    `prompt_for(role, earlier_runs)` builds a role's prompt; by default the brief
    plus the earlier roles' validated outputs. An invalid handoff raises `HandoffError`, or with
    ``on_error="stop"`` ends the run there and is reported on the `TeamRun` (a failed step, not a traceback).
    """
    _check_on_error(on_error)
    prompt_for = prompt_for or _default_prompt(brief)
    runs: dict[str, RoleRun] = {}
    with _team_span("sequential"):
        for i, name in enumerate(order):
            receiver = order[i + 1] if i + 1 < len(order) else "team"
            try:
                runs[name] = team.run_role(name, prompt_for(name, runs), receiver=receiver)
            except HandoffError as error:
                if on_error == "raise":
                    raise
                done = [*runs.values(), *([error.run] if error.run else [])]
                return _stopped("sequential", done, Cost.sequential(r.cost for r in done), error)
    done = list(runs.values())
    return TeamRun("sequential", done, done[-1].output or done[-1].text, Cost.sequential(r.cost for r in done))


def run_parallel(team: Team, branches: Sequence[str], combiner: str, brief: str,
                 prompt_for: Callable[[str, dict[str, RoleRun]], str] | None = None, *,
                 on_error: OnError = "raise") -> TeamRun:
    """The `branches` roles run at the same time; then `combiner` gets all their outputs.

    An invalid handoff raises `HandoffError`, or with ``on_error="stop"`` ends the run after the step that
    failed (the other branches still finish) and is reported on the `TeamRun`."""
    _check_on_error(on_error)
    prompt_for = prompt_for or _default_prompt(brief)

    def branch(name: str) -> RoleRun | HandoffError:
        try:
            return team.run_role(name, prompt_for(name, {}), receiver=combiner)
        except HandoffError as error:
            if on_error == "raise":
                raise
            return error

    with _team_span("parallel"):
        outcomes = _in_parallel([partial(branch, name) for name in branches])
        parallel: list[RoleRun] = []
        failed: list[HandoffError] = []
        for outcome in outcomes:
            if isinstance(outcome, RoleRun):
                parallel.append(outcome)
            else:
                failed.append(outcome)
                if outcome.run is not None:
                    parallel.append(outcome.run)
        if failed:
            return _stopped("parallel", parallel, Cost.parallel(r.cost for r in parallel), failed[0])
        runs = {r.role.name: r for r in parallel}
        try:
            last = team.run_role(combiner, prompt_for(combiner, runs), receiver="team")
        except HandoffError as error:
            if on_error == "raise" or error.run is None:
                raise
            done = [*parallel, error.run]
            return _stopped("parallel", done, Cost.parallel(r.cost for r in parallel) + error.run.cost, error)
    cost = Cost.parallel(r.cost for r in parallel) + last.cost
    return TeamRun("parallel", [*parallel, last], last.output or last.text, cost)


def run_managed(team: Team, manager: str, brief: str, *, on_error: OnError = "raise") -> TeamRun:
    """The manager agent delegates to its reports (its `delegate` tool) and assembles the result.

    Specialists report to the manager only; a report with reports of its own
    manages them the same way (a deeper hierarchy). A report's invalid handoff comes back to the manager
    as a failed tool call (it may retry); the manager's own invalid output raises `HandoffError`, or with
    ``on_error="stop"`` is reported on the `TeamRun`.
    """
    _check_on_error(on_error)
    with _team_span("manager"):
        try:
            run = team.run_role(manager, brief)
        except HandoffError as error:
            if on_error == "raise" or error.run is None:
                raise
            return _stopped("manager", [error.run], error.run.cost, error)
    return TeamRun("manager", [run], run.output or run.text, run.cost)


@dataclass(frozen=True)
class Message:
    """One all-to-all message."""

    round: int
    sender: str
    text: str


def run_all_to_all(team: Team, members: Sequence[str], brief: str, rounds: int = 2) -> TeamRun:
    """Every member reads every message so far and posts one to all the others, for `rounds` rounds.

    Members of a round work at the same time. Each post is an ``agentkit.message``
    event (sender, round) on the team span.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    board: list[Message] = []
    all_runs: list[RoleRun] = []
    round_costs = []
    with _team_span("all_to_all") as span:
        for n in range(1, rounds + 1):
            transcript = "\n".join(f"[round {m.round}] {m.sender}: {m.text}" for m in board) or "(no messages yet)"
            prompt = f"{brief}\n\nRound {n} of {rounds}. Messages so far:\n{transcript}"
            runs = _in_parallel([partial(team.run_role, name, prompt) for name in members])
            for r in runs:
                board.append(Message(n, r.role.name, r.text))
                span.add_event("agentkit.message", {"agentkit.message.from": r.role.name, "agentkit.message.to": "*",
                                                    "agentkit.message.round": n})
            all_runs += runs
            round_costs.append(Cost.parallel(r.cost for r in runs))
    return TeamRun("all_to_all", all_runs, board, Cost.sequential(round_costs))


def _default_prompt(brief: str) -> Callable[[str, dict[str, RoleRun]], str]:
    def prompt_for(name: str, earlier: dict[str, RoleRun]) -> str:
        parts = [brief]
        for other, run in earlier.items():
            body = run.output.model_dump_json() if run.output is not None else run.text
            parts.append(f"Output of {other}:\n{body}")
        return "\n\n".join(parts)

    return prompt_for


# ---------------------------------------------------------------------------
# Reading a team's shape and its pitfalls from a trace
# ---------------------------------------------------------------------------


def agent_spans(spans: Any) -> list[Any]:
    """The ``invoke_agent`` spans of a trace (or any iterable of spans), in start order."""
    return sorted((s for s in spans if s.name.startswith("invoke_agent ")), key=lambda s: s.start_time or 0)


def _agent_name(span: Any) -> str:
    return str((span.attributes or {}).get("gen_ai.agent.name") or span.name.removeprefix("invoke_agent "))


def _parent_agents(spans: list[Any]) -> dict[int, Any]:
    """span id -> the nearest enclosing invoke_agent span (if any), for every span."""
    by_id = {s.context.span_id: s for s in spans}
    out: dict[int, Any] = {}
    for s in spans:
        parent = s.parent.span_id if s.parent is not None else None
        while parent is not None and parent in by_id:
            candidate = by_id[parent]
            if candidate.name.startswith("invoke_agent "):
                out[s.context.span_id] = candidate
                break
            parent = candidate.parent.span_id if candidate.parent is not None else None
    return out


@dataclass(frozen=True)
class Edge:
    """A relation between two agents seen in a trace."""

    source: str
    target: str
    kind: Literal["delegates", "handoff", "message"]


@dataclass
class Topology:
    """The agents of a trace and the edges between them."""

    agents: list[str]
    edges: list[Edge] = field(default_factory=list)

    def edges_of(self, kind: str) -> list[tuple[str, str]]:
        return [(e.source, e.target) for e in self.edges if e.kind == kind]

    def __str__(self) -> str:
        lines = [f"agents: {', '.join(self.agents)}"]
        lines += [f"  {e.source} --{e.kind}--> {e.target}" for e in self.edges]
        return "\n".join(lines)


def topology(spans: Any) -> Topology:
    """Read a team's shape from its spans: who delegated to whom (an agent span nested in another's),
    who handed off to whom (handoff spans), and all-to-all messages (message events).

    The order is stable from run to run even when agents ran at the same time: agents by their
    level under managers, then by how many agents had finished before they started, then by name.
    """
    spans = list(spans)
    runs = agent_spans(spans)
    parents = _parent_agents(spans)
    level: dict[str, int] = {}
    wave: dict[str, int] = {}
    for s in runs:
        name = _agent_name(s)
        depth, boss = 0, parents.get(s.context.span_id)
        while boss is not None:
            depth, boss = depth + 1, parents.get(boss.context.span_id)
        finished_before = sum(1 for o in runs if o.end_time is not None and o.end_time <= (s.start_time or 0))
        level.setdefault(name, depth)
        wave.setdefault(name, finished_before)
    agents = sorted(level, key=lambda a: (level[a], wave[a], a))
    edges: set[Edge] = set()
    for s in runs:
        boss = parents.get(s.context.span_id)
        if boss is not None:
            edges.add(Edge(_agent_name(boss), _agent_name(s), "delegates"))
    for s in spans:
        attrs = s.attributes or {}
        if s.name.startswith("handoff ") and "agentkit.handoff.from" in attrs:
            target = str(attrs["agentkit.handoff.to"])
            if target != "team":
                edges.add(Edge(str(attrs["agentkit.handoff.from"]), target, "handoff"))
        for event in s.events:
            if event.name == "agentkit.message":
                sender = str((event.attributes or {}).get("agentkit.message.from"))
                edges.update(Edge(sender, other, "message") for other in agents if other != sender)
    kinds = ("delegates", "handoff", "message")
    position = {a: i for i, a in enumerate(agents)}
    ordered = sorted(edges, key=lambda e: (kinds.index(e.kind), position.get(e.source, 0), position.get(e.target, 0)))
    return Topology(agents, ordered)


_EDGE_STYLE = {"delegates": ("#3b78c2", "-"), "handoff": ("#e8912d", "-"), "message": ("#999999", ":")}


def draw_topology(topo: Topology, ax: Any = None, title: str | None = None) -> Any:
    """Draw a `Topology`: agents as boxes in layers (a manager above its reports, a handoff chain
    left to right), delegations in blue, handoffs in orange, messages dotted grey. Returns the Figure.

    Works on a partial or failed run too: an agent that an edge names but that never ran (a handoff to an
    agent the run stopped before) is drawn as a dashed grey box marked "never ran"."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    ran = set(topo.agents)
    agents = list(dict.fromkeys([*topo.agents, *(n for e in topo.edges for n in (e.source, e.target))]))
    delegates = topo.edges_of("delegates")
    handoffs = topo.edges_of("handoff")
    # Layer: depth under managers; within a layer, order by handoff chain position, then first appearance.
    depth = {a: 0 for a in agents}
    for _ in agents:
        for boss, report in delegates:
            depth[report] = max(depth[report], depth[boss] + 1)
    rank = {a: 0 for a in agents}
    for _ in agents:
        for a, b in handoffs:
            if depth[a] == depth[b]:
                rank[b] = max(rank[b], rank[a] + 1)
    pos: dict[str, tuple[float, float]] = {}
    chain = any(depth[a] == depth[b] for a, b in handoffs)
    if chain:
        # A handoff chain reads left to right; agents at the same point of it are stacked.
        columns: dict[int, list[str]] = {}
        for a in agents:
            columns.setdefault(rank[a], []).append(a)
        for r, names in columns.items():
            for i, name in enumerate(names):
                pos[name] = ((r + 0.5) / len(columns), 0.55 + 0.3 * (i - (len(names) - 1) / 2))
    else:
        # A hierarchy reads top to bottom, one row per level.
        layers: dict[int, list[str]] = {}
        for a in agents:
            layers.setdefault(depth[a], []).append(a)
        for d, names in layers.items():
            for i, name in enumerate(names):
                pos[name] = ((i + 1) / (len(names) + 1), 1 - d / (max(layers) + 1 or 1))
    boxes: dict[str, Any] = {}
    for name, (x, y) in pos.items():
        if name in ran:
            boxes[name] = ax.text(x, y, name, ha="center", va="center", fontsize=11, zorder=3,
                                  bbox=dict(boxstyle="round,pad=0.45", facecolor="#eef2f8", edgecolor="#3b78c2"))
        else:
            boxes[name] = ax.text(x, y, f"{name}\n(never ran)", ha="center", va="center", fontsize=10, zorder=3,
                                  color="#777777", bbox=dict(boxstyle="round,pad=0.45", facecolor="white",
                                                             edgecolor="#999999", linestyle="--"))
    edge_set = {(e.source, e.target) for e in topo.edges}
    for kind, (colour, style) in _EDGE_STYLE.items():
        for a, b in topo.edges_of(kind):
            # Two-way pairs (a delegation and the handoff back) curve apart, so both arrows show.
            rad = 0.25 if kind == "message" else (0.18 if (b, a) in edge_set else 0.0)
            # Clipped to the two boxes (patchA/patchB), so every arrowhead ends at the edge of its box; drawn after
            # the boxes (zorder), whose outlines are only placed when they draw.
            ax.annotate("", xy=pos[b], xytext=pos[a], zorder=4, arrowprops=dict(
                arrowstyle="-|>", color=colour, linestyle=style, lw=1.5, mutation_scale=16, shrinkA=2, shrinkB=2,
                patchA=boxes[a].get_bbox_patch(), patchB=boxes[b].get_bbox_patch(),
                connectionstyle=f"arc3,rad={rad}"))
    from matplotlib.lines import Line2D

    present = [k for k in _EDGE_STYLE if topo.edges_of(k)]
    ax.legend(handles=[Line2D([], [], color=_EDGE_STYLE[k][0], linestyle=cast(Any, _EDGE_STYLE[k][1]), label=k) for k in present],
              loc="lower center", bbox_to_anchor=(0.5, -0.12), ncol=len(present) or 1, fontsize=10, frameon=False)
    ax.set_xlim(0, 1)
    ys = [y for _, y in pos.values()] or [0.5]
    ax.set_ylim(min(ys) - 0.25, max(ys) + 0.2)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=12)
    return fig


def timeline(run: TeamRun) -> list[tuple[str, float, float]]:
    """When each agent of a sequential or parallel `TeamRun` worked, in the seconds its `cost` adds up:
    (role, start, seconds). Sequential agents follow each other; parallel branches start together and the
    combiner starts when the slowest is done. The bars of a chart drawn from it sum to `run.cost.seconds`,
    whatever Python spent around the model calls (a traced waterfall shows that too, so it runs longer)."""
    if run.pattern not in ("sequential", "parallel"):
        raise ValueError(f"timeline() draws sequential and parallel runs; this one is {run.pattern!r}")
    rows: list[tuple[str, float, float]] = []
    if run.pattern == "sequential":
        t = 0.0
        for r in run.runs:
            rows.append((r.role.name, t, r.cost.seconds))
            t += r.cost.seconds
        return rows
    # The combiner ran if the run succeeded, or if its own handoff (to the team) is what failed.
    combined = bool(run.runs) and (run.ok or (run.error or "").startswith(f"{run.runs[-1].role.name} -> team:"))
    branches = run.runs[:-1] if combined else run.runs
    rows = [(r.role.name, 0.0, r.cost.seconds) for r in branches]
    if combined:
        last = run.runs[-1]
        rows.append((last.role.name, max((r.cost.seconds for r in branches), default=0.0), last.cost.seconds))
    return rows


def redundant_calls(spans: Any) -> list[tuple[str, str, list[str]]]:
    """Tool calls made more than once with the same arguments, from a trace:
    (tool, arguments, the agents that made them). Redundant work, counted."""
    spans = list(spans)
    parents = _parent_agents(spans)
    seen: dict[tuple[str, str], list[str]] = {}
    for s in sorted(spans, key=lambda s: s.start_time or 0):
        attrs = s.attributes or {}
        if attrs.get("gen_ai.operation.name") != "execute_tool" or attrs.get("gen_ai.tool.name") == "delegate":
            continue
        key = (str(attrs.get("gen_ai.tool.name")), str(attrs.get("gen_ai.tool.call.arguments", "")))
        owner = parents.get(s.context.span_id)
        seen.setdefault(key, []).append(_agent_name(owner) if owner is not None else "?")
    return [(name, args, who) for (name, args), who in seen.items() if len(who) > 1]


def overlaps(a: Any, b: Any) -> bool:
    """Whether two spans ran at the same time for a moment."""
    return a.start_time < b.end_time and b.start_time < a.end_time


__all__ += ["Message", "OnError", "timeline", "overlaps", "run_all_to_all", "run_managed", "run_parallel", "run_sequential"]
