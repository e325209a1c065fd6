"""Evaluation: measure an agent's output, so "better" is a number and not a feeling.

Three kinds of eval, from cheapest to most flexible:

* **exact match**: the output equals the labelled answer (after normalising case,
  spacing and punctuation). "Is the blue denim jacket in stock?" has one right answer.
* **field level**: the output is a record (a dict); each field is right or wrong on its
  own, so you see *which* part fails, not just that something did.
* **LLM as judge**: a second model grades free text (an essay, a reply) against an
  explicit 1-5 rubric and returns structured output, a score plus a reason. Judges are
  cheap and scale, but are lenient and biased by position; `agreement` calibrates a judge
  against a few human labels before you trust it.

    run = run_eval(cases, my_agent, exact_match, name="stock bot", version="v1")
    run.accuracy, run.to_dataframe()
    judge = Judge(client, ESSAY_RUBRIC)
    judge.grade(essay, task="...").verdict.score

An eval run is reproducible: the cases are fixed, the system under test is called in
order, and every model call goes through the (seeded) client. `compare` lines two runs
up case by case, e.g. two versions of one agent.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping, Sequence

import anthropic
from pydantic import BaseModel, Field, ValidationError

from agentkit.models import FAST_MODEL
from agentkit.pricing import cost_of

__all__ = [
    "Case", "CaseResult", "EvalRun", "EvalError", "run_eval", "compare", "exact_match", "field_match",
    "Rubric", "ESSAY_RUBRIC", "Verdict", "PairVerdict", "Judge", "Graded", "JudgeError", "parse_verdict",
    "Agreement", "agreement", "Call", "measured_call",
]


class EvalError(ValueError):
    """An eval that cannot run as asked (no cases, a scorer returning nonsense); the message says how to fix it."""


class JudgeError(ValueError):
    """The judge's reply is not the JSON the rubric asked for. `reply` holds the raw text, so nothing is lost."""

    def __init__(self, message: str, reply: str = "") -> None:
        super().__init__(message)
        self.reply = reply


# -- one measured model call ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A model reply with what it cost: USD (from `agentkit.pricing`) and seconds.

    Offline, `seconds` is the simulator's own latency for the call (its response header),
    not this machine's wall clock, so it is the same on every run; live it is wall clock.
    """

    message: Any
    seconds: float
    cost: float

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.message.content if b.type == "text")


def measured_call(client: Any, **params: Any) -> Call:
    """`client.messages.create(**params)`, plus its cost and latency (see `Call`)."""
    started = time.perf_counter()
    raw = client.messages.with_raw_response.create(**params)
    wall = time.perf_counter() - started
    message = raw.parse()
    simulated = raw.headers.get("x-agentkit-simulated-seconds")
    seconds = float(simulated) if simulated is not None else wall
    return Call(message, seconds, cost_of(params["model"], message.usage))


# -- exact match and field level ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One labelled example: what goes in, and what should come out."""

    id: str
    input: Any
    expected: Any
    tags: tuple[str, ...] = ()


def _norm(value: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(value).lower()).strip()


def exact_match(output: Any, expected: Any) -> bool:
    """True if `output` equals `expected` ignoring case, spacing and punctuation ("Yes." == "yes")."""
    return _norm(output) == _norm(expected)


def field_match(output: Any, expected: Mapping[str, Any]) -> dict[str, bool]:
    """Each expected field: right or wrong. A missing field, or an output that is not a dict, is wrong."""
    if not isinstance(expected, Mapping) or not expected:
        raise EvalError("field_match needs the expected answer as a non-empty dict of field -> value")
    got = output if isinstance(output, Mapping) else {}
    return {name: name in got and exact_match(got[name], want) for name, want in expected.items()}


@dataclass
class CaseResult:
    """How one case went: the output, pass/fail, the score in [0, 1] and per-field results."""

    case: Case
    output: Any
    score: float
    fields: dict[str, bool] = field(default_factory=dict)
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.score == 1.0


