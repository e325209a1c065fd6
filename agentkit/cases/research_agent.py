"""The 47-second research agent (Lesson 1's case study), rebuilt on the simulator.

As the course tells it, a production research agent took 47 seconds per
request; the team blamed the model, but a trace showed 34 of those seconds in
vector-database queries made one after another, and under 4 seconds of model
inference. This module rebuilds that agent so a learner can trace it and find
the cause:

    agent = build_research_agent(agentkit.client(scenarios=["l1_research"]))
    with agentkit.capture() as trace:
        agent.run(QUESTION)
    print(figures(trace))                       # ~47 s wall, ~34 s in vector_db.query

    fixed = build_research_agent(client, concurrent=True)   # the queries run at once

The agent has three tools: `web_search` (a slow external search API),
`retrieve` (a retriever that queries every collection of a vector store, each
query a manual `vector_db.query` span with the OpenTelemetry database
attributes) and `run_code` (a code executor that can fail part-way, returning
what it printed before it stopped; the code runs in `agentkit.sandbox`). The tools take *simulated* time with
`agentkit.sim.sleep`, so the real run stays about a second long while the
trace reports production-like seconds. What the model says is data:
`agentkit/scenarios/l1_research.yaml`.
"""

from __future__ import annotations

import ast
import contextvars
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from agentkit import clock, sim
from agentkit.agent import Agent, RunResult
from agentkit.clients import is_live
from agentkit.models import FAST_MODEL
from agentkit.pools import SharedPool
from agentkit.sandbox import Sandbox
from agentkit.tools import Tool, ToolError, tool
from agentkit.tracing import Trace, capture, tracer, union_length

__all__ = [
    "COLLECTIONS",
    "CUTOFF_QUESTION",
    "LAB_QUESTION",
    "QUESTION",
    "SYSTEM",
    "CaseFigures",
    "CodeExecutor",
    "ExecutionResult",
    "ResearchTools",
    "VectorStore",
    "build_research_agent",
    "figures",
    "research_tools",
    "run_traced",
    "trace_time_scale",
]

#: The request the case study traces (matched by the first scenario in l1_research.yaml).
QUESTION = "Why did our trial-to-paid conversion drop in Q3, and how do we compare with the industry?"
#: The longer request of Lab 1: eight steps that use all three tools.
LAB_QUESTION = "Write a short research brief on our Q3 trial-to-paid conversion drop, with figures and sources."
#: A request whose answer gets cut off at max_tokens (Lab 1, task 3).
CUTOFF_QUESTION = "List every Q3 support ticket about signup, in full."

SYSTEM = (
    "You are a research assistant for a software company. Use web_search for public information, retrieve for "
    "the company's internal documents, and run_code for any arithmetic. Cite your sources. Be brief."
)

#: The vector store's collections. The retriever queries every one of them per question: 17 queries.
COLLECTIONS: tuple[str, ...] = (
    "support_tickets", "sales_call_notes", "release_notes", "product_analytics", "nps_comments",
    "churn_surveys", "onboarding_docs", "pricing_pages", "experiment_logs", "incident_reports",
    "community_forum", "app_store_reviews", "crm_notes", "billing_events", "marketing_emails",
    "help_center", "roadmap",
)

# Simulated latencies (seconds), chosen so the traced run reproduces the course's figures:
# 17 queries x ~2 s = ~34 s of vector DB; a few fast model calls under 4 s; ~47 s in all.
QUERY_SECONDS = 2.0  # one vector-DB query (a managed store across a region, no batching)
QUERY_JITTER = 0.10  # sigma of the seeded log-normal spread of one query
SEARCH_SECONDS = 3.8  # one call to the external web-search API
SANDBOX_START_SECONDS = 4.0  # starting a fresh code sandbox
#: Offline, how long (real seconds) a run waits for the next sandbox interpreter to finish starting
WARM_UP_WAIT_OFFLINE = 0.08
SECONDS_PER_STATEMENT = 0.4  # running one statement in it
CODE_TIMEOUT_SECONDS = 30.0  # the sandbox is stopped after this long

