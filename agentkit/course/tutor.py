"""Ask the tutor: questions about a lesson, answered live by Claude or offline from the lesson itself.

    tutor = lab.tutor()            # or Tutor.from_notebook("notebooks/....ipynb"), or Tutor("some text")
    tutor.show()                   # a text box, an Ask button and an answer area
    tutor.ask("Why does history grow?")   # the same, headless -> TutorAnswer

Live (a client from `agentkit.client()` with `ANTHROPIC_API_KEY` set), the
tutor sends the lesson text as the system prompt with a `cache_control`
breakpoint, so the lesson is written to the prompt cache on the first question
and read at a tenth of the price on the next ones (within the cache's five
minutes; the API only caches prompts above the model's minimum length).

Offline, it does not pretend to reason: it says it is the offline tutor and
shows the passages of the lesson that best match the question, ranked with
BM25 (a standard keyword-relevance score, explained on `PassageIndex`).
"""

from __future__ import annotations

import glob
import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentkit.models import DEFAULT_MODEL

Mode = Literal["live", "offline"]

INSTRUCTIONS = (
    "You are the tutor for one lesson of a course on building AI agents and making them fast, cheap and "
    "reliable. Answer the learner's question from the lesson below, briefly and concretely; show the "
    "arithmetic when there are numbers. When the learner is working on a lab task, guide them to the answer "
    "step by step rather than handing over the final figure. If the lesson does not cover the question, say so."
)

# A small English stop list: words that match everywhere and rank nothing.
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its me my of on or so "
    "than that the their them then there these this to was we what when where which who why will with you your "
    "through about should would could".split()
)


def _terms(text: str) -> list[str]:
    """Lower-cased words and numbers ("3,500" -> "3500"), stop words out, a plural "s" trimmed."""
    words = re.findall(r"\d[\d,.]*\d|\d|[a-z][a-z0-9_]*", text.lower())
    out = []
    for w in words:
        w = w.replace(",", "")
        if w in _STOP:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


@dataclass(frozen=True)
class Passage:
    """One paragraph of the lesson, with the heading it sits under and its score for a question."""

    section: str
    text: str
    score: float = 0.0


def paragraphs(markdown: str) -> list[Passage]:
    """Split lesson markdown into paragraphs (blank-line separated), each tagged with its heading."""
    section = ""
    found: list[Passage] = []
    for chunk in re.split(r"\n\s*\n", markdown):
        lines = [line for line in chunk.strip().splitlines() if line.strip()]
        body: list[str] = []
        for line in lines:
            if line.lstrip().startswith("#"):
                if body:
                    found.append(Passage(section, "\n".join(body)))
                    body = []
                section = line.lstrip("# ").strip()
            else:
                body.append(line)
        if body:
            found.append(Passage(section, "\n".join(body)))
    return found


class PassageIndex:
    """BM25 over the lesson's paragraphs.

    BM25 scores a paragraph by the question words it contains: rare words
    (high inverse document frequency) count more than common ones, repeats
    help with diminishing returns (k1), and long paragraphs are not favoured
    just for being long (b). The section heading is indexed with each
    paragraph so "caching" finds the paragraphs under "Prompt caching".
    Hand-written (about 30 lines) because a lesson has tens of paragraphs and
    the formula is the lesson in miniature; `rank-bm25` on PyPI computes the
    same scores but has had no release since 2022.
    """

    def __init__(self, passages: list[Passage], k1: float = 1.5, b: float = 0.75) -> None:
        self.passages = passages
        self.k1, self.b = k1, b
        self.docs = [Counter(_terms(f"{p.section} {p.text}")) for p in passages]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        # The "plus one" form of IDF keeps every weight positive, even for a word in most paragraphs.
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def score(self, query: str, i: int) -> float:
        doc, length = self.docs[i], self.lengths[i]
        total = 0.0
        for term in set(_terms(query)):
            tf = doc.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / self.avg_length)
                total += self.idf[term] * tf * (self.k1 + 1) / norm
        return total

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The `k` best passages with a positive score, best first (ties keep lesson order)."""
        scored = [(self.score(query, i), i) for i in range(len(self.passages))]
        best = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:k]
        return [Passage(self.passages[i].section, self.passages[i].text, round(s, 3)) for s, i in best]


def notebook_markdown(path: str | Path) -> str:
    """The markdown cells of a notebook, joined: the lesson's own words."""
    from agentkit.course.paths import notebook_cells

    return "\n\n".join(str(c["source"]) for c in notebook_cells(path) if c.get("cell_type") == "markdown")


