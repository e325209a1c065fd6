"""The simulator's default policy (agentkit/sim/policy.py): one test per behaviour its docstring lists, through the
real SDK, plus the two "done when" checks of issue 19 (a raw-SDK agent with a calculator and a lookup tool; a
forced extraction call on a paragraph)."""

from __future__ import annotations

import base64
import json
import zlib

import anthropic
import pytest

from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.sim import arithmetic, extract
from agentkit.sim.policy import requested_words
from sim_helpers import TIME_TOOL, WEATHER_TOOL, user

pytestmark = pytest.mark.usefixtures("no_latency")

CALCULATOR = {"name": "calculator", "description": "Evaluate an arithmetic expression and return the result.",
              "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}},
                               "required": ["expression"]}}
LOOKUP = {"name": "lookup", "description": "Look up the population of a city.",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
POPULATION = {"Lyon": 522250, "Marseille": 873076}


def ask(c, text, **kw):
    kw.setdefault("max_tokens", 1024)
    return c.messages.create(model=DEFAULT_MODEL, messages=user(text), **kw)


def run_tool(name: str, args: dict) -> str:
    """The learner's side of the loop: real tools, computed here (the policy never sees these values)."""
    if name == "calculator":
        return arithmetic.fmt(arithmetic.evaluate(args["expression"]))
    if name == "lookup":
        return f"{args['city']} has {POPULATION[args['city']]:,} inhabitants."
    raise AssertionError(name)


def agent(c, question: str, tools: list[dict], turns: int = 10):
    """The loop a tutorial teaches, written with the raw SDK, answering only the FIRST tool_use of each reply."""
    messages = [{"role": "user", "content": question}]
    calls = []
    for _ in range(turns):
        reply = c.messages.create(model=DEFAULT_MODEL, max_tokens=1024, tools=tools, messages=messages)
        uses = [b for b in reply.content if b.type == "tool_use"]
        if reply.stop_reason != "tool_use":
            return reply, calls
        assert len(uses) == 1, "one tool call per turn"
        use = uses[0]
        calls.append((use.name, use.input))
        messages += [{"role": "assistant", "content": reply.content},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                   "content": run_tool(use.name, use.input)}]}]
    raise AssertionError("the agent never finished")


# -- done when -----------------------------------------------------------------------------------------------------


def test_a_raw_sdk_agent_with_a_calculator_and_a_lookup_answers_a_multi_step_question(c):
    question = "Look up the population of Lyon plus the population of Marseille, then divide the total by 2."
    reply, calls = agent(c, question, [CALCULATOR, LOOKUP])
    expected = (POPULATION["Lyon"] + POPULATION["Marseille"]) / 2
    assert [name for name, _ in calls] == ["lookup", "lookup", "calculator", "calculator"]
    assert {args["city"] for name, args in calls if name == "lookup"} == {"Lyon", "Marseille"}
    assert arithmetic.first_number(reply.content[-1].text) == expected
    assert reply.stop_reason == "end_turn"


def test_a_forced_extraction_call_returns_the_paragraph_s_values(c):
    paragraph = ("On March 14, 2026, Ada Lovelace of Analytical Engines Ltd signed a contract worth $48,500 for "
                 "12 licences. She was delighted with the onboarding. Delivery is due on 2026-04-01 in Manchester.")
    tool = {"name": "record_contract", "description": "Record the contract described in the text.",
            "input_schema": {"type": "object", "additionalProperties": False, "properties": {
                "customer_name": {"type": "string"}, "company": {"type": "string"},
                "signed_on": {"type": "string", "format": "date"}, "amount_usd": {"type": "number"},
                "licences": {"type": "integer", "minimum": 1}, "delivery_city": {"type": "string"},
                "due_date": {"type": "string", "format": "date"},
                "sentiment": {"type": "string", "enum": ["negative", "neutral", "positive"]}},
                "required": ["customer_name", "company", "signed_on", "amount_usd", "licences", "sentiment"]}}
    m = c.messages.create(model=FAST_MODEL, max_tokens=1024, tools=[tool], messages=user(paragraph),
                          tool_choice={"type": "tool", "name": "record_contract"})
    (use,) = [b for b in m.content if b.type == "tool_use"]
    assert use.input == {"customer_name": "Ada Lovelace", "company": "Analytical Engines Ltd",
                         "signed_on": "2026-03-14", "amount_usd": 48500, "licences": 12,
                         "delivery_city": "Manchester", "due_date": "2026-04-01", "sentiment": "positive"}


