"""Tests for agentkit.sim.scenarios and agentkit.sim.policy: what the simulated model says, driven through the SDK."""

from __future__ import annotations

import textwrap

import anthropic
import pytest

import agentkit
from agentkit.sim import Match, Scenario, ScenarioError, Simulator, ToolCall, Turn, simulator_of
from agentkit.sim.policy import SIMULATED_NOTE
from agentkit.tokens import count_tokens
from sim_helpers import MODEL, TIME_TOOL, WEATHER_TOOL, RecordingSimulator, sim_client, user

CLOCK = {
    "name": "current_time",
    "match": "what time is it",
    "turns": [
        {"text": "Let me check the clock.", "tool_calls": [{"name": "get_time", "input": {"tz": "Europe/Paris"}}]},
        {"text": "It is {last_tool_result} in Paris (you asked: {user}).",
         "if_error": {"text": "The clock failed: {last_tool_result}"}},
    ],
}


pytestmark = pytest.mark.usefixtures("no_latency")


def run_loop(c, question: str, tool_output, tools=(TIME_TOOL,), is_error: bool = False):
    messages = user(question)
    replies = []
    while len(replies) < 6:
        reply = c.messages.create(model=MODEL, max_tokens=300, tools=list(tools), messages=messages)
        replies.append(reply)
        if reply.stop_reason != "tool_use":
            break
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": b.id, "is_error": is_error,
                                                   "content": tool_output(**b.input)}
                                                  for b in reply.content if b.type == "tool_use"]}]
    return replies


def test_scripted_turns_with_tool_calls_and_placeholders():
    c = sim_client(scenarios=[CLOCK])
    replies = run_loop(c, "What time is it in Paris?", lambda tz: f"14:05 ({tz})")
    assert replies[0].content[0].text == "Let me check the clock."
    assert replies[0].content[1].input == {"tz": "Europe/Paris"} and replies[0].stop_reason == "tool_use"
    assert replies[1].content[0].text == "It is 14:05 (Europe/Paris) in Paris (you asked: What time is it in Paris?)."
    assert replies[1].stop_reason == "end_turn"
    assert replies[1].usage.output_tokens == count_tokens(replies[1].content[0].text, MODEL)


def test_if_error_turn_answers_a_failed_tool():
    c = sim_client(scenarios=[CLOCK])
    replies = run_loop(c, "what time is it?", lambda tz: "clock service unavailable", is_error=True)
    assert replies[-1].content[0].text == "The clock failed: clock service unavailable"


def test_after_turn_once_the_script_runs_out():
    c = sim_client(scenarios=[{"name": "short", "match": "hello", "turns": ["Hi!"],
                               "after": {"text": "Still here."}}, {"name": "default_after", "match": "bonjour",
                                                                   "turns": ["Salut !"]}])
    convo = [*user("hello"), {"role": "assistant", "content": "Hi!"}, *user("again")]
    assert c.messages.create(model=MODEL, max_tokens=50, messages=convo).content[0].text == "Still here."
    convo = [*user("bonjour"), {"role": "assistant", "content": "Salut !"}, *user("encore")]
    text = c.messages.create(model=MODEL, max_tokens=50, messages=convo).content[0].text
    assert text.startswith(SIMULATED_NOTE)


def test_match_on_system_and_tool_and_first_registered_wins():
    sim = RecordingSimulator()
    sim.register(
        {"name": "pirate", "match": {"system": "pirate"}, "turns": ["Arr."]},
        {"name": "weather_tool", "match": {"tool": "get_weather"}, "turns": ["I see a weather tool."]},
        {"name": "both", "match": {"user": "hello", "tool": "get_weather"}, "turns": ["Never reached."]},
    )
    c = sim_client(simulator=sim)
    assert c.messages.create(model=MODEL, max_tokens=50, system="You are a PIRATE.",
                             messages=user("hello")).content[0].text == "Arr."
    assert c.messages.create(model=MODEL, max_tokens=50, tools=[WEATHER_TOOL],
                             messages=user("hello")).content[0].text == "I see a weather tool."
    # nothing matches: the default policy answers, and says it is simulated
    fallback = c.messages.create(model=MODEL, max_tokens=80, messages=user("hello"))
    assert fallback.content[0].text.startswith(SIMULATED_NOTE)