#: `db.system.name` of the simulated store. The OTel registry lists no vector database, and the
#: convention says to use a custom value then; this one says plainly that it is simulated.
DB_SYSTEM = "agentkit.sim.vector_store"

CORPUS_FILE = "data/research_corpus.yaml"  # inside the agentkit package


def load_corpus(text: str, source: str = CORPUS_FILE) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The store's documents ({collection: texts}) and the web results ({topic: text}) from the corpus YAML.

    Lesson content lives in a data file (DESIGN); this checks its shape so a bad edit fails on import,
    saying where, rather than as an odd retrieval later.
    """
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or set(data) != {"collections", "web"}:
        raise ValueError(f"{source}: expected exactly two top-level keys, 'collections' and 'web'")
    documents: dict[str, tuple[str, ...]] = {}
    for name, texts in (data["collections"] or {}).items():
        if not (isinstance(name, str) and isinstance(texts, list) and texts
                and all(isinstance(t, str) and t.strip() for t in texts)):
            raise ValueError(f"{source}: collection {name!r} must be a name with a non-empty list of non-empty texts")
        documents[name] = tuple(texts)
    web = data["web"] or {}
    if not documents or not web or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                           for k, v in web.items()):
        raise ValueError(f"{source}: 'collections' and 'web' must be non-empty, and each web entry a topic: text")
    return documents, dict(web)


# What the store holds: a few short (made-up, clearly internal) documents per collection; what the web says.
_DOCUMENTS, _WEB = load_corpus(resources.files("agentkit").joinpath(CORPUS_FILE).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# Time: simulated seconds offline, real seconds live
# ---------------------------------------------------------------------------


def _sleeper(live: bool) -> Callable[[float], None]:
    # Offline the tools wait simulated seconds on the kit's clock (no real sleeping); against the real
    # API they take real seconds, so a live trace shows the same shape.
    return time.sleep if live else sim.sleep


def trace_time_scale(client: Any) -> float:
    """Always 1.0: spans are stamped with the kit's clock, so simulated seconds need no conversion.
    Kept so older notebooks' `capture(time_scale=trace_time_scale(client))` still runs; use `capture()`."""
    return 1.0


def run_traced(agent: Agent, prompt: str) -> tuple[RunResult, Trace]:
    """Run `agent` on `prompt` inside `capture()`; returns (result, trace): the same as
    `with capture() as trace: result = agent.run(prompt)`."""
    with capture() as trace:
        result = agent.run(prompt)
    return result, trace


def _jitter(key: str, sigma: float) -> float:
    """A seeded log-normal factor around 1: the same key always gives the same spread."""
    return math.exp(random.Random(key).gauss(0.0, sigma))


# ---------------------------------------------------------------------------
# The vector store and the retriever (manual spans: the database layer)
# ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _similarity(a: str, b: str) -> float:
    """Cosine similarity of word counts: a stand-in for embedding similarity, deterministic and fast."""
    ca, cb = Counter(_words(a)), Counter(_words(b))
    dot = sum(ca[w] * cb[w] for w in ca)
    norm = math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values()))
    return dot / norm if norm else 0.0


@dataclass(frozen=True)
class Hit:
    collection: str
    text: str
    score: float


