"""The essay task ("how to get started in the gym"), three ways, on a small offline web.

Foundations 03 runs it at three levels of autonomy and compares them; Foundations 04
evaluates the scripted pipeline step by step and end to end, reads its trace, and fixes it.

* `run_pipeline(client, web, version)`: a **scripted pipeline**. Code fixes every step
  (outline, search terms, search, fetch, draft, critique, revise); the model only writes
  text. Each step is recorded (`PipelineRun.steps`), which is the trace error analysis reads.
  Version "v1" has two bugs the course describes: generic search queries, and a revision
  step that never receives the critique. "v2" fixes both.
* `semi_autonomous_agent(client, web)`: an `Agent` with two fixed tools (search, fetch); the
  model decides what to search and which pages to read.
* `autonomous_agent(client, web)`: an `Agent` with more tools (web, news and paper search,
  fetch, PDF conversion, a critic); the model also decides which sources to use, how to
  handle a PDF and whether to reflect and revise.

`Web(seed)` is the offline web: a dozen pages, some of which are down or are PDFs, chosen
by the seed. Different seeds are different days on the web; a fixed path (the pipeline)
takes them in its stride, an autonomous agent reacts to each, so its cost varies more.
What the model says is data: `agentkit/scenarios/f03_essay.yaml`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agentkit.agent import Agent, RunResult
from agentkit.evals import measured_call
from agentkit.models import DEFAULT_MODEL
from agentkit.tools import ToolError, tool

__all__ = ["TOPIC", "TASK", "PAGES", "Web", "PipelineStep", "PipelineRun", "run_pipeline", "semi_autonomous_agent",
           "run_agent", "compare_autonomy", "spread", "component_evals", "labelled_essays", "HUMAN_LABELS",
           "autonomous_agent", "GENERIC_WORDS", "query_is_generic"]

TOPIC = "how to get started in the gym"
TASK = f"Write a short essay about {TOPIC}, for complete beginners."

#: url -> (title, text, kind). "pdf" pages need converting before they can be read.
PAGES: dict[str, tuple[str, str, str]] = {
    "https://fit.example/warm-up": (
        "Warming up before lifting",
        "Five to ten minutes of light cardio and mobility work raises body temperature and lowers the risk of injury.",
        "html"),
    "https://fit.example/beginner-frequency": (
        "How often should beginners train?",
        "Two or three full-body sessions a week, with a rest day between them, let beginners progress without burning out.",
        "html"),
    "https://fit.example/progressive-overload": (
        "Progressive overload explained",
        "Add a little weight or one or two reps each week; small steady increases drive strength gains over months.",
        "html"),
    "https://fit.example/recovery": (
        "Rest and recovery for new lifters",
        "Muscles adapt while you rest: sleep seven to nine hours and leave about 48 hours before training a muscle hard again.",
        "html"),
    "https://fit.example/form-basics": (
        "The four movement patterns",
        "Learn the squat, hinge, push and pull with light weights first; good form comes before heavy loads.",
        "html"),
    "https://papers.example/resistance-training-novices.pdf": (
        "Resistance training in novices: a review",
        "Novices who trained two to three times a week gained strength at similar rates; supervision improved technique.",
        "pdf"),
    "https://news.example/gym-trends": (
        "This year's gym trends",
        "Wearables, group classes and hybrid gyms are popular this year.",
        "html"),
    "https://blog.example/10-gym-tips": (
        "10 gym tips you need",
        "Stay motivated, find a routine you enjoy, drink water and believe in yourself.",
        "html"),
    "https://blog.example/fitness-motivation": (
        "Fitness motivation",
        "Set goals, track your workouts and celebrate small wins.",
        "html"),
}

#: Words that make a search query too generic to find specific sources (error analysis in Foundations 04).
GENERIC_WORDS = frozenset({"tips", "advice", "guide", "motivation", "best", "beginner", "basics", "fitness", "gym"})


def query_is_generic(query: str) -> bool:
    """A query is generic if every word in it is a generic word: "gym tips" is, "progressive overload" is not."""
    words = re.findall(r"[a-z0-9]+", query.lower())
    return bool(words) and all(w in GENERIC_WORDS or len(w) <= 3 for w in words)


class Web:
    """The offline web: `search` and `fetch` over `PAGES`; which pages are down today depends on `seed`."""

    def __init__(self, seed: int = 0, down_rate: float = 0.3) -> None:
        rng = random.Random(f"web:{seed}")
        self.seed = seed
        self.down = {url for url in sorted(PAGES) if rng.random() < down_rate}

    def search(self, query: str, kind: Literal["web", "news", "papers"] = "web", k: int = 3) -> list[str]:
        """The urls whose title or text share most words with the query (ties in url order)."""
        words = set(re.findall(r"[a-z0-9]+", query.lower())) - {"the", "and", "for", "how", "to", "a", "in"}
        hosts = {"web": ("fit.example", "blog.example"), "news": ("news.example",), "papers": ("papers.example",)}[kind]
        scored = []
        for url, (title, text, _) in sorted(PAGES.items()):
            if not any(h in url for h in hosts):
                continue
            overlap = len(words & set(re.findall(r"[a-z0-9]+", f"{title} {text} {url}".lower())))
            if overlap:
                scored.append((-overlap, url))
        return [url for _, url in sorted(scored)[:k]]

    def fetch(self, url: str) -> str:
        """The page's text; raises `ToolError` if it is down or unknown, or if it is a PDF (convert it first)."""
        if url not in PAGES:
            raise ToolError(f"no page at {url}")
        if url in self.down:
            raise ToolError(f"{url} is not responding (503); try another source")
        title, text, kind = PAGES[url]
        if kind == "pdf":
            raise ToolError(f"{url} is a PDF; call convert_pdf to read it")
        return f"{title}: {text}"

    def convert_pdf(self, url: str) -> str:
        if url not in PAGES or PAGES[url][2] != "pdf":
            raise ToolError(f"{url} is not a PDF this tool knows")
        if url in self.down:
            raise ToolError(f"{url} is not responding (503); try another source")
        title, text, _ = PAGES[url]
        return f"{title} (converted from PDF): {text}"

    def tools(self, autonomy: Literal["semi", "high"]) -> list[Any]:
        """The agent's tools at a level of autonomy: search and fetch, or the full kit."""

        @tool
        def search_web(query: str) -> str:
            """Search the web; returns up to 3 urls, best first.

            Args:
                query: what to look for, as specific as possible
            """
            return "\n".join(self.search(query)) or "no results"

        @tool
        def fetch_page(url: str) -> str:
            """Fetch the text of a web page.

            Args:
                url: the page's url, from a search result
            """
            return self.fetch(url)

        if autonomy == "semi":
            return [search_web, fetch_page]

        @tool
        def search_news(query: str) -> str:
            """Search news sites; returns up to 3 urls.

            Args:
                query: what to look for
            """
            return "\n".join(self.search(query, "news")) or "no results"

        @tool
        def search_papers(query: str) -> str:
            """Search research papers (PDFs); returns up to 3 urls.

            Args:
                query: what to look for
            """
            return "\n".join(self.search(query, "papers")) or "no results"

        @tool
        def convert_pdf(url: str) -> str:
            """Convert a PDF to text.

            Args:
                url: the PDF's url
            """
            return self.convert_pdf(url)

        @tool
        def critique_draft(draft: str) -> str:
            """Ask a reviewer for the gaps in a draft.

            Args:
                draft: the full draft
            """
            missing = [name for name, needle in (("rest and recovery", "rest"), ("warming up", "warm"),
                                                  ("progression", "progress")) if needle not in draft.lower()]
            return f"Missing: {', '.join(missing)}." if missing else "No gaps found."

        return [search_web, search_news, search_papers, fetch_page, convert_pdf, critique_draft]