def test_last_tool_result_reads_block_lists_and_joins_parallel_results():
    c = sim_client(scenarios=[{"name": "two", "match": "both", "turns": [
        {"text": "", "tool_calls": [{"name": "get_weather", "input": {"city": "Oslo"}},
                                    {"name": "get_time", "input": {"tz": "Europe/Oslo"}}]},
        {"text": "Results: {last_tool_result}"}]}])
    first = c.messages.create(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL, TIME_TOOL], messages=user("both"))
    ids = [b.id for b in first.content if b.type == "tool_use"]
    second = c.messages.create(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL, TIME_TOOL], messages=[
        *user("both"), {"role": "assistant", "content": first.content},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": ids[0], "content": [{"type": "text", "text": "5 C"}]},
            {"type": "tool_result", "tool_use_id": ids[1], "content": "09:00"}]}])
    assert second.content[0].text == "Results: 5 C; 09:00"


def test_only_offered_tools_are_called():
    c = sim_client(scenarios=[CLOCK])
    m = c.messages.create(model=MODEL, max_tokens=100, tools=[WEATHER_TOOL], messages=user("What time is it?"))
    assert [b.type for b in m.content] == ["text"] and m.stop_reason == "end_turn"


def test_refusal_and_extra_output_tokens():
    c = sim_client(scenarios=[
        {"name": "no", "match": "forbidden", "turns": [{"text": "I can't help with that.", "stop_reason": "refusal"}]},
        {"name": "thinker", "match": "hard puzzle", "turns": [{"text": "42.", "extra_output_tokens": 900}]},
    ])
    refused = c.messages.create(model=MODEL, max_tokens=100, messages=user("Something forbidden"))
    assert refused.stop_reason == "refusal"
    thought = c.messages.create(model=MODEL, max_tokens=2000, messages=user("A hard puzzle"))
    assert thought.content[0].text == "42." and thought.usage.output_tokens == count_tokens("42.", MODEL) + 900


def test_unknown_stop_reason_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="stop_reason"):
        Scenario.from_dict({"name": "typo", "match": "x", "turns": [{"text": "t", "stop_reason": "refused"}]})


def test_scenarios_are_data_objects_too():
    s = Scenario(name="obj", match=Match(user="ping"), turns=(Turn(text="pong"),))
    c = sim_client(scenarios=[s])
    assert c.messages.create(model=MODEL, max_tokens=20, messages=user("ping")).content[0].text == "pong"
    call = Turn(text="", tool_calls=(ToolCall("get_weather", {"city": "Rome"}),))
    c2 = sim_client(scenarios=[Scenario(name="call", match=Match(user="rome"), turns=(call,))])
    m = c2.messages.create(model=MODEL, max_tokens=100, tools=[WEATHER_TOOL], messages=user("Rome?"))
    assert [(b.type, b.input) for b in m.content] == [("tool_use", {"city": "Rome"})]


# -- YAML loading and its errors --------------------------------------------------------------------------------------
def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_yaml_one_or_many(tmp_path):
    one = write(tmp_path, "one.yaml", """
        name: greet
        match: "^hi"
        turns:
          - text: "Hello from YAML."
        """)
    many = write(tmp_path, "many.yaml", """
        - name: a
          match: {user: alpha}
          turns: ["A"]
        - name: b
          match: {user: beta}
          turns: ["B"]
        """)
    assert [s.name for s in Scenario.load(one)] == ["greet"]
    assert [s.name for s in Scenario.load(many)] == ["a", "b"]
    c = sim_client(scenarios=[one, str(many)])
    assert c.messages.create(model=MODEL, max_tokens=20, messages=user("hi")).content[0].text == "Hello from YAML."
    assert c.messages.create(model=MODEL, max_tokens=20, messages=user("beta")).content[0].text == "B"
    sim = Simulator()
    sim.register(str(many))
    assert [s.name for s in sim.scenarios] == ["a", "b"]


