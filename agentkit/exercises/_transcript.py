"""Grading code that calls the model: run it on an offline client and judge what it sent.

An exercise whose answer is model-calling code (a ReAct loop, a critic, a handoff) is graded the same way whatever
the learner's mode: the checker builds its own offline client with the exercise's scenario, hands it to the
learner's function, and judges the transcript (the request bodies the function sent, in order) and the return
value. Never the model's wording: the scenario's wording is the checker's own, so it can compute what a right
answer does with it (EXERCISES.md, rule 5).

    transcript = run_recorded(learner_fn, "What is 17 * 23?", scenarios=[MY_SCENARIO])
    if transcript.error: return wrong(f"it raised {transcript.error}")
    transcript.requests[-1]["messages"]   # what the last call sent
    transcript.unanswered_tool_uses()     # tool_use ids never answered by a tool_result (should be empty)
    transcript.replies[-1]["usage"]       # what the last call was answered with (non-streamed calls)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import anthropic

from agentkit.course.lab import call_learner_code


def offline_client(scenarios: Iterable[Any] = (), seed: int = 0, **kwargs: Any) -> anthropic.Anthropic:
    """A fresh simulated client (its own simulator, nothing printed), whatever the learner's mode is."""
    from agentkit.clients import client

    return client(live=False, scenarios=scenarios, seed=seed, quiet=True, **kwargs)


def requests_sent(c: anthropic.Anthropic) -> list[dict[str, Any]]:
    """Copies of the /v1/messages bodies an offline client has sent, oldest first."""
    from agentkit.sim import simulator_of

    sim = simulator_of(c)
    if sim is None:
        raise ValueError("requests_sent needs a client from offline_client(); a live client keeps no transcript")
    return [copy.deepcopy(body) for body in sim.requests]


class _ReplyRecorder(anthropic.Middleware):
    """Keeps the JSON body of every non-streamed /v1/messages reply, so a check can read usage and stop reasons
    (a budget exercise needs the tokens each call was billed)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: Any, call_next: Any) -> Any:
        response = call_next(request)
        streamed = "event-stream" in str(response.headers.get("content-type", ""))
        if not streamed and str(getattr(request, "url", "")).endswith("/v1/messages"):
            try:
                response.read()
                body = response.json()
            except Exception:  # noqa: BLE001 - an unreadable reply is left to the SDK to report
                body = None
            if isinstance(body, dict) and body.get("type") == "message":
                self.bodies.append(copy.deepcopy(body))
        return response


@dataclass
class Transcript:
    """What one run of the learner's code did: its return value or error, and every request it sent."""

    value: Any
    error: str | None
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: the reply bodies of the non-streamed calls, in order (usage, stop_reason, content)
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.requests)

    def unanswered_tool_uses(self) -> list[str]:
        """tool_use ids in an assistant turn that the following user turn does not answer with a tool_result.

        Judged on the last request, whose `messages` is the whole conversation the code kept."""
        if not self.requests:
            return []
        messages = self.requests[-1].get("messages", [])
        missing: list[str] = []
        for i, msg in enumerate(messages):
            if msg.get("role") != "assistant" or not isinstance(msg.get("content"), list):
                continue
            asked = [str(b.get("id")) for b in msg["content"] if isinstance(b, dict) and b.get("type") == "tool_use"]
            nxt = messages[i + 1] if i + 1 < len(messages) else None
            content = nxt.get("content") if nxt else None
            answered = {b.get("tool_use_id") for b in content if isinstance(b, dict)
                        and b.get("type") == "tool_result"} if isinstance(content, list) else set()
            missing += [str(t) for t in asked if t not in answered]
        return missing


def run_recorded(fn: Callable[..., Any], *args: Any, scenarios: Iterable[Any] = (), seed: int = 0,
                 client_kwargs: dict[str, Any] | None = None) -> Transcript:
    """Call `fn(client, *args)` with a fresh offline client; return its value (or error) and its requests."""
    kwargs = dict(client_kwargs or {})
    recorder = _ReplyRecorder()
    kwargs["middleware"] = [*kwargs.get("middleware", ()), recorder]
    c = offline_client(scenarios, seed, **kwargs)
    value, error = call_learner_code(fn, c, *args)
    return Transcript(value, error, requests_sent(c), recorder.bodies)