class VectorStore:
    """A simulated vector database: one `query` per collection, each about `QUERY_SECONDS` long.

    Every query is a manual span `vector_db.query` carrying the OpenTelemetry
    database attributes (`db.system.name`, `db.collection.name`,
    `db.operation.name`, `db.response.returned_rows`). The span name stays the
    same for every collection so the spans group; which collection it was is
    an attribute.
    """

    def __init__(self, *, seed: int = 0, live: bool = False) -> None:
        self.seed = seed
        self._sleep = _sleeper(live)

    def query_seconds(self, collection: str, text: str) -> float:
        """The simulated latency of one query (seeded: the same query always takes the same time)."""
        return QUERY_SECONDS * _jitter(f"{self.seed}:{collection}:{text}", QUERY_JITTER)

    def query(self, collection: str, text: str, k: int = 2) -> list[Hit]:
        if collection not in _DOCUMENTS:
            raise ValueError(f"no collection {collection!r}; the store has {', '.join(COLLECTIONS)}")
        with tracer().start_as_current_span(
            "vector_db.query",
            attributes={
                "db.system.name": DB_SYSTEM,
                "db.collection.name": collection,
                "db.operation.name": "query",
            },
        ) as span:
            self._sleep(self.query_seconds(collection, text))
            hits = sorted((Hit(collection, doc, _similarity(text, doc)) for doc in _DOCUMENTS[collection]),
                          key=lambda h: -h.score)[:k]
            span.set_attribute("db.response.returned_rows", len(hits))
            return hits


#: One pool for every concurrent retriever, so a run does not pay for starting 17 threads; warm, so
#: thread start-up never shows in a traced run as query latency.
_pool = SharedPool(len(COLLECTIONS), "vector-db", warm=True)


class Retriever:
    """Queries every collection for a question and keeps the best hits.

    `concurrent=False` is the slow original: one query after another.
    `concurrent=True` is the fix: all queries at once on a thread pool, so the
    retrieval takes about as long as its slowest query.
    """

    def __init__(self, store: VectorStore, *, concurrent: bool = False, top_k: int = 4) -> None:
        self.store = store
        self.concurrent = concurrent
        self.top_k = top_k
        if concurrent:
            _pool()  # start the workers now, not inside the first traced run

    def search(self, question: str) -> list[Hit]:
        if self.concurrent:
            # Each query runs in a copy of this context, so its span nests under the tool's span.
            futures = [_pool().submit(contextvars.copy_context().run, self.store.query, c, question)
                       for c in COLLECTIONS]
            results = [f.result() for f in futures]
        else:
            results = [self.store.query(c, question) for c in COLLECTIONS]
        hits = [h for per_collection in results for h in per_collection]
        return sorted(hits, key=lambda h: (-h.score, h.collection))[: self.top_k]


# ---------------------------------------------------------------------------
# The code executor: the model's code runs in agentkit.sandbox, on a simulated clock
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionResult:
    """What one sandbox run produced. `completed` is False if it stopped before its last statement."""

    code: str
    stdout: str
    completed: bool
    statements_run: int
    statements_total: int
    seconds: float  # simulated
    error_type: str | None = None  # "ZeroDivisionError", "TimeoutError", "SandboxKilled", "SandboxImportError", ...
    error: str | None = None
    limit: str | None = None  # the agentkit.sandbox limit that stopped it ("imports", "memory", ...), if one did

    @property
    def partial(self) -> bool:
        """It stopped early but printed something first: the caller got part of the output."""
        return not self.completed and bool(self.stdout)


# What runs inside the sandbox: the model's statements one at a time, each `exec`-ed in the same
# namespace, on a simulated clock (start-up, a fixed cost per statement, and `sleep(seconds)`), so the
# trace shows production-like seconds while the real run takes milliseconds. A simulated timeout or a
# seeded crash stops the run between statements, as a real sandbox stops a script part-way.
_RUNNER = """
class SandboxKilled(Exception):
    pass

result = {"run": 0, "clock": START_SECONDS}  # progress: the sandbox returns it however the run ends

def _advance(seconds):
    if result["clock"] + seconds > TIMEOUT_SECONDS:
        result["clock"] = TIMEOUT_SECONDS
        raise TimeoutError(f"the sandbox stopped the code after {TIMEOUT_SECONDS:g} s")
    result["clock"] += seconds

def sleep(seconds):
    _advance(float(seconds))

_namespace = {"sleep": sleep, "__name__": "__main__"}
for _index, _source in enumerate(STATEMENTS):
    result["run"] = _index
    if _index == CRASH_AT:
        raise SandboxKilled("the sandbox was killed (out of memory)")
    _advance(SECONDS_PER_STATEMENT)
    exec(compile(_source, "<code>", "exec"), _namespace)
result["run"] = len(STATEMENTS)
"""