@pytest.mark.parametrize("text, phrases", [
    ("name: x\nmatch: [unclosed\n", ["not valid YAML"]),
    ("name: x\nmatch: hi\n", ["'turns'", "non-empty list"]),
    ("name: x\nmatch: hi\nturns: []\n", ["'turns'"]),
    ("name: x\nmatch: '(unclosed'\nturns: [hi]\n", ["(unclosed", "not a valid regex"]),
    ("name: x\nmatch: {system: '[a-'}\nturns: [hi]\n", ["[a-", "regex"]),
    ("name: x\nmatch: {usr: hi}\nturns: [hi]\n", ["'match'", "usr"]),
    ("match: hi\nturns: [hi]\n", ["'name'"]),
    ("name: x\nturns: [hi]\n", ["'match'"]),
    ("name: x\nmatch: hi\nturns: [{txt: hi}]\n", ["turn 0", "txt"]),
    ("name: x\nmatch: hi\nturns: [{text: ''}]\n", ["turn 0", "text, tool_calls"]),
    ("name: x\nmatch: hi\nturns: [ok, {tool_calls: [{input: {}}]}]\n", ["turn 1", "tool_calls[0]", "'name'"]),
    ("name: x\nmatch: hi\nturns: [{tool_calls: [{name: f, input: [1]}]}]\n", ["tool_calls[0]", "'input'"]),
    ("name: x\nmatch: hi\nturns: [{text: t, extra_output_tokens: -5}]\n", ["extra_output_tokens"]),
    ("name: x\nmatch: hi\nturns: [{text: t, if_error: {}}]\n", ["if_error"]),
    ("- just a string\n", ["must be a mapping"]),
])
def test_scenario_errors_name_the_file_and_the_field(tmp_path, text, phrases):
    path = write(tmp_path, "lesson_bad.yaml", text)
    with pytest.raises(ScenarioError) as err:
        Scenario.load(path)
    message = str(err.value)
    assert str(path) in message
    for p in phrases:
        assert p in message, message


def test_scenario_errors_reach_the_learner_from_client_and_register(tmp_path):
    path = write(tmp_path, "broken.yaml", "name: x\nmatch: hi\n")
    with pytest.raises(ScenarioError, match="broken.yaml"):
        agentkit.client(quiet=True, scenarios=[path])
    with pytest.raises(ScenarioError, match="<dict>"):
        Simulator().register({"name": "x", "match": "hi"})


# -- the default policy -------------------------------------------------------------------------------------------------
def test_default_policy_picks_the_tool_the_request_is_about():
    c = sim_client()
    for question, expected in [("What is the weather in Rome?", "get_weather"),
                               ("What is the local time in Tokyo?", "get_time")]:
        m = c.messages.create(model=MODEL, max_tokens=200, tools=[WEATHER_TOOL, TIME_TOOL], messages=user(question))
        assert [b.name for b in m.content if b.type == "tool_use"] == [expected]


def test_default_policy_sums_up_tool_results_and_stops():
    c = sim_client()
    replies = run_loop(c, "What is the weather in Rome?", lambda city: f"RESULT-{len(city)}", tools=[WEATHER_TOOL])
    assert [r.stop_reason for r in replies] == ["tool_use", "end_turn"]
    city = replies[0].content[-1].input["city"]
    assert f"RESULT-{len(city)}" in replies[-1].content[0].text


def test_default_policy_without_tools_says_it_is_simulated_and_echoes_the_question():
    m = sim_client().messages.create(model=MODEL, max_tokens=200, messages=user("Why is the sky blue?"))
    assert SIMULATED_NOTE in m.content[0].text and "Why is the sky blue?" in m.content[0].text
    assert "ANTHROPIC_API_KEY" in m.content[0].text


def test_replies_do_not_depend_on_the_seed():
    a = sim_client(seed=1).messages.create(model=MODEL, max_tokens=200, messages=user("Hello"))
    b = sim_client(seed=2).messages.create(model=MODEL, max_tokens=200, messages=user("Hello"))
    assert a.content == b.content and a.id != b.id


def test_a_scenario_reply_is_a_valid_sdk_message_in_a_stream():
    c = sim_client(scenarios=[CLOCK])
    events = list(c.messages.create(model=MODEL, max_tokens=300, tools=[TIME_TOOL], messages=user("What time is it?"),
                                    stream=True))
    assert [e.type for e in events if e.type == "content_block_start"] == ["content_block_start"] * 2
    assert events[-2].delta.stop_reason == "tool_use"
    with pytest.raises(anthropic.BadRequestError):  # a scenario never hides a bad request
        c.messages.create(model=MODEL, max_tokens=300, messages=[{"role": "assistant", "content": "x"}])


def test_default_policy_fills_a_name_like_argument_from_the_request():
    c = sim_client()
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[WEATHER_TOOL],
                          messages=user("What is the weather in Lisbon right now?"))
    [call] = [b for b in m.content if b.type == "tool_use"]
    assert call.input == {"city": "Lisbon"}


def test_default_policy_searches_when_only_a_server_search_tool_is_offered():
    c = sim_client()
    search = {"type": "web_search_20250305", "name": "web_search"}
    m = c.messages.create(model=MODEL, max_tokens=300, tools=[search],
                          messages=user("Please web search the news about agents in production"))
    assert [b.type for b in m.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert m.stop_reason == "end_turn" and m.usage.server_tool_use.web_search_requests == 1