@dataclass(frozen=True)
class TutorAnswer:
    """What the tutor said, how (live or offline) and, live, what it cost."""

    question: str
    text: str
    mode: Mode
    passages: tuple[Passage, ...] = ()
    model: str | None = None
    usage: dict[str, int] | None = None
    cost: float | None = None

    def __repr__(self) -> str:
        parts = [f"Q: {self.question}", self.text]
        for n, p in enumerate(self.passages, start=1):
            heading = f" ({p.section})" if p.section else ""
            parts.append(f"[{n}]{heading} score {p.score:.2f}\n{p.text}")
        if self.usage is not None:
            parts.append(_usage_line(self))
        return "\n\n".join(parts)

    def _repr_markdown_(self) -> str:
        parts = [f"**Q:** {self.question}", self.text]
        for n, p in enumerate(self.passages, start=1):
            heading = f" *{p.section}*" if p.section else ""
            parts.append(f"**[{n}]**{heading} (score {p.score:.2f})\n\n" + "\n".join(f"> {line}" for line in p.text.splitlines()))
        if self.usage is not None:
            parts.append(f"<small>{_usage_line(self)}</small>")
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div><b>Q:</b> {e(self.question)}</div>", f"<div style='white-space:pre-wrap'>{e(self.text)}</div>"]
        for n, p in enumerate(self.passages, start=1):
            heading = f" <i>{e(p.section)}</i>" if p.section else ""
            parts.append(
                f"<blockquote style='border-left:3px solid #999;margin:6px 0;padding-left:8px'>"
                f"<b>[{n}]</b>{heading} <small>(score {p.score:.2f})</small><br>{e(p.text)}</blockquote>"
            )
        if self.usage is not None:
            parts.append(f"<small>{e(_usage_line(self))}</small>")
        return "<div>" + "".join(parts) + "</div>"


def _usage_line(a: TutorAnswer) -> str:
    u = a.usage or {}
    cost = f", ${a.cost:.5f}" if a.cost is not None else ""
    return (f"{a.model}: {u.get('input_tokens', 0)} input tokens, {u.get('cache_read_input_tokens', 0)} read from "
            f"cache, {u.get('cache_creation_input_tokens', 0)} written to cache, {u.get('output_tokens', 0)} output{cost}")


def _usage_dict(usage: Any) -> dict[str, int]:
    keys = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    get = usage.get if isinstance(usage, dict) else (lambda k: getattr(usage, k, None))
    return {k: int(get(k) or 0) for k in keys}