#: The sandbox the case study's run_code uses: agentkit.sandbox's defaults, one interpreter kept warm.
CODE_SANDBOX = Sandbox(timeout=10.0, warm=True)


def _statement_sources(code: str, statements: list[ast.stmt]) -> list[str]:
    """Each top-level statement's source, padded with newlines so error line numbers match the script."""
    lines = code.splitlines(keepends=True)
    spans = [(min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]), s.end_lineno or s.lineno)
             for s in statements]
    sources = []
    for i, (statement, (first, last)) in enumerate(zip(statements, spans)):
        shares_a_line = (i > 0 and spans[i - 1][1] >= first) or (i + 1 < len(spans) and spans[i + 1][0] <= last)
        text = ast.get_source_segment(code, statement) if shares_a_line else "".join(lines[first - 1:last])
        sources.append("\n" * (first - 1) + (text or ""))
    return sources


class CodeExecutor:
    """The case study's code executor: model-written scripts run in `agentkit.sandbox`.

    Every run is a real sandboxed process (OS limits, no network, an import
    allow-list; see `agentkit.sandbox`), so a script that reads a file, imports
    `os` or allocates 2 GB is stopped by a real limit, named in `limit`. Around
    it the executor keeps the case study's simulated clock: starting the
    sandbox costs `SANDBOX_START_SECONDS`, each top-level statement
    `SECONDS_PER_STATEMENT`, `sleep(seconds)` its seconds, and the run stops at
    `CODE_TIMEOUT_SECONDS` of simulated time. The real run's milliseconds are
    counted against the simulated start-up, so a trace shows the same seconds
    as before. A run can stop part-way, keeping what it printed so far:

    - the code raises (a `ZeroDivisionError`, a `NameError`, ...);
    - it runs past `CODE_TIMEOUT_SECONDS` of simulated time (`TimeoutError`);
    - the sandbox is killed at a random statement (`SandboxKilled`), with
      probability `crash_rate` per run, drawn from a generator seeded by
      `seed`, the run's number and the code, so reruns fail the same way;
    - a sandbox limit stops it (`limit` says which).

    Each run is a manual span `sandbox.run`; `on_result(span, result)`, if
    given, is called with that span and the `ExecutionResult` before the span
    ends, which is where a trace schema records how the run went. Every result
    is kept in `results`; errors raised by `on_result` in `handler_errors`.
    """

    def __init__(self, *, crash_rate: float = 0.0, seed: int = 0, live: bool = False,
                 on_result: Callable[[Any, ExecutionResult], None] | None = None,
                 sandbox: Sandbox = CODE_SANDBOX) -> None:
        if not 0.0 <= crash_rate <= 1.0:
            raise ValueError(f"crash_rate is a probability between 0 and 1, got {crash_rate!r}")
        if on_result is not None and not callable(on_result):
            raise TypeError(f"on_result must be a function (span, result) -> None, got {type(on_result).__name__}")
        self.crash_rate = crash_rate
        self.seed = seed
        self.on_result = on_result
        self.sandbox = sandbox
        self.results: list[ExecutionResult] = []
        self.handler_errors: list[BaseException] = []
        self.live = live
        self._sleep = _sleeper(live)
        if sandbox.warm:
            sandbox.warm_up(wait=10.0)  # the first run's interpreter starts now, not inside a traced run

    def run(self, code: str) -> ExecutionResult:
        syntax_error: SyntaxError | None = None
        try:
            statements = ast.parse(code).body
        except SyntaxError as err:
            statements, syntax_error = [], err
        rng = random.Random(f"{self.seed}:{len(self.results)}:{code}")
        crash_at = rng.randrange(len(statements)) if statements and rng.random() < self.crash_rate else None
        with tracer().start_as_current_span(
            "sandbox.run", attributes={"agentkit.code.statements": len(statements)}
        ) as span:
            result = self._execute(code, statements, crash_at, syntax_error)
            if result.limit:
                span.set_attribute("agentkit.sandbox.limit", result.limit)
            self.results.append(result)
            if self.on_result is not None:
                try:
                    self.on_result(span, result)
                except Exception as err:  # noqa: BLE001 - the learner's handler: keep the error to report it
                    self.handler_errors.append(err)
        return result

    def _execute(self, code: str, statements: list[ast.stmt], crash_at: int | None,
                 syntax_error: SyntaxError | None) -> ExecutionResult:
        started = clock.monotonic()
        if syntax_error is not None:
            self._sleep(SANDBOX_START_SECONDS)
            return ExecutionResult(code, "", False, 0, 0, SANDBOX_START_SECONDS, "SyntaxError",
                                   f"{syntax_error.msg} (line {syntax_error.lineno})")
        inputs = {"STATEMENTS": _statement_sources(code, statements), "CRASH_AT": crash_at,
                  "START_SECONDS": SANDBOX_START_SECONDS, "SECONDS_PER_STATEMENT": SECONDS_PER_STATEMENT,
                  "TIMEOUT_SECONDS": CODE_TIMEOUT_SECONDS}
        box = self.sandbox.run(_RUNNER, inputs)
        stdout = box.stdout[:-1] if box.stdout.endswith("\n") else box.stdout  # print()'s last newline
        progress = box.result if isinstance(box.result, dict) else None
        if progress is None:  # the sandbox killed the process before any report (real timeout, hard CPU limit)
            seconds = CODE_TIMEOUT_SECONDS if box.limit in ("timeout", "cpu") else SANDBOX_START_SECONDS
            result = ExecutionResult(code, stdout, False, 0, len(statements), seconds, "SandboxKilled",
                                     box.error, box.limit)
        else:
            result = ExecutionResult(code, stdout, box.ok, int(progress["run"]), len(statements),
                                     float(progress["clock"]), box.error_type, box.error, box.limit)
        # The real run's time counts against the simulated seconds, so the trace shows the same total.
        # The next run's interpreter starts meanwhile; waiting for it here, inside the simulated start-up
        # time, keeps its CPU burst out of the model call that follows.
        if self.sandbox.warm:
            budget = SANDBOX_START_SECONDS if self.live else WARM_UP_WAIT_OFFLINE
            self.sandbox.warm_up(wait=budget - (clock.monotonic() - started))
        spent = clock.monotonic() - started  # real seconds, on the kit's clock
        self._sleep(max(result.seconds - spent, 0.0))
        return result


