"""Tests for Lab 1 (agentkit/labs/l1_trace_schema.py): every check runs the agent and judges real spans."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from agentkit.course.lab import Lab
from agentkit.labs import l1_trace_schema as l1

# -- reference answers, written here independently of the lab module ---------------------------------


def span_name(kind, step, tool=None):
    return {"step": f"agent.step.{step}", "model": "llm.call"}.get(kind, f"tool.{tool}")


def parse_span_name(name):
    if name.startswith("agent.step."):
        return ("step", None)
    if name == "llm.call":
        return ("model", None)
    return ("tool", name.split(".", 1)[1])


def finish_kind(attributes):
    reason = attributes.get("anthropic.message.stop_reason")
    return {"tool_use": "tool_call", "end_turn": "natural_stop", "stop_sequence": "natural_stop"}.get(reason, "other")


def code_span(result):
    if result.completed:
        return StatusCode.OK, {"agentkit.code.partial_output": False}
    return StatusCode.ERROR, {"error.type": result.error_type, "agentkit.code.partial_output": result.partial}


# What the analysis reads, plus what Lesson 1's table asks every span to record (max_tokens, the tool's arguments).
TOOL = {"gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.tool.call.arguments", "agentkit.step", "error.type"}
ESSENTIAL = {
    "model": {"gen_ai.operation.name", "gen_ai.request.model", "gen_ai.request.max_tokens", "agentkit.step", "error.type",
              "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
              "gen_ai.usage.cache_write.input_tokens", "gen_ai.response.time_to_first_chunk",
              "anthropic.message.stop_reason"},
    "web_search": TOOL,
    "retrieve": TOOL | {"db.system.name", "db.collection.name"},
    "run_code": TOOL,
}


@pytest.fixture
def lab(progress_db):
    return Lab.load("l1_trace_schema")


def test_reference_answers_pass(lab):
    for task_id, answer in [("naming", (span_name, parse_span_name)), ("essential", ESSENTIAL),
                            ("finish_kind", finish_kind), ("code_failures", code_span)]:
        result = lab.check(task_id, answer)
        assert result.passed, (task_id, result.message)
    assert "4 of 4" in repr(lab.status())


# -- task 1: naming ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parse", "says"),
    [
        (lambda k, s, t=None: f"step{s}.{k}.{t}", parse_span_name, "different names"),  # step in every name
        (lambda k, s, t=None: "agent.step" if k == "step" else span_name(k, s, t), parse_span_name,
         "all got the name 'agent.step'"),
        (lambda k, s, t=None: "tool" if k == "tool" else span_name(k, s, t), parse_span_name, "names both"),
        (lambda k, s, t=None: span_name(k, s, t) + "." + "x" * 70, parse_span_name, "characters"),
        (span_name, lambda n: ("tool", n), "parse_span_name('agent.step.1') gave ('tool', 'agent.step.1')"),
        (span_name, lambda n: n.nope, "parse_span_name('agent.step.1') raised AttributeError"),
        (lambda k, s, t=None: None, parse_span_name, "must return a non-empty string"),
        (lambda k, s, t=None: 1 / 0, parse_span_name, "ZeroDivisionError"),
    ],
)
def test_naming_problems_are_found_on_the_real_run(lab, name, parse, says):
    result = lab.check("naming", (name, parse))
    assert result.status == "wrong", result.message
    assert says in result.message


def test_naming_needs_both_functions(lab):
    assert lab.check("naming", span_name).status == "invalid"
    assert lab.check("naming", (span_name, "parse")).status == "invalid"


def test_the_naming_run_has_8_steps_3_tools_and_parallel_calls():
    hooks = l1._NamingHooks(span_name)
    run = l1.run_agent(hooks={e: getattr(hooks, e) for e in ("model_start", "model_end", "tool_start", "tool_end",
                                                             "step_end")})
    names = [s.name for s in run.trace.spans if "agentkit.lab.kind" in s.attributes]
    assert sorted(n for n in names if n.startswith("agent.step.")) == sorted(f"agent.step.{i}" for i in range(1, 9))
    assert {n for n in names if n.startswith("tool.")} == {"tool.web_search", "tool.retrieve", "tool.run_code"}
    # Tool spans sit under their step's span, also for the two calls of step 3 that run at once.
    by_id = {s.context.span_id: s for s in run.trace.spans}
    step3 = [s for s in run.trace.spans if s.attributes.get("agentkit.lab.kind") == "tool"
             and s.attributes["agentkit.lab.step"] == 3]
    assert len(step3) == 2 and {by_id[s.parent.span_id].name for s in step3} == {"agent.step.3"}


# -- task 2: essential attributes --------------------------------------------------------------------------


def test_the_need_is_computed_by_running_the_analysis(monkeypatch):
    need = l1.needed_attributes()
    assert {g: set(a) for g, a in need.items()} == ESSENTIAL
    assert "time to first token" in need["model"]["gen_ai.response.time_to_first_chunk"]
    assert need["model"]["gen_ai.request.max_tokens"] == (l1.LESSON_TABLE,)  # the lab agrees with the lesson
    assert need["web_search"]["gen_ai.tool.call.arguments"] == (l1.LESSON_TABLE,)
    # Drop an analysis and its attributes stop being essential: the need is read, not typed.
    analysis = {k: v for k, v in l1.ANALYSIS.items() if k not in ("time to first token", "retrieval time per collection")}
    monkeypatch.setattr(l1, "ANALYSIS", analysis)
    l1.needed_attributes.cache_clear()
    try:
        smaller = l1.needed_attributes()
        assert "gen_ai.response.time_to_first_chunk" not in smaller["model"]
        assert "db.collection.name" not in smaller["retrieve"]
        assert "gen_ai.usage.output_tokens" in smaller["model"]
    finally:
        l1.needed_attributes.cache_clear()


def test_essential_mistakes_are_named(lab):
    missing = {**ESSENTIAL, "retrieve": TOOL}
    result = lab.check("essential", missing)
    assert result.status == "wrong"
    assert "retrieve: db.collection.name is read by retrieval time per collection" in result.message
    extra = {**ESSENTIAL, "web_search": TOOL | {"gen_ai.tool.call.id"}}
    assert "nice to have" in lab.check("essential", extra).message
    no_limit = {**ESSENTIAL, "model": ESSENTIAL["model"] - {"gen_ai.request.max_tokens"}}
    assert "gen_ai.request.max_tokens is in Lesson 1's table" in lab.check("essential", no_limit).message
    unknown = {**ESSENTIAL, "model": {"gen_ai.usage.input_token"}}
    assert lab.check("essential", unknown).status == "invalid"
    assert lab.check("essential", {**ESSENTIAL, "model": "gen_ai.request.model"}).status == "invalid"
    assert lab.check("essential", {"model": ESSENTIAL["model"]}).status == "invalid"  # groups missing


# -- task 3: finish kind --------------------------------------------------------------------------------------


def test_finish_kind_mistakes_are_found_on_real_spans(lab):
    cut_off_is_natural = lab.check("finish_kind", lambda a: "tool_call" if a.get("anthropic.message.stop_reason")
                                   == "tool_use" else "natural_stop")
    assert cut_off_is_natural.status == "wrong" and "'max_tokens'" in cut_off_is_natural.message
    by_tokens = lab.check("finish_kind", lambda a: "tool_call" if a["gen_ai.usage.output_tokens"] < 60 else "natural_stop")
    assert by_tokens.status == "wrong"
    absent = lab.check("finish_kind", lambda a: a["gen_ai.response.finish_reasons"][0])
    assert absent.status == "wrong" and "KeyError" in absent.message and "anthropic.message.stop_reason" in absent.message
    assert "return one of" in lab.check("finish_kind", lambda a: "stop").message


class _EqualsEverything(str):
    """A str subclass claiming to equal anything: the cheat from issue 20."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