# -- the scripted pipeline ----------------------------------------------------------------

OUTLINE_SYSTEM = "You outline short essays. Reply with a numbered outline only."
QUERIES_SYSTEM = {
    "v1": "You write web search queries for an essay. Reply with three queries, one per line.",
    "v2": ("You write web search queries for an essay. Reply with three specific queries, one per line: name the "
           "exact sub-topic a source would cover (a technique, a number, a term), never a generic phrase."),
}
DRAFT_SYSTEM = "You write short essays from the sources given. Use only facts the sources support."
CRITIQUE_SYSTEM = "You critique essay drafts. List the gaps and weak claims, one per line."
REVISE_SYSTEM = "You revise essay drafts. Reply with the revised essay only."


@dataclass
class PipelineStep:
    """One step of the pipeline: what kind of step (llm, api, code), what went in and came out, and its cost."""

    name: str
    kind: Literal["llm", "api", "code"]
    input: str
    output: str
    cost: float = 0.0
    seconds: float = 0.0


@dataclass
class PipelineRun:
    version: str
    steps: list[PipelineStep] = field(default_factory=list)

    @property
    def essay(self) -> str:
        return self.steps[-1].output

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.steps)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def model_calls(self) -> int:
        return sum(s.kind == "llm" for s in self.steps)

    @property
    def tool_calls(self) -> int:
        """Searches run plus pages fetched (or tried): what the code did besides calling the model."""
        return sum(len(s.input.splitlines()) for s in self.steps if s.kind in ("api", "code"))

    def step(self, name: str) -> PipelineStep:
        return next(s for s in self.steps if s.name == name)

    def to_dataframe(self) -> Any:
        import pandas as pd

        return pd.DataFrame([{"step": s.name, "kind": s.kind, "input": s.input, "output": s.output,
                              "cost_usd": s.cost, "seconds": s.seconds} for s in self.steps])


