"""The checked exercises of lesson F02 Tool use.

`definition`: the learner writes a tool's interface by hand, the JSON the Messages API reads. The check sends it to
an offline Messages API (which refuses a malformed definition with the API's own error), then tests its
input_schema as the API would use it: seeded valid inputs must pass, and each planted defect (a missing field, a
number sent as text, a currency the function cannot convert) must be refused.

`error_tool`: the learner writes a tool, a typed function with a docstring, that computes minutes between two
clock times and raises a clear error for input it cannot use. The check builds it with `agentkit.tool`, tests it on
seeded times and on bad input (the error must be flagged as an error and name the value that was wrong), then runs
it in an agent on a scripted offline model that first sends a bad value and then a good one, and reads what went
back to the model: an `is_error` tool_result, then the right number of minutes.
"""

from __future__ import annotations

import random
from typing import Any, cast

from agentkit.course.lab import AnswerError, Task, Verdict, as_function, passed, wrong
from agentkit.exercises import Exercises
from agentkit.exercises._code_task import CodeTask, catch_all, fresh_seed, texts_of, tool_results_in
from agentkit.exercises._transcript import offline_client, run_recorded

CURRENCIES = ("EUR", "GBP", "JPY", "CHF")


# -- definition ---------------------------------------------------------------------------------


def _check_definition(answer: Any) -> Verdict:
    import anthropic
    import jsonschema

    from agentkit.models import DEFAULT_MODEL

    if not isinstance(answer, dict):
        raise AnswerError(f"your definition is a {type(answer).__name__}; give a dict with name, description and "
                          "input_schema")
    if answer.get("name") != "convert_currency":
        return wrong(f"The name is {answer.get('name')!r}. It must be the function's name, 'convert_currency': the "
                     "model calls a tool by this name, and your loop looks the function up by it.")
    description = answer.get("description")
    if not isinstance(description, str) or len(description.split()) < 4:
        return wrong("The description is missing or a few words at most. Say what the tool does and when to use "
                     "it: the model never sees the function, only this text.")
    try:  # what the API itself says about the definition
        offline_client().messages.create(model=DEFAULT_MODEL, max_tokens=50, tools=[cast(Any, answer)],
                                         messages=[{"role": "user", "content": "Convert 10 USD to EUR."}])
    except anthropic.BadRequestError as err:
        message = err.body.get("error", {}).get("message", str(err)) if isinstance(err.body, dict) else str(err)
        return wrong(f"The Messages API refused this definition: {message}")
    schema = answer.get("input_schema")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        return wrong(f"input_schema is not a valid JSON schema: {err.message}")
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for field in ("amount", "currency"):
        if field not in properties:
            return wrong(f"input_schema has no property {field!r}; the function takes amount and currency.")
        if not (isinstance(properties[field], dict) and str(properties[field].get("description", "")).strip()):
            return wrong(f"The property {field!r} has no description. Say what it is and in what form "
                         "(a unit, a format, the allowed values).")
    validator = jsonschema.Draft202012Validator(schema)
    seed = fresh_seed()
    rng = random.Random(seed)
    good = [{"amount": rng.choice([rng.randint(1, 900), round(rng.uniform(0.5, 500), 2)]), "currency": c}
            for c in rng.sample(CURRENCIES, len(CURRENCIES))]
    for value in good:
        if not validator.is_valid(value):
            return wrong(f"Your schema refuses a valid input, {value} (check seed {seed}). amount is any number, "
                         f"currency one of {', '.join(CURRENCIES)}.")
    amount = good[0]["amount"]
    defects: list[tuple[str, dict[str, Any]]] = [("leaves out currency", {"amount": amount}),
               ("leaves out amount", {"currency": "EUR"}),
               ("sends the amount as text", {"amount": str(amount), "currency": "GBP"}),
               ("asks for a currency the function cannot convert", {"amount": amount, "currency": "XAU"})]
    for kind, value in defects:
        if validator.is_valid(value):
            return wrong(f"Your schema accepts an input that {kind}: {value} (check seed {seed}). Tighten it so the "
                         "API can stop that call before your function runs.")
    return passed("The API accepts your definition, and its schema lets every valid call through and stops each "
                  "defective one. @agentkit.tool writes the same thing from type hints and a docstring.")