@dataclass
class Tutor:
    """Answers questions about one lesson; see the module docstring.

    `client`: an `anthropic.Anthropic` (or anything with `messages.create`).
    Without one, a live client is made only when `ANTHROPIC_API_KEY` is set.
    `live`: force the mode; by default a client counts as live unless
    `agentkit.is_live` says it is the simulator (whose generic replies would
    teach less than the lesson's own passages).
    """

    lesson_text: str
    title: str = "the lesson"
    context: str = ""
    client: Any = None
    live: bool | None = None
    model: str = DEFAULT_MODEL
    max_tokens: int = 1024
    top_k: int = 3
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.lesson_text, str) or not self.lesson_text.strip():
            raise ValueError("The tutor needs the lesson's text: pass a non-empty string, or use "
                             "Tutor.from_notebook(path) / lab.tutor().")
        self.index = PassageIndex(paragraphs(self.lesson_text))
        if self.live is None:
            from agentkit.clients import is_live, live_by_default

            self.live = live_by_default() if self.client is None else is_live(self.client)
        if self.live and self.client is None:
            from agentkit.clients import client

            self.client = client(quiet=True)

    @property
    def mode(self) -> Mode:
        return "live" if self.live else "offline"

    # -- constructors ---------------------------------------------------------------

    @classmethod
    def from_notebook(cls, path: str | Path, **kwargs: Any) -> "Tutor":
        """A tutor for the lesson notebook at `path` (its markdown cells are the lesson text)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"No lesson notebook at {path}; pass the path of a .ipynb file.")
        kwargs.setdefault("title", path.stem)
        return cls(notebook_markdown(path), **kwargs)

    @classmethod
    def for_lab(cls, lab: Any, **kwargs: Any) -> "Tutor":
        """A tutor for a lab: its lesson notebook if present (found by `lab.lesson_notebook`), else the lab's notes."""
        from agentkit.course.paths import find_course_dir

        root = find_course_dir()
        text = ""
        if lab.lesson_notebook and root is not None:
            matches = sorted(glob.glob(str(root / lab.lesson_notebook)))
            if matches:  # a lesson in parts (m1_l4a_..., m1_l4b_...) is read whole
                text = "\n\n".join(notebook_markdown(m) for m in matches)
        text = text or lab.notes
        tasks = "\n".join(f"- {t.id}: {t.title} (answer: {t.expects})" for t in lab.tasks)
        context = f"The learner is working on {lab.title}.\nScenario: {lab.scenario!r}\nTasks:\n{tasks}"
        # The lab's own instructions help the live tutor (and lengthen the cached prefix past the
        # model's minimum cacheable size); the offline ranking stays on the lesson text alone.
        lab_notebook = (root or Path(".")) / "labs" / f"{lab.id}.ipynb"
        if root is not None and lab_notebook.exists():
            context += "\n\nThe lab notebook's instructions:\n\n" + notebook_markdown(lab_notebook)
        kwargs.setdefault("title", lab.lesson)
        kwargs.setdefault("context", context)
        return cls(text, **kwargs)

    # -- asking -------------------------------------------------------------------------

    def system_blocks(self) -> list[dict[str, Any]]:
        """The system prompt: instructions, then the lesson (and lab) marked for caching."""
        lesson = f"<lesson title={self.title!r}>\n{self.lesson_text}\n</lesson>"
        if self.context:
            lesson += f"\n\n<lab>\n{self.context}\n</lab>"
        # The breakpoint on the last block caches everything before it: instructions and lesson.
        return [
            {"type": "text", "text": INSTRUCTIONS},
            {"type": "text", "text": lesson, "cache_control": {"type": "ephemeral"}},
        ]

    def request(self, question: str) -> dict[str, Any]:
        """The Messages API request `ask` sends live (handy to inspect)."""
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": self.system_blocks(),
            "messages": [*self.history, {"role": "user", "content": question}],
        }

    def ask(self, question: str) -> TutorAnswer:
        """Answer one question; never raises for an empty question or a failed live call."""
        if not isinstance(question, str) or not question.strip():
            return TutorAnswer(str(question or ""), "Type a question first, for example: "
                               "'Why does the conversation history grow at every step?'", self.mode)
        question = question.strip()
        if not self.live:
            return self._offline(question)
        try:
            response = self.client.messages.create(**self.request(question))
        except Exception as err:  # no network, bad key, overload: fall back to the lesson itself
            answer = self._offline(question)
            note = f"The live tutor could not answer ({type(err).__name__}: {err}). Offline answer instead:\n\n"
            return TutorAnswer(question, note + answer.text, "offline", answer.passages)
        text = "".join(getattr(b, "text", "") for b in response.content if getattr(b, "type", "") == "text").strip()
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": text or "(no answer)"}]
        usage = _usage_dict(response.usage)
        try:
            from agentkit.pricing import cost_of

            cost: float | None = cost_of(getattr(response, "model", self.model), usage)
        except Exception:  # an unpriced model still gets its answer shown
            cost = None
        return TutorAnswer(question, text, "live", (), getattr(response, "model", self.model), usage, cost)

    def _offline(self, question: str) -> TutorAnswer:
        found = tuple(self.index.search(question, self.top_k))
        if not found:
            text = (f"Offline tutor (no API key set, so no model is answering): nothing in {self.title} matches "
                    "those words. Try the lesson's own terms, or set ANTHROPIC_API_KEY to ask Claude.")
        else:
            text = (f"Offline tutor (no API key set, so no model is answering): I cannot reason about your "
                    f"question, but these passages of {self.title} match it best (BM25 keyword ranking). "
                    "Set ANTHROPIC_API_KEY to ask Claude instead.")
        return TutorAnswer(question, text, "offline", found)

    # -- the widget ---------------------------------------------------------------------

    def show(self) -> Any:
        """The ask-the-tutor widget: a text box, an Ask button and an answer area."""
        import ipywidgets as widgets

        label = "Live tutor: Claude" if self.live else "Offline tutor: passages from the lesson"
        header = widgets.HTML(f"<b>Ask the tutor</b> <small>({html.escape(label)})</small>")
        box = widgets.Textarea(placeholder="Ask about the lesson or this lab ...", layout=widgets.Layout(width="100%"))
        button = widgets.Button(description="Ask", button_style="primary", icon="question")
        answer_area = widgets.HTML()

        def on_ask(_: Any) -> None:
            button.disabled = True
            try:
                answer_area.value = self.ask(box.value)._repr_html_()
            finally:
                button.disabled = False

        button.on_click(on_ask)
        panel = widgets.VBox([header, box, button, answer_area])
        panel.ask_button, panel.question_box, panel.answer_area = button, box, answer_area  # for tests and scripts
        return panel