def test_finish_kind_refuses_a_function_returning_an_always_equal_object(lab):
    class Anything:
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

    assert not lab.check("finish_kind", lambda a: Anything()).passed
    assert not lab.check("finish_kind", lambda a: _EqualsEverything("other")).passed


# -- task 4: code failures ------------------------------------------------------------------------------------


def test_the_seeded_sandbox_fails_in_every_way_the_task_covers():
    run = l1.run_agent(crash_rate=l1.CRASH_RATE, seed=l1.CRASH_SEED)
    results = run.kit.executor.results
    assert any(r.completed for r in results)
    assert any(r.partial for r in results)  # stopped after printing something
    assert any(not r.completed and not r.partial for r in results)  # stopped with nothing to show
    assert any(r.error_type == "SandboxKilled" for r in results)  # a seeded random kill


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda r: (StatusCode.UNSET, {"agentkit.code.partial_output": r.partial}), "span status is UNSET"),
        (lambda r: (code_span(r)[0], {**code_span(r)[1], "agentkit.code.partial_output": not r.completed}),
         "partial_output"),
        (lambda r: (code_span(r)[0], {"agentkit.code.partial_output": r.partial}), "error.type is None"),
        (lambda r: (code_span(r)[0], {**code_span(r)[1], "error.type": "ToolError"}), "error.type is 'ToolError'"),
        (lambda r: (code_span(r)[0], {**code_span(r)[1], "agentkit.code.partial_output": int(r.partial)}),
         "a bool on every run"),
        (lambda r: r.nope, "code_span raised AttributeError"),
        (lambda r: {"status": "ERROR"}, "return (a StatusCode, a dict of attributes)"),
    ],
)
def test_code_failure_mistakes_are_found(lab, answer, says):
    result = lab.check("code_failures", answer)
    assert result.status == "wrong", result.message
    assert says in result.message


