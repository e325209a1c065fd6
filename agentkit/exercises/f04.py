"""The checked exercises of lesson F04 Evaluation.

`exact_agreement`: the first calibration number, checked against `agentkit.evals.agreement` on fixed and seeded
score lists. `judge_call`: the learner writes an LLM-as-judge call with a rubric. The check runs it on fresh
offline clients whose scripted judge returns a seeded verdict, with a seeded rubric and response each time, and
reads the request it sent: one call, the verdict asked for through structured outputs (a JSON schema with an
integer score in `output_config.format`), the rubric and the response both in front of the model, and the score
read from the structured reply.
"""

from __future__ import annotations

import random
from typing import Any

from agentkit.course.lab import (AnswerError, FunctionTask, Verdict, as_function, as_number, call_learner_code,
                                 passed, wrong)
from agentkit.exercises import Exercises
from agentkit.exercises._code_task import CodeTask, catch_all, fresh_seed, request_text
from agentkit.exercises._transcript import run_recorded


# -- F04 ----------------------------------------------------------------------------------


def _check_exact_agreement(answer: Any) -> Verdict:
    from agentkit.evals import agreement

    fn = as_function(answer, "your exact_agreement")
    rng = random.Random(fresh_seed())
    trials = [([5, 4, 4, 3], [5, 3, 4, 2]), ([1, 2, 3], [1, 2, 3]), ([5, 5], [1, 2]), ([4, 4, 5, 5, 3], [4, 3, 5, 4, 3])]
    for n in (rng.randint(3, 7), rng.randint(8, 12)):
        human = [rng.randint(1, 5) for _ in range(n)]
        trials.append(([h if rng.random() < 0.5 else rng.randint(1, 5) for h in human], human))
    for judge, human in trials:
        got, error = call_learner_code(fn, list(judge), list(human))
        if error:
            return wrong(f"exact_agreement({judge}, {human}) raised {error}")
        value = as_number(got, f"exact_agreement({judge}, {human})")
        right = agreement(judge, human).exact
        if abs(value - right) > 1e-9:
            hint = " Give a fraction between 0 and 1, not a percentage." if value > 1 else ""
            return wrong(f"exact_agreement({judge}, {human}) returned {value:g}; count the pairs with the same "
                         f"score and divide by the number of pairs.{hint}")
    return passed("Right on every test pair. agentkit.evals.agreement computes it too, with kappa beside it.")


# -- judge_call -----------------------------------------------------------------------------------

_TOPICS = (("a cover letter for a first job", "names the role", "shows one concrete achievement"),
           ("a recipe for a weeknight dinner", "lists every ingredient", "gives times and temperatures"),
           ("a bug report", "says how to reproduce it", "states expected and actual behaviour"),
           ("a product description", "says who it is for", "names the main limitation"))


def _judge_trials(seed: int) -> list[tuple[str, str, int]]:
    from agentkit.evals import Rubric

    rng = random.Random(seed)
    trials = []
    for topic, first, second in rng.sample(_TOPICS, 3):
        rubric = Rubric(criterion=f"{topic}: it {first} and {second}", levels={
            5: f"{first} and {second}, clearly and completely", 4: f"{first} and {second}, with one vague part",
            3: f"{first} or {second}, not both", 2: f"neither: generic text about {topic.split()[1]}",
            1: "off topic or unusable"}).text()
        response = f"Draft {rng.randint(100, 999)}: " + rng.choice(["A short, plain", "A long, detailed", "A rough"]) \
            + f" attempt at {topic}, written for case {rng.randint(1000, 9999)}."
        trials.append((rubric, response, rng.randint(1, 5)))
    return trials


