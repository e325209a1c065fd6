"""The checked exercises of lesson F04 Evaluation."""

from __future__ import annotations

from typing import Any

from agentkit.course.lab import FunctionTask, Verdict, as_function, as_number, call_learner_code, passed, wrong
from agentkit.exercises import Exercises


# -- F04 ----------------------------------------------------------------------------------


def _check_exact_agreement(answer: Any) -> Verdict:
    from agentkit.evals import agreement

    fn = as_function(answer, "your exact_agreement")
    trials = [([5, 4, 4, 3], [5, 3, 4, 2]), ([1, 2, 3], [1, 2, 3]), ([5, 5], [1, 2]), ([4, 4, 5, 5, 3], [4, 3, 5, 4, 3])]
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


EXERCISES = Exercises("f04", "Foundations 04 exercises", "F04 Evaluation", lesson_notebook="notebooks/04_*.ipynb", tasks=[
    FunctionTask("exact_agreement", "Write exact_agreement(judge, human): the share of items scored the same",
                 _check_exact_agreement, "a function (judge_scores, human_scores) -> a fraction between 0 and 1",
                 ("Walk the two lists side by side with zip(judge, human).",
                  "sum(j == h for j, h in zip(judge, human)) / len(judge)"), probes=(([4, 5], [4, 3]),)),
], solutions={
    "exact_agreement": """
        def exact_agreement(judge_scores, human_scores):
            "The share of items (0 to 1) where the judge's score equals the human's."
            share = sum(j == h for j, h in zip(judge_scores, human_scores)) / len(judge_scores)
            return share
    """,
}, answers={"exact_agreement": "exact_agreement"})