def run_pipeline(client: Any, web: Web | None = None, version: Literal["v1", "v2"] = "v2", *,
                 model: str = DEFAULT_MODEL, topic: str = TOPIC) -> PipelineRun:
    """The essay as a fixed sequence of steps (see the module docstring for v1's two bugs)."""
    if version not in QUERIES_SYSTEM:
        raise ValueError(f"version must be 'v1' or 'v2', got {version!r}")
    web = web or Web()
    run = PipelineRun(version)

    def llm(name: str, system: str, prompt: str) -> str:
        call = measured_call(client, model=model, max_tokens=1024, system=system,
                             messages=[{"role": "user", "content": prompt}])
        run.steps.append(PipelineStep(name, "llm", prompt, call.text, call.cost, call.seconds))
        return call.text

    outline = llm("outline", OUTLINE_SYSTEM, f"Topic: {topic}")
    queries_text = llm("search_terms", QUERIES_SYSTEM[version], f"Topic: {topic}\nOutline:\n{outline}")
    queries = [q.strip(" -0123456789.") for q in queries_text.splitlines() if q.strip()][:3]
    urls: list[str] = []
    for q in queries:
        urls += [u for u in web.search(q) if u not in urls]
    run.steps.append(PipelineStep("search", "api", "\n".join(queries), "\n".join(urls)))
    pages = []
    for url in urls[:4]:
        try:
            pages.append(web.fetch(url))
        except ToolError:
            continue  # a fixed pipeline skips what it cannot read: it has no other move
    run.steps.append(PipelineStep("fetch", "code", "\n".join(urls[:4]), "\n".join(pages)))
    sources = "\n".join(f"- {p}" for p in pages) or "- (no sources could be fetched)"
    draft = llm("draft", DRAFT_SYSTEM, f"Topic: {topic}\nOutline:\n{outline}\nSources:\n{sources}")
    critique = llm("critique", CRITIQUE_SYSTEM, f"Topic: {topic}\n<draft>\n{draft}\n</draft>")
    if version == "v1":
        revise_prompt = f"Topic: {topic}\n<draft>\n{draft}\n</draft>"  # the bug: the critique is never passed on
    else:
        revise_prompt = f"Topic: {topic}\n<draft>\n{draft}\n</draft>\n<critique>\n{critique}\n</critique>"
    llm("revise", REVISE_SYSTEM, revise_prompt)
    return run


# -- the two agents -------------------------------------------------------------------------

SEMI_SYSTEM = ("You are an essay writer with two tools: search_web and fetch_page. Research the topic, then write "
               "the essay from what you read.")
AUTONOMOUS_SYSTEM = ("You are an autonomous essay writer. Decide which sources to use (web, news, papers), how many "
                     "pages to read, how to handle PDFs, and whether to critique and revise your draft.")


def semi_autonomous_agent(client: Any, web: Web | None = None, *, model: str = DEFAULT_MODEL) -> Agent:
    """An agent that picks from two fixed tools; the model decides what to search and read."""
    return Agent(client, model=model, system=SEMI_SYSTEM, tools=(web or Web()).tools("semi"), max_steps=8,
                 max_tokens=1024, name="essay-semi")


