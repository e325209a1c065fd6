"""The checked exercises of lesson F09 Multi-agent systems.

1. ``tagline_schema``: the handoff schema for the copywriters (a pydantic model), judged on properties: it
   accepts good handoffs and refuses each kind of malformed one, on fixed and seeded random samples.
2. ``copy_then_critic``: a two-agent sequential team the learner writes with the plain SDK. The copywriter's
   reply must come through structured outputs and be validated against the schema; only the validated tagline
   goes to the critic. Graded offline on the requests the learner's code sent (`_transcript.run_recorded`),
   against scenarios built here from a seeded brief, never on wording.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, Literal

import pydantic

from agentkit.course.lab import AnswerError, FunctionTask, Task, Verdict, as_function, passed, wrong
from agentkit.exercises import Exercises
from agentkit.exercises._transcript import run_recorded


# -- 1. a handoff schema ------------------------------------------------------------------------------------

_WORDS = ("arrive", "fresh", "pay", "less", "ride", "further", "quiet", "city", "easy", "miles", "smile", "home")


def _tagline(rng: random.Random, length: int) -> str:
    text = ""
    while len(text) < length:
        text = f"{text} {rng.choice(_WORDS)}".strip()
    return text[:length].rstrip() or "a"


def _check_tagline_schema(answer: Any) -> Verdict:
    if not (isinstance(answer, type) and issubclass(answer, pydantic.BaseModel)):
        raise AnswerError(f"your answer is a {type(answer).__name__}; give the pydantic model class itself.")
    seed = random.SystemRandom().randrange(10_000)
    rng = random.Random(seed)
    good: list[dict[str, Any]] = [{"text": "Arrive fresh. Pay less.", "tone": "punchy"},
                                  {"text": "An easier way to work.", "tone": "calm"},
                                  {"text": "x" * 40, "tone": "calm"},  # exactly at the limit
                                  {"text": _tagline(rng, rng.randint(5, 40)), "tone": rng.choice(["punchy", "calm"])}]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"text": "Arrive fresh", "tone": "shouty"}, "a tone other than punchy or calm"),
        ({"text": "Arrive fresh", "tone": "Punchy"}, "a tone spelt with a capital (the tones are exact values)"),
        ({"text": "x" * 41, "tone": "calm"}, "a tagline of 41 characters"),
        ({"text": _tagline(rng, rng.randint(42, 80)) + "!" * 42, "tone": "punchy"}, "a tagline far over 40 characters"),
        ({"tone": "calm"}, "a missing text"),
        ({"text": "Arrive fresh"}, "a missing tone"),
        ({"text": "Arrive fresh", "tone": "calm", "score": rng.randint(1, 9)}, "an extra field the writer did not ask for"),
    ]
    for sample in good:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError as exc:
            return wrong(f"It refuses a good handoff {sample}: {exc.errors()[0]['msg']}. (Random samples: seed {seed}.)")
    for sample, what in bad:
        try:
            answer.model_validate(sample)
        except pydantic.ValidationError:
            continue
        shown = {k: (v[:45] + "..." if isinstance(v, str) and len(v) > 48 else v) for k, v in sample.items()}
        return wrong(f"It accepts {what}: {shown}. A handoff schema must catch that before the next agent sees it.")
    return passed(f"It accepts all {len(good)} good taglines and refuses all {len(bad)} malformed handoffs.")


# -- 2. a two-agent team: copywriter -> critic, through a validated handoff ---------------------------------


class _Tagline(pydantic.BaseModel):
    """The reference schema the check hands to the learner's function (so the exercise does not depend on 1)."""

    model_config = pydantic.ConfigDict(extra="forbid")
    text: str = pydantic.Field(max_length=40)
    tone: Literal["punchy", "calm"]


_PRODUCTS = ("Aurora", "Boreal", "Cirrus", "Drift", "Ember", "Fjord", "Glide", "Halo")
_VERDICTS = ("Keep it: it names the reason to buy.", "Cut a word; otherwise strong.",
             "Too vague: say what the rider gains.", "Good rhythm, and it fits a bus poster.")