# -- stubs from the learner version are "not attempted" ------------------------------------------------------


def test_stub_functions_are_not_attempted(lab):
    def stub(*args):
        return ...

    assert lab.check("naming", (stub, stub)).status == "not_attempted"
    half = lab.check("naming", (span_name, stub))
    assert half.status == "not_attempted" and "answer[1]" in half.message
    assert lab.check("finish_kind", stub).status == "not_attempted"
    assert lab.check("code_failures", stub).status == "not_attempted"
    assert lab.check("code_failures", lambda r: (..., ...)).status == "not_attempted"
    # A function that returns None, or fails on the probe, is an attempt (and wrong).
    assert lab.check("code_failures", lambda r: None).status == "wrong"
    assert lab.check("finish_kind", lambda a: a.nope).status == "wrong"


def test_the_lab_belongs_to_the_l1_quiz_lesson_and_has_notes():
    import yaml

    from agentkit.course.lab import REPO_ROOT

    quiz = yaml.safe_load((REPO_ROOT / "quizzes" / "l1_trace_layer.yaml").read_text())
    assert l1.LAB.lesson == quiz["lesson"]
    assert "partial output" in l1.NOTES


def test_lab_text_comes_from_the_yaml_beside_the_module_and_a_bad_edit_is_named(tmp_path):
    from agentkit.course.lab import load_lab_text
    from agentkit.labs import l1_trace_schema as l1

    assert [len(t.hints) for t in l1.TASKS] == [3, 3, 3, 3] and l1.NOTES.startswith("# The Trace Layer")
    assert set(l1.MENU) == {"model", "web_search", "retrieve", "run_code"}
    assert l1.MENU["retrieve"]["db.collection.name"] == "which collection was queried"
    module = tmp_path / "lx.py"
    (tmp_path / "lx.yaml").write_text("hints:\n  a: [one]\nnotes: some notes\n")
    assert load_lab_text(str(module), ["a"])["hints"] == {"a": ("one",)}
    with pytest.raises(ValueError, match=r"lx.yaml: 'hints' must have exactly the task ids \['a', 'b'\]"):
        load_lab_text(str(module), ["a", "b"])
    (tmp_path / "lx.yaml").write_text("hints:\n  a: ['']\nnotes: some notes\n")
    with pytest.raises(ValueError, match="hints for 'a' must be a list of non-empty strings"):
        load_lab_text(str(module), ["a"])


def test_lab_text_templates_are_filled_from_the_labs_own_values(tmp_path):
    from agentkit.course.lab import load_lab_text
    from agentkit.labs import l3_latency_profiling as l3

    assert f"at least {l3.MIN_RUNS} times each" in l3.TASKS[2].hints[0]  # the figure is the code's, stated once
    module = tmp_path / "lx.py"
    (tmp_path / "lx.yaml").write_text("hints:\n  a: ['run {runs} times']\nnotes: '{runs} runs'\n")
    assert load_lab_text(str(module), ["a"], values={"runs": 7})["hints"]["a"] == ("run 7 times",)
    with pytest.raises(ValueError, match="lx.yaml: a template names 'runs'"):
        load_lab_text(str(module), ["a"], values={"n": 7})