@dataclass
class EvalRun:
    """The results of one eval over a case set, for one version of a system."""

    name: str
    version: str
    results: list[CaseResult]

    @property
    def accuracy(self) -> float:
        """Share of cases fully right (every field, or the exact answer)."""
        return sum(r.passed for r in self.results) / len(self.results)

    @property
    def mean_score(self) -> float:
        return sum(r.score for r in self.results) / len(self.results)

    def field_accuracy(self) -> dict[str, float]:
        """Per field, the share of cases where it was right (field-level evals only)."""
        names: dict[str, list[bool]] = {}
        for r in self.results:
            for name, ok in r.fields.items():
                names.setdefault(name, []).append(ok)
        return {name: sum(oks) / len(oks) for name, oks in names.items()}

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def to_dataframe(self) -> Any:
        """One row per case: id, tags, output, expected, score, passed, and a column per field."""
        import pandas as pd

        rows = []
        for r in self.results:
            row = {"version": self.version, "case": r.case.id, "tags": ",".join(r.case.tags),
                   "output": r.output, "expected": r.case.expected, "score": r.score, "passed": r.passed}
            row.update({f"field:{k}": v for k, v in r.fields.items()})
            if r.error:
                row["error"] = r.error
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"EvalRun({self.name!r} {self.version}: {sum(r.passed for r in self.results)}/{len(self.results)} passed)"


Scorer = Callable[[Any, Any], Any]


def _score(value: Any, where: str) -> tuple[float, dict[str, bool]]:
    """A scorer may return a bool, a number in [0, 1], or a dict of field -> bool."""
    if isinstance(value, bool):
        return float(value), {}
    if isinstance(value, Mapping):
        if not value or not all(isinstance(v, bool) for v in value.values()):
            raise EvalError(f"{where}: a scorer's dict must map field names to True/False, got {dict(value)!r}")
        return sum(value.values()) / len(value), dict(value)
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value), {}
    raise EvalError(f"{where}: a scorer must return True/False, a score between 0 and 1, or a dict of "
                    f"field -> True/False; it returned {value!r}")


def run_eval(cases: Iterable[Case], system: Callable[[Any], Any], scorer: Scorer = exact_match, *,
             name: str = "eval", version: str = "v1") -> EvalRun:
    """Run `system(case.input)` on every case, in order, and score it with `scorer(output, case.expected)`.

    An exception in `system` for one case is recorded as a failed case (score 0, `error`
    says what happened), not raised: one crash should not hide the other results.
    """
    cases = list(cases)
    if not cases:
        raise EvalError("the eval set is empty: give at least one Case(id, input, expected) to run")
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise EvalError(f"case ids must be unique; repeated: {sorted({i for i in ids if ids.count(i) > 1})}")
    results = []
    for case in cases:
        try:
            output = system(case.input)
        except Exception as err:  # noqa: BLE001 - the system under test failing is a result, not a crash
            results.append(CaseResult(case, None, 0.0, error=f"{type(err).__name__}: {err}"))
            continue
        score, fields = _score(scorer(output, case.expected), f"case {case.id!r}")
        results.append(CaseResult(case, output, score, fields))
    return EvalRun(name, version, results)


def compare(*runs: EvalRun) -> Any:
    """Two or more runs over the same cases, side by side: one row per case, a score column per version,
    and `changed` where the versions disagree. Raises if the runs did not use the same cases."""
    import pandas as pd

    if len(runs) < 2:
        raise EvalError("compare needs at least two runs, e.g. compare(run_v1, run_v2)")
    base = [r.case.id for r in runs[0].results]
    for run in runs[1:]:
        if [r.case.id for r in run.results] != base:
            raise EvalError(f"runs {runs[0].version!r} and {run.version!r} used different cases; "
                            "compare runs over the same eval set")
    versions = [run.version for run in runs]
    if len(set(versions)) != len(versions):
        raise EvalError(f"give each run its own version name; got {versions}")
    table = pd.DataFrame({"case": base})
    for run in runs:
        table[run.version] = [r.score for r in run.results]
    table["changed"] = table[versions].nunique(axis=1) > 1
    return table


# -- LLM as judge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rubric:
    """What the judge grades and what each score from 1 to 5 means. Explicit levels make
    scores comparable between runs and between judges."""

    criterion: str
    levels: Mapping[int, str]

    def __post_init__(self) -> None:
        if sorted(self.levels) != [1, 2, 3, 4, 5]:
            raise ValueError(f"a rubric describes each score 1-5; got levels for {sorted(self.levels)}")

    def text(self) -> str:
        lines = [f"Grade the response for: {self.criterion}", "Scores:"]
        lines += [f"{score}: {self.levels[score]}" for score in range(5, 0, -1)]
        return "\n".join(lines)