def autonomous_agent(client: Any, web: Web | None = None, *, model: str = DEFAULT_MODEL) -> Agent:
    """An agent with six tools and a free hand over sources, PDFs and reflection."""
    return Agent(client, model=model, system=AUTONOMOUS_SYSTEM, tools=(web or Web()).tools("high"), max_steps=12,
                 max_tokens=1024, name="essay-autonomous")


def run_agent(agent: Agent, topic: str = TOPIC) -> RunResult:
    return agent.run(f"Write a short essay about {topic}, for complete beginners.")


# -- Foundations 04: essays with human labels, to calibrate a judge ------------------------------

#: scenario name (whose reply is the essay) -> the score a human grader gave it with `ESSAY_RUBRIC`.
HUMAN_LABELS: dict[str, int] = {
    "f03_draft_generic": 2,
    "f03_revise_generic_with_critique": 3,
    "f03_draft_specific": 3,
    "f03_revise_specific_with_critique": 5,
    "f03_semi_agent": 4,
    "f03_autonomous_agent": 5,
}


def labelled_essays() -> dict[str, tuple[str, int]]:
    """name -> (essay, human score). The essays are the ones the scenarios script (read from
    `f03_essay.yaml`, the final text each one writes), so the labels grade exactly what the runs produce."""
    from importlib import resources

    from agentkit.sim.scenarios import Scenario

    scenarios = {s.name: s for s in Scenario.load(str(resources.files("agentkit") / "scenarios" / "f03_essay.yaml"))}
    out = {}
    for name, score in HUMAN_LABELS.items():
        turns = scenarios[name].turns
        out[name] = (turns[-1].text, score)
    return out


# -- Foundations 03: the three levels of autonomy, run side by side ---------------------------


def compare_autonomy(client: Any, seeds: Any = range(6), *, model: str = DEFAULT_MODEL) -> Any:
    """Run the essay task at each level of autonomy once per web seed (a different day on the web).

    One row per run: mode, seed, model calls, tool calls, cost (USD), and the essay's length.
    """
    import pandas as pd

    rows = []
    for seed in seeds:
        web = Web(seed)
        pipeline = run_pipeline(client, web, "v2", model=model)
        rows.append({"mode": "scripted pipeline", "seed": seed, "model_calls": pipeline.model_calls,
                     "tool_calls": pipeline.tool_calls, "cost_usd": pipeline.cost, "words": len(pipeline.essay.split())})
        for mode, build in (("semi-autonomous", semi_autonomous_agent), ("highly autonomous", autonomous_agent)):
            result = run_agent(build(client, web, model=model))
            rows.append({"mode": mode, "seed": seed, "model_calls": len(result.steps),
                         "tool_calls": len(result.tool_calls), "cost_usd": result.cost,
                         "words": len(result.text.split())})
    return pd.DataFrame(rows)


def spread(runs: Any) -> Any:
    """Per mode: mean and standard deviation of cost and calls, and the cost's coefficient of variation
    (standard deviation / mean: 0 means every run costs the same)."""
    table = runs.groupby("mode", sort=False).agg(
        runs=("seed", "size"), model_calls_mean=("model_calls", "mean"), model_calls_std=("model_calls", "std"),
        tool_calls_mean=("tool_calls", "mean"), tool_calls_std=("tool_calls", "std"),
        cost_mean=("cost_usd", "mean"), cost_std=("cost_usd", "std"), cost_min=("cost_usd", "min"),
        cost_max=("cost_usd", "max"))
    table["cost_cv"] = table["cost_std"] / table["cost_mean"]
    return table


# -- Foundations 04: component evals of the pipeline -----------------------------------------------


def component_evals(run: PipelineRun) -> dict[str, float | bool]:
    """Checks on the pipeline's intermediate steps, each written after reading a trace.

    generic_queries: share of search queries that are only generic words ("gym tips");
    sources_fetched: pages the fetch step could read; critique_passed: whether the revise
    step's input holds the critique; revision_changed: whether revising changed the draft.
    """
    queries = [q for q in run.step("search").input.splitlines() if q.strip()]
    critique = run.step("critique").output.strip()
    return {
        "generic_queries": sum(query_is_generic(q) for q in queries) / max(len(queries), 1),
        "sources_fetched": len([p for p in run.step("fetch").output.splitlines() if p.strip()]),
        "critique_passed": bool(critique) and critique in run.step("revise").input,
        "revision_changed": run.step("revise").output.strip() != run.step("draft").output.strip(),
    }
