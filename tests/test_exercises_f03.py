"""Foundations 03's run_plan exercise (the learner's code runs a decomposition): the reference passes, the stub is
"not attempted", and plausible wrong attempts fail with the message meant for them. The value exercises
(quadrants, decomposition) are tested in tests/test_shaping.py."""

from __future__ import annotations

import pytest

from agentkit import DEFAULT_MODEL, exercises
from exercise_helpers import reference


def llm(client, prompt):
    reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=800, messages=[{"role": "user", "content": prompt}])
    return "".join(b.text for b in reply.content if b.type == "text")


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


@pytest.fixture
def lab():
    return exercises.load("f03")


def stub_write_essay(client, topic, search):
    outline = ...
    terms = ...
    sources = ...
    draft = ...
    return draft


def terms_without_outline(client, topic, search):
    outline = llm(client, f"Outline an essay on {topic}.")
    terms = llm(client, f"Search terms for an essay on {topic}, one per line.")
    sources = [search(t) for t in terms.splitlines() if t.strip()]
    return llm(client, f"Essay on {topic}.\n{outline}\n" + "\n".join(sources))


def draft_without_sources(client, topic, search):
    outline = llm(client, f"Outline an essay on {topic}.")
    terms = llm(client, f"Search terms for this outline, one per line:\n{outline}")
    for t in terms.splitlines():
        if t.strip():
            search(t)
    return llm(client, f"Essay on {topic}.\n{outline}")


def one_search_only(client, topic, search):
    outline = llm(client, f"Outline an essay on {topic}.")
    terms = llm(client, f"Search terms for this outline, one per line:\n{outline}")
    sources = search(terms)
    return llm(client, f"Essay on {topic}.\n{outline}\n{sources}")


def test_run_plan_three_ways(lab):
    result = lab.check("run_plan", reference("f03", "run_plan", llm=llm))
    assert result.passed, result.message
    assert lab.check("run_plan", stub_write_essay).status == "not_attempted"
    result = lab.check("run_plan", terms_without_outline)
    assert result.status == "wrong" and "did not get the outline" in result.message
    result = lab.check("run_plan", draft_without_sources)
    assert result.status == "wrong" and "every search result" in result.message
    result = lab.check("run_plan", one_search_only)
    assert result.status == "wrong" and "once for each line" in result.message
    result = lab.check("run_plan", lambda client, topic, search: llm(client, f"An essay on {topic}"))
    assert result.status == "wrong" and "three LLM steps" in result.message


def test_hints_stop_short_of_the_solution(lab):
    for task in ("quadrants", "decomposition", "run_plan"):
        hints = [lab.hint(task, n).body for n in (1, 2, 3)]
        assert all(h and h not in lab.solutions[task] for h in hints)
    for task, solution in (("quadrants", "market research briefs"), ("decomposition", "fetch the pages")):
        assert not any(solution in lab.hint(task, n).body for n in (1, 2, 3))
