"""Helpers shared by the simulator tests (tests/test_sim_*.py, tests/test_client.py).

`RecordingSimulator` is a real `Simulator` that also keeps every HTTP request
as it arrived on the wire, so a test can check what the SDK sent (the
`thread` field, `x-stainless-retry-count`, the beta header) and not only what
the simulator made of it.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

import agentkit
from agentkit.models import DEFAULT_MODEL
from agentkit.sim import Simulator, set_time_scale, time_scale


@dataclass
class WireRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw bytes when they are not JSON
    status: int = 0


@dataclass
class RecordingSimulator(Simulator):
    wire: list[WireRequest] = field(default_factory=list)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes,
               base_url: str = "https://api.anthropic.com"):  # type: ignore[override]
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body
        req = WireRequest(method.upper(), path, {k.lower(): v for k, v in headers.items()}, parsed)
        self.wire.append(req)
        response = super().handle(method, path, headers, body, base_url)
        req.status = response.status
        return response

    def messages_wire(self) -> list[WireRequest]:
        return [r for r in self.wire if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"]


@contextlib.contextmanager
def scale(value: float) -> Iterator[None]:
    """Run with the simulator's time scale set to `value`, restoring the previous one after."""
    before = time_scale()
    set_time_scale(value)
    try:
        yield
    finally:
        set_time_scale(before)


def sim_client(**kwargs: Any):
    """A simulated client over a RecordingSimulator, validating every response strictly against the SDK's types
    (so a field the SDK requires but the simulator leaves out fails the test)."""
    kwargs.setdefault("simulator", RecordingSimulator(seed=kwargs.pop("seed", 0)))
    return agentkit.client(quiet=True, _strict_response_validation=True, **kwargs)


def async_sim_client(**kwargs: Any):
    kwargs.setdefault("simulator", RecordingSimulator(seed=kwargs.pop("seed", 0)))
    return agentkit.async_client(quiet=True, _strict_response_validation=True, **kwargs)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME_TOOL = {
    "name": "get_time",
    "description": "Current local time in a timezone",
    "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
}
MODEL = DEFAULT_MODEL