# -- error_tool ---------------------------------------------------------------------------------


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _build(fn: Any) -> Any:
    from agentkit.tools import tool

    try:
        return tool(fn)
    except Exception as err:  # noqa: BLE001 - a function agentkit.tool cannot read: say why
        raise AnswerError(f"agentkit.tool could not turn your function into a tool ({type(err).__name__}: {err}). "
                          "Give every parameter a type hint (start: str, end: str).") from None


def _run_in_agent(client: Any, built: Any, question: str) -> Any:
    from agentkit.agent import Agent

    return Agent(client, tools=[built], max_steps=4).run(question)


def _check_error_tool(answer: Any) -> Verdict:
    fn = as_function(answer, "your minutes_between")
    built = _build(fn)
    definition = built.to_dict()
    if len(str(definition.get("description", "")).split()) < 4:
        return wrong("The tool's description is empty or a few words at most: write a docstring whose first lines "
                     "say what the tool does. The model sees only that text.")
    properties = definition.get("input_schema", {}).get("properties", {})
    if set(properties) != {"start", "end"}:
        return wrong(f"The tool takes {sorted(properties)}; it should take exactly start and end.")
    for name, prop in properties.items():
        if not str(prop.get("description", "")).strip():
            return wrong(f"The parameter {name!r} has no description. Add an 'Args:' section to the docstring with "
                         f"one line per parameter, e.g. '{name}: a time of day as HH:MM'.")
    seed = fresh_seed()
    rng = random.Random(seed)
    for _ in range(4):
        a = rng.randint(0, 23 * 60)
        b = rng.randint(a, 24 * 60 - 1)
        out = built.invoke({"start": _clock(a), "end": _clock(b)})
        if out.is_error:
            return wrong(f"minutes_between({_clock(a)!r}, {_clock(b)!r}) failed: {texts_of(out.content)[:120]} "
                         f"(check seed {seed})")
        if texts_of(out.content).strip() != str(b - a):
            return wrong(f"minutes_between({_clock(a)!r}, {_clock(b)!r}) gave {texts_of(out.content)[:60]!r}; "
                         f"it should be the number of minutes between them (check seed {seed}).")
    late = rng.randint(12 * 60, 20 * 60)
    bad_inputs = [("a time not written as HH:MM", {"start": f"{rng.randint(1, 11)}am", "end": "17:00"}, "start"),
                  ("an hour past 23", {"start": "09:00", "end": f"{rng.randint(24, 29)}:15"}, "end"),
                  ("an end before the start", {"start": _clock(late), "end": _clock(late - rng.randint(5, 300))},
                   "end")]
    for kind, value, field in bad_inputs:
        out = built.invoke(value)
        if not out.is_error:
            return wrong(f"Given {kind} ({value}), your tool returned {texts_of(out.content)[:60]!r} as if it were a "
                         "result. Raise an exception (ToolError or ValueError) so the model is told it failed.")
        if value[field] not in texts_of(out.content):
            return wrong(f"Given {kind} ({value}), the error the model reads is {texts_of(out.content)[:140]!r}. "
                         f"Name the value that was wrong ({value[field]!r}) and say what form you want instead.")
    good_a = rng.randint(8 * 60, 12 * 60)
    good_b = good_a + rng.randint(15, 240)
    bad = f"half past {rng.randint(1, 9)}"
    scenario = catch_all("f02_error_tool", [
        {"text": "Working it out.", "tool_calls": [{"name": built.name, "input": {"start": bad, "end": _clock(good_b)}}]},
        {"text": "It wants HH:MM; trying again.",
         "tool_calls": [{"name": built.name, "input": {"start": _clock(good_a), "end": _clock(good_b)}}]},
        {"text": "That is {last_tool_result} minutes."}])
    transcript = run_recorded(_run_in_agent, built, "How long is the meeting?", scenarios=[scenario])
    if transcript.error or transcript.calls != 3:
        return wrong(f"In an agent, the run did not go as planned ({transcript.error or f'{transcript.calls} model calls'}"
                     f"; check seed {seed}).")
    first = tool_results_in(transcript.requests[1]["messages"][-1])
    second = tool_results_in(transcript.requests[2]["messages"][-1])
    if not (first and first[0].get("is_error") and bad in texts_of(first[0].get("content"))):
        return wrong(f"In an agent, the model's bad call (start={bad!r}) did not come back as an is_error "
                     "tool_result naming the value.")
    if not second or texts_of(second[0].get("content")).strip() != str(good_b - good_a):
        return wrong("In an agent, the model's corrected call did not get the right number of minutes back.")
    return passed("Right on seeded times, clear about every bad input, and in an agent the model got an is_error "
                  "result it could act on, then the right answer.")