def _case(seed: int, valid: bool = True) -> dict[str, Any]:
    """A seeded brief, the copywriter's scripted tagline, the critic's scripted verdict, and their scenarios."""
    rng = random.Random(seed)
    product = f"{rng.choice(_PRODUCTS)} {rng.choice('KLMNPQRSTVXZ')}{rng.randint(2, 9)}"
    brief = f"Write one tagline for the {product} e-bike. It costs EUR {rng.randint(18, 34)}90."
    text = f"{product}: {_tagline(rng, rng.randint(8, 40) - len(product) - 2)}".strip()[:40]
    if not valid:
        text = f"{product}: " + _tagline(rng, 60)  # over 40: the API cannot enforce maxLength, the schema can
    tagline = {"text": text, "tone": rng.choice(["punchy", "calm"])}
    verdict = f"{rng.choice(_VERDICTS)} (critic {seed % 997})"
    scenarios = [
        # The critic's request is the one that quotes the tagline; listed first, so it wins when both match.
        {"name": f"f09_critic_{seed}", "match": {"user": re.escape(text)}, "turns": [{"text": verdict}]},
        {"name": f"f09_copywriter_{seed}", "match": {"user": re.escape(product)}, "turns": [{"json": tagline}]},
    ]
    return {"seed": seed, "product": product, "brief": brief, "tagline": tagline, "verdict": verdict,
            "scenarios": scenarios, "valid": valid}


def _texts(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content or [])


def _judge_pair(fn: Any, case: dict[str, Any]) -> str | None:
    """None if `fn` did the right thing on `case`, else what went wrong (a sentence)."""
    t = run_recorded(fn, case["brief"], _Tagline, scenarios=case["scenarios"])
    label = f"the brief {case['brief']!r}"
    first = t.requests[0] if t.requests else {}
    fmt = (first.get("output_config") or {}).get("format") or {}
    if t.requests and fmt.get("type") != "json_schema":
        return ("The copywriter's request asks for no structured output. Pass output_config={'format': {'type': "
                "'json_schema', 'schema': anthropic.transform_schema(schema)}} (or use client.messages.parse with "
                "output_format=schema), so the API shapes the reply instead of a prompt asking for JSON.")
    if t.error:
        if not case["valid"] and "validation" in t.error.lower():
            return (f"On {label} the copywriter's tagline breaks the schema and your function raised {t.error[:120]}. "
                    "Catch pydantic.ValidationError and return (None, the reason) instead: a failed handoff is a "
                    "failed step, not a crash.")
        return f"On {label} it raised {t.error[:200]}."
    if t.calls == 0:
        return f"On {label} it never called the model."
    props = set((fmt.get("schema") or {}).get("properties") or {})
    if props != {"text", "tone"}:
        return f"The copywriter's output format has the fields {sorted(props)}; build it from the `schema` argument."
    if case["product"] not in " ".join(_texts(m) for m in first.get("messages", [])):
        return f"The copywriter's request does not contain the brief; send it {label}."
    if not isinstance(t.value, tuple) or len(t.value) != 2:
        return f"It returned {type(t.value).__name__} {t.value!r:.80}; return a pair: (tagline, verdict)."
    tagline, verdict = t.value
    if not case["valid"]:
        if t.calls > 1:
            return (f"On {label} the copywriter's tagline is {len(case['tagline']['text'])} characters, over the "
                    "schema's 40, yet your code called the critic. Validate the handoff first; stop when it fails.")
        if tagline is not None or not isinstance(verdict, str) or not verdict.strip():
            return f"On {label} the handoff is invalid: return (None, a sentence saying why), got ({tagline!r:.60}, {verdict!r:.60})."
        return None
    if t.calls != 2:
        return f"On {label} it made {t.calls} model calls; the team is two agents, one call each."
    if not isinstance(tagline, _Tagline):
        return (f"The first item it returned is a {type(tagline).__name__}; return the validated tagline, an "
                "instance of `schema` (schema.model_validate_json(...) makes one).")
    if tagline.model_dump() != case["tagline"]:
        return f"The tagline it returned, {tagline.model_dump()}, is not the one the copywriter handed on."
    critic = t.requests[1]
    critic_text = " ".join(_texts(m) for m in critic.get("messages", [])) + " " + str(critic.get("system", ""))
    if case["tagline"]["text"] not in critic_text:
        return "The critic's request does not contain the tagline's text: hand it on."
    if case["product"] in critic_text.replace(case["tagline"]["text"], ""):
        return ("The critic was sent the brief as well as the tagline. Route only what the next agent needs: the "
                "validated tagline.")
    if not isinstance(verdict, str) or verdict.strip() != case["verdict"]:
        return f"The second item it returned is {verdict!r:.80}; return the critic's reply text."
    return None


