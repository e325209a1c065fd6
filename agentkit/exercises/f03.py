"""The checked exercises of lesson F03 Choosing and shaping agent work.

`quadrants`: place four practice tasks (never scored in the lesson) from their facts; checked with
`shaping.place`. `decomposition`: a plan for the essay, checked with `shaping.check_decomposition`.
`run_plan`: the learner's code runs a decomposition (outline -> search terms -> search -> draft), three model calls
and a search API between them. The check runs it on a fresh offline client whose scripted model answers each step
only when the request carries the previous step's output (seeded marker words), gives it a recording search
function, and reads what went where: each step's input holds the last step's output, the search ran once per term
the model wrote, the draft request holds every search result, and the function returns the draft.
"""

from __future__ import annotations

import random
from typing import Any

from agentkit.course.lab import AnswerError, Task, Verdict, as_function, as_mapping, as_name, passed, wrong
from agentkit.exercises import Exercises
from agentkit.exercises._code_task import CodeTask, fresh_seed, request_text
from agentkit.exercises._transcript import run_recorded


# -- F03 ----------------------------------------------------------------------------------


def _check_quadrants(answer: Any) -> Verdict:
    from agentkit.shaping import PRACTICE_TASKS, place

    names = [t.name for t in PRACTICE_TASKS]
    given = as_mapping(answer, names)
    mistakes = []
    for item in PRACTICE_TASKS:
        got = given[item.name]
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise AnswerError(f"the value for {item.name!r} is {got!r}; give a pair like ('high', 'low')")
        got = tuple(as_name(g, ("low", "high"), what=f"the placement of {item.name!r}") for g in got)
        p = place(item)
        if got != p.quadrant:
            axis = "complexity" if got[0] != p.quadrant[0] else "precision"
            mistakes.append(f"{item.name}: look again at its {axis} (steps: {item.steps}, known in advance: "
                            f"{item.steps_known}, research: {item.needs_research}, cost of an error: "
                            f"{item.error_cost}, human review: {item.human_review})")
    if mistakes:
        return wrong("Not all placements match the task facts:\n" + "\n".join(mistakes))
    starters = [t.name for t in PRACTICE_TASKS if place(t).quadrant == ("high", "low")]
    return passed(f"All {len(PRACTICE_TASKS)} placed. In the starting quadrant: {', '.join(starters)}.")


def _check_decomposition(answer: Any) -> Verdict:
    from agentkit.shaping import check_decomposition

    if not isinstance(answer, (list, tuple)):
        raise AnswerError(f"your plan is a {type(answer).__name__}; give a list of (description, kind) pairs")
    try:
        problems = check_decomposition(answer)
    except ValueError as err:
        raise AnswerError(str(err)) from None
    if problems:
        return wrong("The plan needs work:\n" + "\n".join(problems))
    return passed(f"{len(answer)} steps, each one LLM call, a bit of code or an API call, of the right kind.")


# -- run_plan ----------------------------------------------------------------------------------------

_TOPICS = ("how to start running", "how to learn to cook", "how to begin birdwatching", "how to start a vegetable garden",
           "how to learn to swim as an adult", "how to start rock climbing")
_WORDS = ("amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kelp",
          "lagoon", "maple", "nickel", "onyx", "pebble", "quartz", "russet", "sable", "tundra")