# ---------------------------------------------------------------------------
# The tools and the agent
# ---------------------------------------------------------------------------


@dataclass
class ResearchTools:
    """The research agent's three tools and what stands behind them (for inspection in labs and tests)."""

    store: VectorStore
    retriever: Retriever
    executor: CodeExecutor
    tools: list[Tool] = field(default_factory=list)


def research_tools(*, concurrent: bool = False, seed: int = 0, crash_rate: float = 0.0, live: bool = False,
                   on_code_result: Callable[[Any, ExecutionResult], None] | None = None) -> ResearchTools:
    """web_search, retrieve and run_code, built fresh (each executor keeps its own run count and results)."""
    sleep = _sleeper(live)
    store = VectorStore(seed=seed, live=live)
    retriever = Retriever(store, concurrent=concurrent)
    executor = CodeExecutor(crash_rate=crash_rate, seed=seed, live=live, on_result=on_code_result)

    def web_search(query: str) -> str:
        """Search the public web; returns short summaries of the best matching pages.

        Args:
            query: a few keywords, such as "SaaS trial conversion benchmark"
        """
        sleep(SEARCH_SECONDS * _jitter(f"{seed}:web:{query}", QUERY_JITTER))
        words = set(_words(query))
        found = [text for key, text in _WEB.items() if key in words or key + "s" in words]
        return "\n".join(found) or f"No useful results for {query!r}."

    def retrieve(question: str) -> str:
        """Search the company's internal documents (tickets, analytics, release notes, experiments and more);
        returns the best passages with their collection and similarity score.

        Args:
            question: what to look for, in plain words
        """
        hits = retriever.search(question)
        return "\n".join(f"[{h.collection}] {h.text} (score {h.score:.2f})" for h in hits)

    def run_code(code: str) -> str:
        """Run a short Python script for arithmetic (assignments, arithmetic, lists, f-strings, print) in a
        sandbox; returns what it printed.

        Args:
            code: the script; print() the results you need
        """
        result = executor.run(code)
        if result.completed:
            return result.stdout or "(the script printed nothing)"
        # The model is told it failed, and gets whatever was printed before the failure.
        printed = f" Output before it stopped:\n{result.stdout}" if result.stdout else " It printed nothing."
        limit = f" [sandbox limit: {result.limit}]" if result.limit else ""
        raise ToolError(f"{result.error_type}: {result.error}{limit} (after {result.statements_run} of "
                        f"{result.statements_total} statements).{printed}")

    return ResearchTools(store, retriever, executor, [tool(web_search), tool(retrieve), tool(run_code)])


