"""The exercises of lessons 05-08 where the learner builds: every checker tested three ways.

For each: the reference solution passes, the notebook's stub is "not attempted", and a plausible wrong attempt fails
with the message meant for it. The checks draw a fresh seed each time, so running them a few times also shows that
the reference passes on every perturbation, not just one.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import agentkit
from agentkit import exercises
from agentkit.evals import Verdict  # noqa: F401 - the solutions import it too
from agentkit.patterns.reflection import Critique, Feedback

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"f05": "05_memory_and_knowledge", "f06": "06_guardrails", "f07": "07_reflection", "f08": "08_planning"}


@pytest.fixture(autouse=True)
def _store(progress_db):
    return progress_db


def reference(lesson: str, task: str):
    from agentkit.cases.support import POLICY_DOCS
    from agentkit.memory import Knowledge

    lab = exercises.load(lesson)
    namespace: dict = {"knowledge": Knowledge(POLICY_DOCS)}  # what lesson 05 defines before its citation task
    exec(compile(textwrap.dedent(lab.solutions[task]), f"<{lesson}.{task}>", "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[lab.answers[task]]


# -- 05 -------------------------------------------------------------------------------------------------------


def test_f05_recall_three_ways():
    lab = exercises.load("f05")
    for _ in range(3):  # three seeds
        assert lab.check("recall", reference("f05", "recall")).passed

    def stub(client, store, email, max_lessons):
        reply = ...
        return reply

    assert lab.check("recall", stub).status == "not_attempted"

    def every_lesson(client, store, email, max_lessons):  # ignores the budget
        response = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=400,
                                          system="desk\n" + store.prompt("late_reply"),
                                          messages=[{"role": "user", "content": email}])
        return response.content[0].text

    result = lab.check("recall", every_lesson)
    assert result.status == "wrong" and "beyond the budget" in result.message

    def all_tasks(client, store, email, max_lessons):  # the budget, but lessons of every task
        lessons = store.lessons()[-max_lessons:] if max_lessons else []
        response = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=400,
                                          system="\n".join(l.text for l in lessons),
                                          messages=[{"role": "user", "content": email}])
        return response.content[0].text

    assert lab.check("recall", all_tasks).status == "wrong"


def test_f05_learn_three_ways():
    lab = exercises.load("f05")
    for _ in range(3):
        assert lab.check("learn", reference("f05", "learn")).passed

    def stub(client, store, output, feedback, source):
        lesson = ...
        return lesson

    assert lab.check("learn", stub).status == "not_attempted"

    def stores_everything(client, store, output, feedback, source):
        response = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=200,
                                          messages=[{"role": "user", "content": f"{output}\n{feedback}"}])
        return store.add("late_reply", response.content[0].text, source=source)

    result = lab.check("learn", stores_everything)
    assert result.status == "wrong" and "already holds that lesson" in result.message


# -- 06 -------------------------------------------------------------------------------------------------------


def test_f06_policy_check_three_ways():
    from agentkit.cases.support import REPLY_POLICY

    lab = exercises.load("f06")
    for _ in range(3):
        assert lab.check("policy_check", reference("f06", "policy_check")).passed

    def stub(client, output):
        problem = ...
        return problem

    assert lab.check("policy_check", stub).status == "not_attempted"
    verdict_type = reference("f06", "policy_check").__globals__["PolicyVerdict"]

    def fails_open(client, output):  # only "contradicts" fails: an unsure model lets the reply ship
        found = client.messages.parse(model=agentkit.FAST_MODEL, max_tokens=300, output_format=verdict_type,
                                      messages=[{"role": "user", "content": f"{REPLY_POLICY}\n{output}"}]).parsed_output
        return f"{found.verdict}: {found.evidence}" if found.verdict == "contradicts" else None

    result = lab.check("policy_check", fails_open)
    assert result.status == "wrong" and "fail closed" in result.message

    def no_policy(client, output):  # the model never sees the policy
        found = client.messages.parse(model=agentkit.FAST_MODEL, max_tokens=300, output_format=verdict_type,
                                      messages=[{"role": "user", "content": output}]).parsed_output
        return None if found.verdict == "follows" else found.evidence

    result = lab.check("policy_check", no_policy)
    assert result.status == "wrong" and "was not told the policy" in result.message


def test_f06_voucher_rule_has_hidden_spellings():
    lab = exercises.load("f06")
    result = lab.check("voucher_rule", lambda output: "voucher" if "voucher" in output else None)
    assert result.status == "wrong" and "other ways" in result.message


# -- 07 -------------------------------------------------------------------------------------------------------


def test_f07_critic_three_ways():
    lab = exercises.load("f07")
    for _ in range(3):
        assert lab.check("critic", reference("f07", "critic")).passed

    def stub(client, draft):
        feedback = ...
        return feedback

    assert lab.check("critic", stub).status == "not_attempted"

    def trusts_ok(client, draft):  # passes a verdict that says ok but lists a problem
        verdict = client.messages.parse(model=agentkit.FAST_MODEL, max_tokens=400, output_format=Critique,
                                        messages=[{"role": "user", "content": draft}]).parsed_output
        return Feedback(verdict.ok, tuple(verdict.problems), "critic")

    result = lab.check("critic", trusts_ok)
    assert result.status == "wrong" and "said ok but still listed a problem" in result.message

    def json_in_prose(client, draft):  # asks for JSON in words and parses the text
        text = client.messages.create(model=agentkit.FAST_MODEL, max_tokens=400, system="Reply in JSON: ok, problems.",
                                      messages=[{"role": "user", "content": draft}]).content[0].text
        data = json.loads(text)
        return Feedback(data["ok"], tuple(data["problems"]), "critic")

    result = lab.check("critic", json_in_prose)
    assert result.status == "wrong" and "no output_config.format" in result.message


# -- 08 -------------------------------------------------------------------------------------------------------


def _refs_anywhere(plan, tools, max_steps):
    """Checks a reference against every step id, not the earlier ones: forward references slip through."""
    ids, by_name, problems = [s.id for s in plan.steps], {t.name: t for t in tools}, []
    if len(plan.steps) > max_steps:
        problems.append("too many steps")
    if len(set(ids)) < len(ids):
        problems.append("an id is used twice")
    for step in plan.steps:
        for value in step.args.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith("$") and re.match(r"\$([\w-]+)", item).group(1) not in ids:
                    problems.append(f"{step.id}: bad reference")
        problems += [f"{step.id}: needs {n}" for n in by_name[step.tool].input_schema.get("required", [])
                     if n not in step.args]
    return problems


def test_f08_plan_problems_three_ways():
    lab = exercises.load("f08")
    for _ in range(3):
        assert lab.check("plan_problems", reference("f08", "plan_problems")).passed

    def stub(plan, tools, max_steps):
        problems = ...
        return problems

    assert lab.check("plan_problems", stub).status == "not_attempted"
    result = lab.check("plan_problems", _refs_anywhere)
    assert result.status == "wrong" and "refers to a step that runs after it" in result.message

    def numbered_ids_only(plan, tools, max_steps):  # assumes the ids are s1, s2, ...
        return [f"{s.id} is not numbered" for s in plan.steps if not re.fullmatch(r"s\d+", s.id)]

    assert lab.check("plan_problems", numbered_ids_only).status == "wrong"  # which case fails first depends on the seed


# -- the lessons never show an answer --------------------------------------------------------------------------


# Lines a solution shares with the lesson on purpose: context the lesson gives, not the answer.
SHARED = {
    "ROLE = \"You answer customer emails for Northwind Clothing's delivery desk. Sign off as 'Northwind Support'.\"",
    'messages = [{"role": "user", "content": task}]',  # how every conversation starts
    "by_name = {t.name: t for t in tools}",  # the plan-by-hand cell's tool lookup
    'verdict: Literal["follows", "contradicts", "unsure"]',  # PolicyVerdict, given in the lesson
}


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
def test_no_reference_solution_is_printed_in_its_lesson(lesson):
    """The lines a solution adds to the stub (its working code) appear nowhere in the committed lesson."""
    text = (ROOT / "notebooks" / f"{NOTEBOOKS[lesson]}.ipynb").read_text(encoding="utf-8")
    lab = exercises.load(lesson)
    for task, code in lab.solutions.items():
        lines = [line.strip() for line in textwrap.dedent(code).splitlines()]
        working = [line for line in lines if len(line) > 25 and not line.startswith(("def ", "class ", '"', "import ", "from "))
                   and not line.endswith(("= ...", "(", ",")) and line not in SHARED]
        shown = [line for line in working if json.dumps(line)[1:-1] in text]
        assert not shown, f"{lesson}.{task}: the lesson shows the solution's line(s) {shown}"


@pytest.mark.parametrize("lesson", sorted(NOTEBOOKS))
def test_each_lesson_has_at_least_two_checked_exercises_and_one_calls_the_model(lesson):
    cells = json.loads((ROOT / "notebooks" / f"{NOTEBOOKS[lesson]}.ipynb").read_text(encoding="utf-8"))["cells"]
    checks = [c for c in cells if c["cell_type"] == "code" and ".check(" in "".join(c["source"])]
    assert len(checks) >= 2
    lab = exercises.load(lesson)
    # a task whose stub takes a client, or (08) a plan validator, the lesson's mechanism
    assert any("client" in t.expects or "plan_problems" in t.expects for t in lab.tasks)


def test_the_older_exercises_call_their_stubs_not_attempted():
    """The notebook stubs of the exercises kept from before (their references and wrong attempts are tested in
    test_shaping.py and test_patterns_exercises.py)."""

    def no_vouchers(output):
        problem = ...
        return problem

    def tokens_per_fix(outcomes):
        per_fix = ...
        return per_fix

    def no_placeholders(draft):
        feedback = ...
        return feedback

    stubs = {("f05", "citation"): ..., ("f06", "voucher_rule"): no_vouchers, ("f07", "tokens_per_fix"): tokens_per_fix,
             ("f07", "placeholder_check"): no_placeholders, ("f08", "aviator_plan"): ...}
    for (lesson, task), stub in stubs.items():
        assert exercises.load(lesson).check(task, stub).status == "not_attempted", (lesson, task)
    for lesson, task in stubs:
        assert exercises.load(lesson).check(task, reference(lesson, task)).passed, (lesson, task)