def _plan_case(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    words = rng.sample(_WORDS, 9)
    outline_mark, source_mark, essay_mark = (f"{w}-{rng.randint(100, 999)}" for w in words[:3])
    terms = [f"{w} tips" for w in words[3:3 + rng.randint(2, 4)]]
    topic = rng.choice(_TOPICS)
    draft = f"Essay {essay_mark}: {topic}, in three short paragraphs drawn from the sources."
    scenarios = [  # the first match wins: each step is answered only when its input holds the last step's output
        {"name": "f03_run_plan_draft", "match": {"user": source_mark}, "turns": [{"text": draft}]},
        {"name": "f03_run_plan_terms", "match": {"user": outline_mark}, "turns": [{"text": "\n".join(terms)}]},
        {"name": "f03_run_plan_outline", "match": {"user": ""},
         "turns": [{"text": f"Outline {outline_mark}:\n1. Why start\n2. The first week\n3. Keeping going"}]},
    ]
    return {"topic": topic, "terms": terms, "draft": draft, "marks": (outline_mark, source_mark),
            "scenarios": scenarios}


def _check_run_plan(answer: Any) -> Verdict:
    fn = as_function(answer, "your write_essay")
    seed = fresh_seed()
    case = _plan_case(seed)
    outline_mark, source_mark = case["marks"]
    searched: list[str] = []

    def search(term: str) -> str:
        searched.append(term)
        return f"[{source_mark}] A page about {term!r}: practical advice for beginners."

    transcript = run_recorded(fn, case["topic"], search, scenarios=case["scenarios"])
    where = f"(check seed {seed}, topic {case['topic']!r})"
    if transcript.error:
        return wrong(f"Your function raised {transcript.error} {where}.")
    said = [request_text(body) for body in transcript.requests]
    if transcript.calls != 3:
        return wrong(f"Your function made {transcript.calls} model call(s) {where}; the plan has three LLM steps "
                     "(outline, search terms, draft). The search is an API call, not a model call.")
    if case["topic"] not in said[0]:
        return wrong(f"The outline step's request did not contain the topic {where}.")
    if outline_mark not in said[1]:
        return wrong(f"The search-terms step did not get the outline: the second model call's request does not "
                     f"contain the first call's reply {where}. Pass each step's output into the next step's prompt.")
    wanted = [t.strip() for t in case["terms"]]
    if sorted(t.strip() for t in searched) != sorted(wanted):
        return wrong(f"search() was called with {searched!r}; it should run once for each line of the search-terms "
                     f"step's reply {where}. Split that reply into lines and skip empty ones.")
    if said[2].count(source_mark) < len(wanted):
        return wrong(f"The draft step's request does not hold every search result {where}: the sources must reach "
                     "the model that writes the draft.")
    if transcript.value != case["draft"]:
        return wrong(f"Your function returned {str(transcript.value)[:80]!r}; return the draft step's text {where}.")
    return passed("Three model calls, each fed by the step before, and a search between them: a decomposition your "
                  "code runs. Each step can now be tested and improved on its own.")


EXERCISES = Exercises("f03", "Foundations 03 exercises", "F03 Choosing and shaping agent work", lesson_notebook="notebooks/03_*.ipynb", tasks=[
    Task("quadrants", "Place four practice tasks on the matrix", _check_quadrants,
         "a dict: task name -> (complexity, precision), each 'low' or 'high'",
         ("Use the rule in place()'s docstring, not your gut: score each axis from the task's facts, and 3 points "
          "or more is 'high'. (lab.hint('quadrants', 2) spells out the scoring.)",
          "Complexity starts at 1 and adds a point for 3+ steps, 6+ steps, steps not known in advance, and research. "
          "(Hint 3: the precision axis.)",
          "Precision is 1, 3 or 5 for a low, medium or high cost of error, one less when a person reviews the "
          "result.")),
    Task("decomposition", "Split the essay task into checkable steps", _check_decomposition,
         "a list of (description, kind) pairs, kind 'llm', 'code' or 'api'",
         ("Start from how you would write an essay yourself: plan, research, write, check, improve. "
          "(lab.hint('decomposition', 2): how research splits.)",
          "Research is more than one step: something has to decide what to look for, something has to look, and "
          "something has to get the pages. Ask of each: an LLM call, a bit of code or an API? (Hint 3: improving.)",
          "Improving a draft is two steps too: one finds what is wrong, another fixes it.")),
    CodeTask("run_plan", "Run a decomposition: outline, search terms, search, draft", _check_run_plan,
             "a function write_essay(client, topic, search) -> the draft's text",
             ("Each step is one line: call llm(...) or search(...) with a prompt that includes what the step before "
              "produced. (lab.hint('run_plan', 2) for the middle steps.)",
              "The search-terms reply is text with one term per line: str.splitlines() and a list comprehension give "
              "you the terms; skip empty lines. (Hint 3: the draft's prompt.)",
              "The draft's prompt needs the topic, the outline and the search results joined into one text.")),
], solutions={
    "quadrants": """
        my_placements = {
            "meeting-notes action items": ("low", "low"),
            "market research briefs": ("high", "high"),
            "medication dose checks": ("low", "high"),
            "competitor news digest": ("high", "low"),
        }
    """,
    "run_plan": """
        def write_essay(client, topic, search):
            outline = llm(client, f"Write a short outline for an essay on {topic}.")
            terms = llm(client, f"Write three web search terms, one per line, for this outline:\\n{outline}")
            sources = [search(term.strip()) for term in terms.splitlines() if term.strip()]
            draft = llm(client, f"Write the essay on {topic}.\\nOutline:\\n{outline}\\nSources:\\n"
                                + "\\n".join(sources))
            return draft
    """,
    "decomposition": """
        my_plan = [
            ("outline the essay", "llm"),
            ("generate search terms", "llm"),
            ("call the search API", "api"),
            ("fetch the pages", "code"),
            ("write a first draft from the sources", "llm"),
            ("critique the draft and list its gaps", "llm"),
            ("revise the draft using the critique", "llm"),
        ]
    """,
}, answers={"quadrants": "my_placements", "decomposition": "my_plan", "run_plan": "write_essay"})
