"""The checked exercises of lesson F05 Memory and knowledge."""

from __future__ import annotations

from typing import Any

from agentkit.course.lab import Task, Verdict, as_name, passed, wrong
from agentkit.exercises import Exercises


# -- F05 ----------------------------------------------------------------------------------


def _check_citation(answer: Any) -> Verdict:
    from agentkit.cases.support import POLICY_DOCS
    from agentkit.memory import Knowledge

    knowledge = Knowledge(POLICY_DOCS)
    ids = [p.id for p in knowledge.passages]
    got = as_name(answer, ids, what="your citation")
    right = next(p.id for p in knowledge.passages if "12 months" in p.text)
    if got != right:
        return wrong(f"[{got}] says: {knowledge.get(got).text!r}. Does that answer how long a faulty item can be "
                     "returned?")
    return passed(f"[{right}] is the passage that says so.")


EXERCISES = Exercises("f05", "Foundations 05 exercises", "F05 Memory and knowledge", lesson_notebook="notebooks/05_*.ipynb", tasks=[
    Task("citation", "Which passage answers: how long can I return a faulty item?", _check_citation,
         "a passage id such as 'returns#1', as a string",
         ("knowledge.search(question) returns passages with their ids, best first.",
          "Read the passages' text: the answer names a number of months.")),
], solutions={
    "citation": """
        print(knowledge.context(knowledge.search("how long can I return a faulty item")))
        my_citation = "returns#2"
    """,
}, answers={"citation": "my_citation"})