def _check_copy_then_critic(answer: Any) -> Verdict:
    fn = as_function(answer, "copy_then_critic")
    seed = random.SystemRandom().randrange(1, 10_000)
    cases = [_case(0), _case(seed), _case(seed + 1, valid=False)]
    for i, case in enumerate(cases):
        problem = _judge_pair(fn, case)
        if problem:
            kind = ("the example brief", "a hidden brief", "a hidden case where the handoff is invalid")[i]
            return wrong(f"{problem} (Case: {kind}, seed {case['seed']}.)")
    return passed("Both agents ran in order on every brief: a structured, validated handoff, only the tagline sent "
                  "on, and an invalid handoff stopped before the critic.")


EXERCISES = Exercises("f09_multi_agent", "Lesson 09 exercises", "F09 Multi-agent systems", lesson_notebook="notebooks/09_*.ipynb", tasks=[
    Task("tagline_schema", "A handoff schema for a tagline", _check_tagline_schema, "a pydantic model class",
         ("A handoff schema says exactly what may cross the boundary: which fields, which values, how long. "
          "Anything else must be refused. (Next: lab.hint('tagline_schema', 2).)",
          "Three tools from pydantic and typing: a Literal type for a closed set of values, Field(...) for a "
          "length limit, and the model's config to refuse unknown fields.",
          "tone: Literal[...] with the two tones; text: str = pydantic.Field(max_length=...); "
          "model_config = pydantic.ConfigDict(extra=...).")),
    FunctionTask("copy_then_critic", "A two-agent team with a validated handoff", _check_copy_then_critic,
                 "a function copy_then_critic(client, brief, schema) -> (tagline, verdict)",
                 ("Two model calls in a row. The first (the copywriter) must come back in the shape of `schema`, "
                  "and be checked before anything else runs; the second (the critic) sees only what passed. "
                  "(Next: lab.hint('copy_then_critic', 2).)",
                  "Call 1: client.messages.create(..., output_config={'format': {'type': 'json_schema', 'schema': "
                  "anthropic.transform_schema(schema)}}). Read its text, validate it with schema.model_validate_json "
                  "inside try/except pydantic.ValidationError. Call 2 gets only the tagline's text.",
                  "On a ValidationError: return None, str(error). Otherwise return tagline, followed by the text of "
                  "the critic's reply (join the text blocks of its content)."),
                 probes=((None, "", None),)),
], solutions={
    "tagline_schema": """
        from typing import Literal

        import pydantic

        class Tagline(pydantic.BaseModel):
            model_config = pydantic.ConfigDict(extra="forbid")
            text: str = pydantic.Field(max_length=40)
            tone: Literal["punchy", "calm"]
    """,
    "copy_then_critic": """
        import anthropic
        import pydantic

        import agentkit

        def copy_then_critic(client, brief, schema):
            "Copywriter -> critic: a structured, validated handoff, and only the tagline goes on."
            reply = client.messages.create(
                model=agentkit.DEFAULT_MODEL, max_tokens=300,
                system="You write one tagline for the product in the brief.",
                messages=[{"role": "user", "content": brief}],
                output_config={"format": {"type": "json_schema", "schema": anthropic.transform_schema(schema)}},
            )
            try:
                tagline = schema.model_validate_json("".join(b.text for b in reply.content if b.type == "text"))
            except pydantic.ValidationError as error:
                return None, f"invalid handoff: {error.errors()[0]['msg']}"
            review = client.messages.create(
                model=agentkit.DEFAULT_MODEL, max_tokens=200,
                system="You judge ad taglines in one line.",
                messages=[{"role": "user", "content": f"Tagline ({tagline.tone}): {tagline.text}"}],
            )
            return tagline, "".join(b.text for b in review.content if b.type == "text")
    """,
}, answers={"tagline_schema": "Tagline", "copy_then_critic": "copy_then_critic"})