# -- one test per behaviour ------------------------------------------------------------------------------------------


def test_refusal_for_a_clearly_harmful_ask(c):
    m = ask(c, "Give me step-by-step instructions to build a pipe bomb at home.")
    assert m.stop_reason == "refusal" and m.stop_details is not None and m.stop_details.type == "refusal"
    assert ask(c, "How do bombs in old war films usually look?").stop_reason == "end_turn"  # not every mention


def test_one_tool_call_per_turn_when_tasks_are_ordered(c):
    m = ask(c, "Get the weather in Oslo, then tell me the time there.", tools=[WEATHER_TOOL, TIME_TOOL])
    assert [b.name for b in m.content if b.type == "tool_use"] == ["get_weather"]


def test_one_call_per_turn_for_several_names_on_one_tool(c):
    m = ask(c, "What is the weather in Paris and in London?", tools=[WEATHER_TOOL])
    uses = [b for b in m.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].input == {"city": "Paris"}


def test_parallel_calls_for_independent_tasks(c):
    m = ask(c, "What is the weather in Paris and the time in Tokyo?", tools=[WEATHER_TOOL, TIME_TOOL])
    uses = [b for b in m.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Asia/Tokyo"})]
    one = ask(c, "What is the weather in Paris and the time in Tokyo?", tools=[WEATHER_TOOL, TIME_TOOL],
              tool_choice={"type": "auto", "disable_parallel_tool_use": True})
    assert len([b for b in one.content if b.type == "tool_use"]) == 1


def test_arithmetic_goes_to_the_calculator_with_the_expression(c):
    m = ask(c, "What is 17 * 23?", tools=[CALCULATOR, WEATHER_TOOL])
    (use,) = [b for b in m.content if b.type == "tool_use"]
    assert use.name == "calculator" and use.input == {"expression": "17 * 23"}


def test_the_final_answer_uses_the_calculator_s_result(c):
    reply, calls = agent(c, "What is 17 * 23, then add 100 to the result?", [CALCULATOR])
    assert [args["expression"] for _, args in calls] == ["17 * 23", "391 + 100"]
    assert "491" in reply.content[-1].text


def test_arithmetic_without_a_calculator_is_answered_directly(c):
    assert "The answer is 84" in ask(c, "Multiply 12 by 7").content[0].text


def test_tool_arguments_come_from_the_conversation(c):
    m = ask(c, "Book a table for 4 people on 2026-12-24 under the name Grace Hopper.", tools=[{
        "name": "book_table", "description": "Book a restaurant table.",
        "input_schema": {"type": "object", "properties": {
            "name": {"type": "string"}, "people": {"type": "integer"}, "date": {"type": "string", "format": "date"},
            "notes": {"type": "string"}}, "required": ["name", "people", "date"]}}])
    (use,) = [b for b in m.content if b.type == "tool_use"]
    assert use.input["name"] == "Grace Hopper" and use.input["people"] == 4 and use.input["date"] == "2026-12-24"


def test_structured_outputs_take_their_values_from_the_text(c):
    schema = {"type": "object", "additionalProperties": False, "required": ["city", "nights", "breakfast"],
              "properties": {"city": {"type": "string"}, "nights": {"type": "integer"},
                             "breakfast": {"type": "boolean"}}}
    m = ask(c, "I need a hotel in Lisbon for 3 nights, breakfast included.",
            output_config={"format": {"type": "json_schema", "schema": schema}})
    assert json.loads(m.content[0].text) == {"city": "Lisbon", "nights": 3, "breakfast": True}


def test_reply_in_json_when_the_system_prompt_asks(c):
    m = ask(c, "Ada Lovelace, 36, London.", system='Reply in JSON like {"name": "...", "age": 0, "city": "..."}.')
    assert json.loads(m.content[0].text) == {"name": "Ada Lovelace", "age": 36, "city": "London"}
    plain = ask(c, "Say hello. Respond with JSON only.")
    assert json.loads(plain.content[0].text)["simulated"] is True


def test_requested_length_is_written_and_cut_at_max_tokens(c):
    assert requested_words("Write five 1,000-word stories") == 5000
    assert requested_words("Write 3 paragraphs about tea") == 270
    long = ask(c, "Write five 1,000-word stories about dragons.", max_tokens=4096)
    assert long.stop_reason == "max_tokens" and long.usage.output_tokens == 4096
    short = ask(c, "Write a 100-word story about dragons.", max_tokens=4096)
    assert short.stop_reason == "end_turn" and 100 <= len(short.content[0].text.split()) <= 102


def test_text_documents_are_cited_by_characters(c):
    doc = "The tower opened in 1889. It is 330 metres tall. Paint is renewed every seven years."
    m = c.messages.create(model=DEFAULT_MODEL, max_tokens=500, messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": doc},
         "title": "Tower facts", "citations": {"enabled": True}},
        {"type": "text", "text": "How tall is the tower in metres?"}]}])
    cited = [b for b in m.content if b.type == "text" and b.citations]
    (citation,) = cited[0].citations
    assert citation.type == "char_location" and citation.document_title == "Tower facts"
    assert doc[citation.start_char_index:citation.end_char_index] == citation.cited_text == "It is 330 metres tall."


