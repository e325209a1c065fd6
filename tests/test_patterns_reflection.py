"""agentkit.patterns.reflection and .measure: the loop, its checks, its cap, and what it costs."""

from __future__ import annotations

import pytest

import agentkit
from agentkit.sim import simulator_of
from agentkit.patterns import examples as ex
from agentkit.patterns.measure import Cost, Meter
from agentkit.patterns.reflection import (
    Feedback, citation_check, code_check, compare_on, email_rubric, extract_json, reflect, schema_check,
)


@pytest.fixture(scope="module")
def setup():
    meter = Meter()
    client = agentkit.client(scenarios=["patterns_reflection"], middleware=[meter], quiet=True)
    return client, meter


@pytest.fixture(scope="module")
def outcomes(setup):
    client, meter = setup
    return {o.name: o for o in compare_on(client, ex.reflection_eval_set(client, meter), meter=meter)}


def test_cost_adds_sequentially_and_waits_for_the_slowest_in_parallel():
    a, b = Cost(10, 5, 0.01, 2.0, 1), Cost(20, 5, 0.02, 3.0, 1)
    assert (a + b).seconds == 5.0 and (a + b).tokens == 40
    both = Cost.parallel([a, b])
    assert both.seconds == 3.0 and both.tokens == 40 and both.calls == 2
    assert Cost.parallel([]) == Cost()


def test_meter_refuses_a_message_it_never_saw():
    client = agentkit.client(scenarios=["patterns_reflection"], quiet=True)  # no meter attached
    message = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=50,
                                     messages=[{"role": "user", "content": "hello"}])
    with pytest.raises(ValueError, match="middleware=\\[meter\\]"):
        Meter().cost(message)


def test_meter_reads_simulated_seconds_and_prices_the_call(setup):
    client, meter = setup
    message = client.messages.create(model=agentkit.DEFAULT_MODEL, max_tokens=50,
                                     messages=[{"role": "user", "content": "hello there"}])
    cost = meter.cost(message)
    assert cost.calls == 1 and cost.seconds > 0 and cost.usd > 0
    assert cost.input_tokens == message.usage.input_tokens


def test_source_email_fails_the_rubric_on_the_three_points_and_the_revision_passes():
    v1 = email_rubric("Hey, let's meet next month to discuss the project. Thanks")
    assert not v1.ok
    assert any("vague" in p for p in v1.problems) and any("sign-off" in p for p in v1.problems)
    assert any("abrupt" in p for p in v1.problems)
    v2 = "Hi Alex,\n\nLet's meet between January 5 and 7. Let me know what works for you.\n\nBest,\nMarina"
    assert email_rubric(v2).ok


def test_schema_check_names_each_bad_field():
    check = schema_check(ex.Meeting)
    fb = check('{"title": "x", "date": "12 March 2026", "attendees": "Priya", "duration_minutes": "45"}')
    assert not fb.ok
    fields = {p.split(":")[0] for p in fb.problems}
    assert fields == {"date", "attendees", "duration_minutes"}
    assert check('```json\n{"title": "x", "date": "2026-03-12", "attendees": ["P"], "duration_minutes": 45}\n```').ok
    assert "not valid JSON" in check("no json here {").problems[0]


def test_code_check_runs_the_tests_in_the_sandbox():
    check = code_check(ex.CODE_TESTS)
    bad = check("```python\ndef parse_duration(text):\n    h, m = text.split('h')\n    return int(h) * 60 + int(m[:-1])\n```")
    assert not bad.ok and len(bad.problems) == 2 and "minutes_only" in bad.problems[0]
    assert "did not run" in check("def parse_duration(:\n  pass").problems[0]
    good = "import re\ndef parse_duration(t):\n    h, m = re.fullmatch(r'(?:(\\d+)h)?(?:(\\d+)m)?', t).groups()\n" \
           "    return int(h or 0) * 60 + int(m or 0)\n"
    assert check(good).ok


def test_citation_check_flags_uncited_figures_and_unknown_sources():
    check = citation_check(ex.CITATION_SOURCES)
    fb = check("Conversion fell to 13.4% [1]. Signups fell 31%. Benchmarks say 15-25% [3].")
    assert len(fb.problems) == 2
    assert "sentence 2" in fb.problems[1] or "sentence 2" in fb.problems[0]
    assert check("Conversion fell to 13.4% [1]. The card became mandatory [2].").ok