def build_research_agent(client: Any, concurrent: bool = False, *, model: str = FAST_MODEL, max_steps: int = 8,
                         seed: int = 0, crash_rate: float = 0.0, name: str = "research_agent",
                         tools: ResearchTools | None = None, **agent_options: Any) -> Agent:
    """The case study's research agent on `client` (load the "l1_research" scenarios for offline runs).

    `concurrent=False` queries the vector store's collections one after
    another (the 47-second original); `concurrent=True` queries them all at
    once. Pass `tools=research_tools(...)` to keep a handle on the executor.
    """
    if tools is None:
        tools = research_tools(concurrent=concurrent, seed=seed, crash_rate=crash_rate, live=is_live(client))
    return Agent(client, model=model, system=SYSTEM, tools=tools.tools, max_steps=max_steps, name=name,
                 **agent_options)


# ---------------------------------------------------------------------------
# Reading the trace
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFigures:
    """The case study's figures from one trace, in (simulated) seconds."""

    wall_s: float
    model_s: float
    tool_s: float
    vector_db_s: float
    vector_db_queries: int
    per_tool_s: dict[str, float]

    @property
    def vector_db_share(self) -> float:
        return self.vector_db_s / self.wall_s if self.wall_s else 0.0

    @property
    def model_share(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    def __str__(self) -> str:
        tools = ", ".join(f"{name} {s:.1f} s" for name, s in sorted(self.per_tool_s.items(), key=lambda kv: -kv[1]))
        return (f"wall clock {self.wall_s:.1f} s: vector DB {self.vector_db_s:.1f} s ({self.vector_db_share:.0%}, "
                f"{self.vector_db_queries} queries), model {self.model_s:.1f} s ({self.model_share:.0%}); "
                f"tools: {tools}")


def figures(trace: Trace) -> CaseFigures:
    """Wall clock, model time, tool time and time in `vector_db.query` spans, from a captured trace."""
    summary = trace.summary()
    table = trace.to_dataframe()
    queries = table[table["name"] == "vector_db.query"]
    return CaseFigures(
        wall_s=summary.wall_s,
        model_s=summary.model_s,
        tool_s=summary.tool_s,
        vector_db_s=union_length(zip(queries["start"], queries["end"])),  # overlapping queries count once
        vector_db_queries=len(queries),
        per_tool_s=dict(summary.per_tool_s),
    )