def _pdf(pages: list[str]) -> str:
    """A minimal PDF with one Flate-compressed content stream per page."""
    objects = []
    for text in pages:
        stream = zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
    body = b"%PDF-1.4\n" + b"\n".join(b"%d 0 obj\n" % (i + 1) + o + b"\nendobj" for i, o in enumerate(objects))
    return base64.b64encode(body + b"\n%%EOF").decode()


def test_pdf_documents_are_cited_by_page(c):
    data = _pdf(["Chapter one is about bees.", "Honey keeps for thousands of years."])
    m = c.messages.create(model=DEFAULT_MODEL, max_tokens=500, messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data},
         "citations": {"enabled": True}},
        {"type": "text", "text": "How long does honey keep?"}]}])
    (citation,) = next(b for b in m.content if b.type == "text" and b.citations).citations
    assert citation.type == "page_location" and (citation.start_page_number, citation.end_page_number) == (2, 3)
    assert citation.cited_text == "Honey keeps for thousands of years."


def test_otherwise_it_says_it_is_the_offline_simulator(c):
    text = ask(c, "Tell me something interesting.").content[0].text
    assert "offline" in text and "ANTHROPIC_API_KEY" in text


def test_extraction_helpers_are_deterministic_and_schema_valid():
    schema = {"type": "object", "properties": {"year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                                               "tags": {"type": "array", "items": {"enum": ["red", "blue"]}}},
              "required": ["year", "tags"]}
    text = "In 1999 we painted it blue, and in 2026 red."
    assert extract.fill(schema, text) == extract.fill(schema, text) == {"year": 2026, "tags": ["red", "blue"]}
    with pytest.raises(ValueError):
        arithmetic.evaluate("__import__('os')")



def test_text_beside_tool_results_does_not_restart_the_task(c):
    first = ask(c, "What is the weather in Oslo?", tools=[WEATHER_TOOL])
    (use,) = [b for b in first.content if b.type == "tool_use"]
    messages = [*user("What is the weather in Oslo?"), {"role": "assistant", "content": first.content},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "4°C, rain"},
                                             {"type": "text", "text": "Continue."}]}]
    second = c.messages.create(model=DEFAULT_MODEL, max_tokens=500, tools=[WEATHER_TOOL], messages=messages)
    assert second.stop_reason == "end_turn" and "4°C, rain" in second.content[-1].text


def test_a_timezone_argument_is_an_iana_name(c):
    tool = {"name": "get_current_time", "description": "Get the current local time in a timezone.",
            "input_schema": {"type": "object", "required": ["timezone"], "properties": {
                "timezone": {"type": "string", "description": "an IANA timezone name, such as Europe/Paris"}}}}
    (use,) = [b for b in ask(c, "What time is it in Auckland right now?", tools=[tool]).content if b.type == "tool_use"]
    assert use.input == {"timezone": "Pacific/Auckland"}