EXERCISES = Exercises("f02", "Foundations 02 exercises", "F02 Tool use", lesson_notebook="notebooks/02_*.ipynb", tasks=[
    Task("definition", "Write a tool's interface by hand: the JSON the model sees", _check_definition,
         "a dict with name, description and input_schema (a JSON schema)",
         ("A definition has three keys: name, description and input_schema. The schema is a JSON schema of type "
          "'object' whose properties are the function's parameters. (lab.hint('definition', 2) says more.)",
          "Give each property a JSON type and a description; list the properties the function cannot do without "
          "under 'required'. (Hint 3: how to restrict the currency.)",
          "A JSON schema restricts a string to a fixed set of values with the keyword 'enum'; a number is "
          "{'type': 'number'}, which refuses text.")),
    CodeTask("error_tool", "Write a tool with a docstring and errors the model can act on", _check_error_tool,
             "a function minutes_between(start: str, end: str) -> int, with a docstring and an Args: section",
             ("The model reads only the docstring and the errors. Say what the tool does and the format of each "
              "input; for input you cannot use, raise an exception whose message names the bad value. "
              "(lab.hint('error_tool', 2) shows the structure.)",
              "Parse each time with datetime.strptime(value, '%H:%M') inside try/except ValueError, and raise your "
              "own error that quotes the value and says 'use HH:MM'. Then check that end is not before start. "
              "(Hint 3: the arithmetic.)",
              "A time's minutes since midnight are hour * 60 + minute; the answer is the end's minus the start's.")),
], solutions={
    "definition": """
        convert_currency_tool = {
            "name": "convert_currency",
            "description": "Convert an amount of US dollars into another currency at today's rate.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number", "description": "the amount in US dollars, e.g. 12.5"},
                    "currency": {"type": "string", "enum": ["EUR", "GBP", "JPY", "CHF"],
                                 "description": "the currency to convert into, as a code"},
                },
                "required": ["amount", "currency"],
            },
        }
    """,
    "error_tool": """
        from datetime import datetime
        from agentkit import ToolError

        def minutes_between(start: str, end: str) -> int:
            \"\"\"How many minutes pass between two times on the same day.

            Args:
                start: the earlier time, as HH:MM (24-hour clock), e.g. "09:30"
                end: the later time, as HH:MM (24-hour clock), e.g. "17:05"
            \"\"\"
            def minutes(name, value):
                try:
                    t = datetime.strptime(value, "%H:%M")
                except ValueError:
                    raise ToolError(f"{name}={value!r} is not a time I can read; use HH:MM, e.g. 09:30") from None
                return t.hour * 60 + t.minute

            a, b = minutes("start", start), minutes("end", end)
            if b < a:
                raise ToolError(f"end={end!r} is before start={start!r}; give the later time as end")
            return b - a
    """,
}, answers={"definition": "convert_currency_tool", "error_tool": "minutes_between"})
