"""Choosing and shaping agent work: which tasks suit agents, and how to cut a task into steps.

* The **complexity x precision matrix**: a task's complexity (how many steps, whether they
  are known in advance, whether it needs research) against the precision it needs (what an
  error costs, whether a person reviews the result). `place` scores a `WorkItem` from those
  facts, so the quadrant is argued from the task, not asserted; `plot_matrix` draws them.
  High complexity with low precision is the usual place to start: agents add most where the
  work is tricky, and an imperfect result there is still useful.
* **Context engineering**: `build_system` assembles a system prompt from the parts the
  course names (role, background, memory; tool descriptions travel as the tools themselves).
* **Task decomposition**: `check_decomposition` checks a plan for the essay task: every
  stage is there, each step is one of "an LLM call, a bit of code or an API", of the right
  kind, and no step still bundles two stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

__all__ = ["WorkItem", "Placement", "place", "EXAMPLE_TASKS", "PRACTICE_TASKS", "STARTING_QUADRANT", "plot_matrix",
           "build_system", "ESSAY_STAGES", "ESSAY_PHASES", "check_decomposition"]

Level = Literal["low", "high"]
ErrorCost = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class WorkItem:
    """The facts about a task that decide where it sits on the matrix."""

    name: str
    steps: int  # how many distinct steps the work takes
    steps_known: bool  # can you write the steps down in advance?
    needs_research: bool  # must it gather information from outside?
    error_cost: ErrorCost  # what a wrong result costs
    human_review: bool  # does a person check the result before it counts?


@dataclass(frozen=True)
class Placement:
    item: WorkItem
    complexity: int  # 1-5
    precision: int  # 1-5

    @property
    def quadrant(self) -> tuple[Level, Level]:
        """(complexity, precision), each "low" or "high" (3 and up is high)."""
        return ("high" if self.complexity >= 3 else "low", "high" if self.precision >= 3 else "low")


STARTING_QUADRANT: tuple[Level, Level] = ("high", "low")


def place(item: WorkItem) -> Placement:
    """Score a task 1-5 on each axis from its facts.

    Complexity: 1, plus one each for 3+ steps, 6+ steps, steps not known in advance, and
    needing research. Precision: 1, 3 or 5 for a low, medium or high cost of error, one less
    when a person reviews the result (the review catches what the agent misses).
    """
    if item.steps < 1:
        raise ValueError(f"{item.name}: steps must be at least 1, got {item.steps}")
    if item.error_cost not in ("low", "medium", "high"):
        raise ValueError(f"{item.name}: error_cost must be 'low', 'medium' or 'high', got {item.error_cost!r}")
    complexity = 1 + (item.steps >= 3) + (item.steps >= 6) + (not item.steps_known) + item.needs_research
    precision = {"low": 1, "medium": 3, "high": 5}[item.error_cost] - item.human_review
    return Placement(item, min(complexity, 5), max(precision, 1))


EXAMPLE_TASKS: tuple[WorkItem, ...] = (
    WorkItem("invoice field extraction", steps=2, steps_known=True, needs_research=False, error_cost="high",
             human_review=False),
    WorkItem("customer email replies", steps=3, steps_known=True, needs_research=False, error_cost="medium",
             human_review=True),
    WorkItem("full returns agent", steps=7, steps_known=False, needs_research=False, error_cost="high",
             human_review=False),
    WorkItem("tax forms", steps=8, steps_known=True, needs_research=True, error_cost="high", human_review=False),
    WorkItem("lecture-note summaries", steps=4, steps_known=False, needs_research=False, error_cost="low",
             human_review=False),
)


#: Tasks for the learner to place in Foundations 03's exercise (the lesson never scores these ones).
PRACTICE_TASKS: tuple[WorkItem, ...] = (
    WorkItem("meeting-notes action items", steps=2, steps_known=True, needs_research=False, error_cost="low",
             human_review=True),
    WorkItem("market research briefs", steps=6, steps_known=False, needs_research=True, error_cost="high",
             human_review=False),
    WorkItem("medication dose checks", steps=3, steps_known=True, needs_research=False, error_cost="high",
             human_review=False),
    WorkItem("competitor news digest", steps=5, steps_known=False, needs_research=True, error_cost="low",
             human_review=False),
)


def plot_matrix(items: Iterable[WorkItem | Placement], ax: Any = None) -> Any:
    """The matrix as a scatter plot, with the starting quadrant shaded. Returns the Axes."""
    import matplotlib.pyplot as plt

    placements = [p if isinstance(p, Placement) else place(p) for p in items]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5.5))
    ax.add_patch(plt.Rectangle((2.5, 0.5), 3, 2, color="#2da44e", alpha=0.12, zorder=0))
    ax.text(5.4, 0.6, "start here:\nhigh complexity,\nlow precision", ha="right", va="bottom", fontsize=9,
            color="#1a7f37")
    ax.axvline(2.5, color="grey", lw=0.8)
    ax.axhline(2.5, color="grey", lw=0.8)
    seen: dict[tuple[int, int], int] = {}
    for p in placements:
        n = seen.get((p.complexity, p.precision), 0)
        seen[(p.complexity, p.precision)] = n + 1
        ax.scatter(p.complexity, p.precision, s=60, color="#0969da", zorder=3)
        ax.annotate(p.item.name, (p.complexity, p.precision), xytext=(6, 6 - 12 * n), textcoords="offset points",
                    fontsize=9)
    ax.set(xlim=(0.5, 5.5), ylim=(0.5, 5.5), xlabel="complexity (1-5)", ylabel="precision needed (1-5)",
           title="Which tasks suit an agent?")
    return ax


def build_system(role: str = "", background: str = "", memory: Sequence[str] = ()) -> str:
    """A system prompt from context parts, each in its own tagged section (empty parts left out).

    Tags keep the parts apart for the model and for you when you read a trace. Tool
    descriptions are not pasted here: they go in the request's `tools`, where the API expects them.
    """
    parts = []
    if role:
        parts.append(role.strip())
    if background:
        parts.append(f"<background>\n{background.strip()}\n</background>")
    if memory:
        parts.append("<memory>\n" + "\n".join(f"- {m}" for m in memory) + "\n</memory>")
    return "\n\n".join(parts)


# -- decomposition ----------------------------------------------------------------------

StepKind = Literal["llm", "code", "api"]

#: The essay's stages: a pattern that recognises a step as that stage, and the kinds of step that can do it.
ESSAY_STAGES: dict[str, tuple[str, frozenset[str]]] = {
    "outline": (r"outline|structure", frozenset({"llm"})),
    "search terms": (r"search terms|search queries|queries|query|keywords", frozenset({"llm"})),
    "search": (r"\bsearch", frozenset({"api"})),
    "fetch pages": (r"fetch|download|scrape|read (the )?(web )?pages", frozenset({"code", "api"})),
    "draft": (r"draft|write (the |an |a )?(first )?(essay|version|article)|compose", frozenset({"llm"})),
    "critique": (r"critique|reflect|review|list (the )?gaps", frozenset({"llm"})),
    "revise": (r"revise|rewrite|revision|edit", frozenset({"llm"})),
}
#: The essay's stages grouped by phase: the feedback on a plan names the phase that is short, not the stage,
#: so it guides without handing over the answer.
ESSAY_PHASES: dict[str, tuple[str, ...]] = {
    "planning": ("outline",),
    "research": ("search terms", "search", "fetch pages"),
    "writing": ("draft",),
    "improving the draft": ("critique", "revise"),
}
_ALIASES = {"llm call": "llm", "model": "llm", "an llm call": "llm", "tool": "code", "a bit of code": "code",
            "python": "code", "an api": "api", "api call": "api"}


def _stages_of(description: str) -> list[str]:
    """The stages a step does: one per clause ("... and ...", "..., then ..."), each clause's stage being the
    pattern that matches earliest in it (the verb usually comes first: "revise the draft" is revising)."""
    found: list[str] = []
    for clause in re.split(r"\band\b|\bthen\b|;|,", description.lower()):
        hits = []
        for order, (name, (pattern, _)) in enumerate(ESSAY_STAGES.items()):
            m = re.search(pattern, clause)
            if m:
                hits.append((m.start(), -len(m.group(0)), order, name))
        if hits:
            stage = min(hits)[3]
            if stage not in found:
                found.append(stage)
    return found


def check_decomposition(steps: Sequence[tuple[str, str]]) -> list[str]:
    """Problems with a plan for the essay task, as sentences; an empty list means it is sound.

    `steps` is a list of (description, kind) with kind "llm", "code" or "api". A step that
    matches two stages is too big ("split it until each step is one call"); a stage with no
    step is missing; a stage done by the wrong kind of step is named with the right kinds.
    Missing stages are reported by phase ("research: 2 of its 3 stages have no step"), and a stage that a
    bundled step already names is not reported missing too: the fix for it is to split that step.
    """
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or not steps:
        raise ValueError("give the plan as a non-empty list of (description, kind) pairs, "
                         "e.g. [('outline the essay', 'llm'), ...]")
    problems: list[str] = []
    covered: set[str] = set()
    bundled: set[str] = set()
    for i, item in enumerate(steps, 1):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise ValueError(f"step {i} is {item!r}; each step is a (description, kind) pair of strings")
        description, kind = item
        kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
        if kind not in ("llm", "code", "api"):
            problems.append(f"step {i} ({description!r}): kind {item[1]!r} is not 'llm', 'code' or 'api'")
            continue
        stages = _stages_of(description)
        if not stages:
            problems.append(f"step {i} ({description!r}) is not one of the essay's stages: "
                            f"{', '.join(ESSAY_STAGES)}")
        elif len(stages) > 1:
            bundled.update(stages)
            problems.append(f"step {i} ({description!r}) bundles {' and '.join(stages)}: split it into one step each")
        else:
            stage = stages[0]
            covered.add(stage)
            allowed = ESSAY_STAGES[stage][1]
            if kind not in allowed:
                problems.append(f"step {i} ({description!r}) is {stage!r}, which is done by "
                                f"{' or '.join(sorted(allowed))}, not {kind}")
    for phase, phase_stages in ESSAY_PHASES.items():
        missing = [s for s in phase_stages if s not in covered and s not in bundled]
        if len(phase_stages) == 1 and missing:
            problems.append(f"{phase}: no step does it yet")
        elif len(missing) == len(phase_stages):
            problems.append(f"{phase}: none of its {len(phase_stages)} stages has a step yet")
        elif missing:
            problems.append(f"{phase}: {len(missing)} of its {len(phase_stages)} stages "
                            f"{'has' if len(missing) == 1 else 'have'} no step yet")
    return problems