def test_extract_json_prefers_a_fence():
    assert extract_json('text ```json\n{"a": 1}\n``` more') == '{"a": 1}'
    with pytest.raises(ValueError):
        extract_json("nothing")


def test_reflect_revises_until_the_check_passes(setup):
    client, meter = setup
    run = reflect(client, ex.CODE_TASK, code_check(ex.CODE_TESTS), meter=meter)
    assert run.stop == "accepted" and run.revisions == 1
    assert not run.attempts[0].feedback.ok and run.attempts[-1].feedback.ok
    assert run.cost.calls == 2 and run.cost.seconds > run.first_cost.seconds
    # the revision request carried the test failures back to the model
    assert "minutes_only" in str(run.attempts[0].feedback)


def test_no_reflection_is_one_checked_draft(setup):
    client, meter = setup
    run = reflect(client, ex.CODE_TASK, code_check(ex.CODE_TESTS), meter=meter, max_revisions=0)
    assert run.stop == "max_revisions" and run.revisions == 0
    with pytest.raises(ValueError):
        reflect(client, ex.CODE_TASK, code_check(ex.CODE_TESTS), meter=meter, max_revisions=-1)


def test_a_bad_check_is_refused(setup):
    client, meter = setup
    with pytest.raises(TypeError):
        reflect(client, ex.CODE_TASK, "not a check", meter=meter)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Feedback"):
        reflect(client, ex.CODE_TASK, lambda draft: True, meter=meter)  # type: ignore[arg-type,return-value]


def test_eval_set_quality_gained_and_what_it_cost(outcomes):
    # The lesson's figures: no item passes as a first draft; four of six pass after reflection.
    assert sum(o.passed_without for o in outcomes.values()) == 0
    assert sum(o.passed_with for o in outcomes.values()) == 4
    without = Cost.sequential(o.cost_without for o in outcomes.values())
    with_ = Cost.sequential(o.cost_with for o in outcomes.values())
    assert 3 < with_.tokens / without.tokens < 6
    assert with_.seconds > 2 * without.seconds


def test_reflection_does_not_help_where_the_critic_is_blind_or_the_fix_is_impossible(outcomes):
    blind = outcomes["average_rating (critic)"]
    assert blind.revisions == 0 and not blind.passed_with and blind.cost_with.tokens > blind.cost_without.tokens
    capped = outcomes["benchmark (citations)"]
    assert capped.stop == "max_revisions" and capped.revisions == 2 and not capped.passed_with


def test_the_critic_reads_its_verdict_through_structured_outputs(setup):
    client, meter = setup
    from agentkit.patterns.reflection import critic

    check = critic(client, meter=meter, system=ex.CRITIC_SYSTEM)
    fb = check("Hey, let's meet next month to discuss the project. Thanks")
    assert isinstance(fb, Feedback) and not fb.ok and len(fb.problems) == 3 and fb.cost.calls == 1
    sent = simulator_of(client).requests[-1]
    assert sent["output_config"]["format"]["type"] == "json_schema"


def test_a_critic_that_gives_no_verdict_fails_the_check():
    """A refusal, or a reply cut at max_tokens, parses to no verdict: the draft must not pass silently."""
    from types import SimpleNamespace

    from agentkit.patterns.reflection import critic

    class FixedMeter(Meter):
        def cost(self, message):
            return Cost(5, 3, 0.0, 0.1, 1)

    refusal = SimpleNamespace(parsed_output=None, stop_reason="refusal")
    client = SimpleNamespace(messages=SimpleNamespace(parse=lambda **kwargs: refusal))
    fb = critic(client, meter=FixedMeter(), system="You are a reviewer.")("any draft at all")
    assert not fb.ok and "no verdict" in fb.problems[0] and "refusal" in fb.problems[0]


def test_meter_times_the_call_itself_when_there_is_no_simulated_duration():
    class FakeResponse:
        headers = {"request-id": "req_live"}

    class FakeMessage:
        _request_id = "req_live"

    meter = Meter()
    returned = meter.handle(object(), lambda request: FakeResponse())
    assert isinstance(returned, FakeResponse)
    assert 0 <= meter.seconds(FakeMessage()) < 1.0  # measured on the wall clock, as against the real API