ESSAY_RUBRIC = Rubric(
    criterion="a short essay for beginners: accurate, specific advice backed by its sources, well organised",
    levels={
        5: "specific, accurate and complete; every claim is supported; clear structure",
        4: "accurate and clear, with one gap or one vague section",
        3: "generally right but generic; several claims unsupported or missing topics",
        2: "thin or partly wrong; little a beginner could act on",
        1: "wrong, off topic or unusable",
    },
)


class Verdict(BaseModel):
    """A judge's grade: a score from 1 to 5, and the reason for it."""

    reason: str = Field(min_length=1, description="one or two sentences: what earned or cost points")
    score: int = Field(ge=1, le=5, description="the rubric score, 1 (worst) to 5 (best)")


class PairVerdict(BaseModel):
    """A judge's choice between two responses shown as A and B."""

    reason: str = Field(min_length=1)
    better: Literal["A", "B"]


_JUDGE_SYSTEM = ("You are an evaluator. Grade the response with the rubric. Answer with JSON only, an object with "
                 "\"reason\" (a short string) then \"score\" (an integer from 1 to 5).")
_PAIR_SYSTEM = ("You are an evaluator comparing two responses to one task. Answer with JSON only, an object with "
                "\"reason\" (a short string) then \"better\" (\"A\" or \"B\").")


def _first_json_object(text: str) -> Any:
    """The first JSON object in `text` that parses, with whatever prose surrounds it; None if there is none."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            return decoder.raw_decode(text, start)[0]
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    return None


def parse_verdict(text: str, model: type[BaseModel] = Verdict) -> Any:
    """Read a judge reply as `model` (validated with pydantic); a clear `JudgeError` if it is not.

    A judge asked without structured outputs may wrap its JSON in a ```json fence or put a
    sentence before or after it (live models do); that is forgiven: the first JSON object in
    the reply is read. A reply with no JSON object, or one missing a field, or with a score
    outside 1-5, is an error that quotes the reply (also kept on the exception as `.reply`)."""
    raw = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)\s*```", raw, re.DOTALL)
    if fenced:
        raw = fenced.group(1)
    shown = text if len(text) <= 200 else text[:197] + "..."
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        data = _first_json_object(raw)
        if data is None:
            raise JudgeError(f"the judge's reply is not valid JSON ({err.msg} at character {err.pos}): {shown!r}. "
                             f"Ask for JSON only, or use structured outputs so the API enforces the schema.",
                             text) from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in err.errors())
        raise JudgeError(f"the judge's JSON does not match {model.__name__} ({problems}): {shown!r}", text) from None


@dataclass(frozen=True)
class Graded:
    """One judged response: the verdict and the judge call's cost and seconds."""

    verdict: Any
    cost: float
    seconds: float