def _judge_problem(body: dict[str, Any], rubric: str, response: str) -> str | None:
    fmt = (body.get("output_config") or {}).get("format") or {}
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    if not (isinstance(schema, dict) and fmt.get("type") == "json_schema"):
        return ("the request did not ask for structured outputs: no JSON schema in output_config.format. Asking for "
                "JSON in the prompt is a request, not a guarantee; use client.messages.parse(..., output_format=...) "
                "so the API returns JSON that fits your schema.")
    score = (schema.get("properties") or {}).get("score")
    if not (isinstance(score, dict) and score.get("type") == "integer"):
        return "the verdict's schema has no integer 'score' property, so the score cannot be read from the reply."
    said = request_text(body)
    if rubric not in said:
        missing = next(line for line in rubric.splitlines() if line not in said) if any(
            line not in said for line in rubric.splitlines()) else rubric[:40]
        return (f"the rubric did not reach the model whole (for example {missing!r} is missing). Without every "
                "level written out, a 4 today and a 4 next month mean different things.")
    if response not in said:
        return "the response to grade was not in the request."
    return None


def _check_judge_call(answer: Any) -> Verdict:
    fn = as_function(answer, "your grade")
    seed = fresh_seed()
    for rubric, response, score in _judge_trials(seed):
        scenario = catch_all("f04_judge_call", [{"text": f'{{"reason": "scripted", "score": {score}}}',
                                                 "json": {"reason": "Scripted verdict for the check.", "score": score}}])
        transcript = run_recorded(fn, rubric, response, scenarios=[scenario])
        where = f"On a hidden case (check seed {seed})"
        if transcript.error:
            return wrong(f"{where}, your function raised {transcript.error}.")
        if transcript.calls != 1:
            return wrong(f"{where}, your function called the model {transcript.calls} times; one call grades one "
                         "response.")
        problem = _judge_problem(transcript.requests[0], rubric, response)
        if problem:
            return wrong(f"{where}, {problem}")
        value = transcript.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnswerError(f"grade returned {value!r}, a {type(value).__name__}; return the verdict's score, an "
                              "int from 1 to 5.")
        if value != score:
            return wrong(f"{where}, the judge's structured verdict said {score}, and your function returned {value}.")
    return passed("One structured call per response, the whole rubric in front of the judge, and the score read "
                  "from the parsed verdict. agentkit.evals.Judge does this, plus a cost meter and pairwise checks.")


EXERCISES = Exercises("f04", "Foundations 04 exercises", "F04 Evaluation", lesson_notebook="notebooks/04_*.ipynb", tasks=[
    FunctionTask("exact_agreement", "Write exact_agreement(judge, human): the share of items scored the same",
                 _check_exact_agreement, "a function (judge_scores, human_scores) -> a fraction between 0 and 1",
                 ("Exact agreement is a share: the items where the two scores are equal, out of all items. "
                  "(lab.hint('exact_agreement', 2) says how to walk the lists.)",
                  "zip(judge_scores, human_scores) gives the pairs side by side; count the pairs whose two scores "
                  "are equal. (Hint 3: what to divide by.)",
                  "Divide the count by the number of pairs, so the result is between 0 and 1, not a percentage."),
                 probes=(([4, 5], [4, 3]),)),
    CodeTask("judge_call", "Write an LLM-as-judge call with a rubric, read through structured outputs",
             _check_judge_call, "a function grade(client, rubric, response) -> the score, an int from 1 to 5",
             ("One call does it: the rubric and the response go to the model, and the verdict comes back in a "
              "fixed shape your code can read. (lab.hint('judge_call', 2) names the SDK call.)",
              "client.messages.parse(model=..., max_tokens=..., system=..., messages=[...], output_format=Grade) "
              "sends Grade's JSON schema as the output format and gives back a Grade object. (Hint 3: where the "
              "rubric and the response go.)",
              "Put the rubric in the system prompt (or the user message) and the response in the user message, "
              "then return the parsed verdict's score.")),
], solutions={
    "exact_agreement": """
        def exact_agreement(judge_scores, human_scores):
            "The share of items (0 to 1) where the judge's score equals the human's."
            share = sum(j == h for j, h in zip(judge_scores, human_scores)) / len(judge_scores)
            return share
    """,
    "judge_call": """
        def grade(client, rubric, response):
            reply = client.messages.parse(
                model=FAST_MODEL, max_tokens=300, output_format=Grade,
                system="You are an evaluator. Grade the response with the rubric.\\n\\n" + rubric,
                messages=[{"role": "user", "content": f"<response>\\n{response}\\n</response>"}],
            )
            return reply.parsed_output.score
    """,
}, answers={"exact_agreement": "exact_agreement", "judge_call": "grade"})