class Judge:
    """A second model that grades a response against a `Rubric` and returns a `Verdict`.

    With `structured=True` the request asks the API for structured outputs
    (``output_config.format`` with the verdict's JSON schema), so the reply is valid JSON by
    construction; either way the reply is parsed and validated here with pydantic, so a
    server that ignores the format, or a judge asked without it, still gives a clear
    `JudgeError` instead of a wrong score.
    """

    def __init__(self, client: Any, rubric: Rubric = ESSAY_RUBRIC, *, model: str = FAST_MODEL,
                 structured: bool = True, max_tokens: int = 300) -> None:
        if not hasattr(client, "messages"):
            raise TypeError(f"Judge needs a client such as agentkit.client(); got {type(client).__name__}")
        self.client, self.rubric, self.model = client, rubric, model
        self.structured, self.max_tokens = structured, max_tokens
        self.calls: list[Call] = []

    def _ask(self, system: str, prompt: str, schema: type[BaseModel]) -> tuple[Any, Call]:
        params: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "system": system,
                                  "messages": [{"role": "user", "content": prompt}]}
        if self.structured:
            params["output_config"] = {"format": {"type": "json_schema",
                                                  "schema": anthropic.transform_schema(schema)}}
        call = measured_call(self.client, **params)
        self.calls.append(call)
        return parse_verdict(call.text, schema), call

    def grade(self, response: str, task: str = "") -> Graded:
        """Score `response` (to `task`, if given) against the rubric."""
        if not isinstance(response, str) or not response.strip():
            raise ValueError("grade() needs the response to judge as non-empty text")
        prompt = f"{self.rubric.text()}\n\n<task>\n{task}\n</task>\n\n<response>\n{response}\n</response>"
        verdict, call = self._ask(_JUDGE_SYSTEM, prompt, Verdict)
        return Graded(verdict, call.cost, call.seconds)

    def prefer(self, task: str, first: str, second: str) -> Graded:
        """Which of two responses is better? `first` is shown as A, `second` as B."""
        prompt = (f"{self.rubric.text()}\n\n<task>\n{task}\n</task>\n\n<response_A>\n{first}\n</response_A>\n\n"
                  f"<response_B>\n{second}\n</response_B>\n\nWhich response is better?")
        verdict, call = self._ask(_PAIR_SYSTEM, prompt, PairVerdict)
        return Graded(verdict, call.cost, call.seconds)

    def position_consistency(self, task: str, pairs: Sequence[tuple[str, str]]) -> float:
        """Share of pairs judged the same way in both orders. A judge without position bias picks the
        same response whether it is shown first or second (1.0); one that always prefers A scores 0.0."""
        if not pairs:
            raise EvalError("position_consistency needs at least one (response, response) pair")
        same = 0
        for a, b in pairs:
            forward = self.prefer(task, a, b).verdict.better
            backward = self.prefer(task, b, a).verdict.better
            same += forward != backward  # "A" then "B" means the same response won both times
        return same / len(pairs)


# -- calibration: judge vs human --------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How well judge scores match human scores on the same items.

    `exact`: share of items with the same score; `within_one`: share at most one point
    apart; `kappa`: Cohen's kappa with quadratic weights (1 = perfect, 0 = no better than
    chance; the usual statistic for ordinal scores); `mean_difference`: judge minus
    human on average, so a positive value means a lenient judge.
    """

    n: int
    exact: float
    within_one: float
    kappa: float
    mean_difference: float

    def __str__(self) -> str:
        return (f"{self.n} items: exact agreement {self.exact:.0%}, within one point {self.within_one:.0%}, "
                f"weighted kappa {self.kappa:.2f}, judge minus human {self.mean_difference:+.2f} points on average")


def agreement(judge: Sequence[int], human: Sequence[int], levels: Sequence[int] = (1, 2, 3, 4, 5)) -> Agreement:
    """Compare judge scores with human labels for the same items (see `Agreement`)."""
    judge, human = list(judge), list(human)
    if not judge or len(judge) != len(human):
        raise EvalError(f"agreement needs two equally long, non-empty lists of scores; got {len(judge)} judge "
                        f"and {len(human)} human scores")
    bad = [s for s in judge + human if s not in levels]
    if bad:
        raise EvalError(f"scores must be among {list(levels)}; got {bad[:5]}")
    n = len(judge)
    exact = sum(j == h for j, h in zip(judge, human)) / n
    within = sum(abs(j - h) <= 1 for j, h in zip(judge, human)) / n
    diff = sum(j - h for j, h in zip(judge, human)) / n
    # Quadratic-weighted kappa, written out (sklearn's cohen_kappa_score would be one more dependency for
    # one formula): 1 - observed weighted disagreement / the disagreement expected by chance.
    k = len(levels)
    index = {level: i for i, level in enumerate(levels)}
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    judge_share = [sum(index[s] == i for s in judge) / n for i in range(k)]
    human_share = [sum(index[s] == i for s in human) / n for i in range(k)]
    observed = sum(weight[index[j]][index[h]] for j, h in zip(judge, human)) / n
    expected = sum(weight[i][j] * judge_share[i] * human_share[j] for i in range(k) for j in range(k))
    kappa = 1.0 - observed / expected if expected > 0 else (1.0 if observed == 0 else 0.0)
    return Agreement(n, exact, within, kappa if not math.isnan(kappa) else 0.0, diff)
