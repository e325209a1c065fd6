"""A Messages API request, read once from its JSON body into a typed value.

Validation, the feature checks (thinking, structured outputs, server tools), the usage accounting and the
policy all read the same few fields; `MessagesRequest` reads them out of the body once, names them, and
carries the bytes the request came from (they seed its random draws and size its entry in the prefix memo).

The value is built from the body as sent, before anything is checked, because validation itself reads it:
until `validate.messages_request` has passed, a field holds whatever the body had there (JSON can be
anything, or the field absent: None). Everything after validation relies on the annotated types.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """One `/v1/messages` request body (or a batched request's `params`), its fields named."""

    body: dict[str, Any]  # the JSON object, as lessons see it in `Simulator.requests`
    raw: bytes  # the bytes it was parsed from (b"" for a body made inside the simulator, e.g. a fallback attempt)
    model: str
    messages: list[dict[str, Any]]
    system: str | list[dict[str, Any]] | None
    tools: list[dict[str, Any]] | None
    tool_choice: dict[str, Any] | None
    thinking: dict[str, Any] | None
    output_config: dict[str, Any] | None
    max_tokens: int
    stop_sequences: list[str] | None
    stream: bool

    @classmethod
    def of(cls, body: dict[str, Any], raw: bytes = b"") -> MessagesRequest:
        """The request for a parsed JSON object (`raw`: the bytes it came from, when there were any)."""
        sent: Any = body  # its values are unchecked until validation (see the module's docstring)
        get = sent.get
        return cls(body=body, raw=raw, model=get("model"), messages=get("messages"), system=get("system"),
                   tools=get("tools"), tool_choice=get("tool_choice"), thinking=get("thinking"),
                   output_config=get("output_config"), max_tokens=get("max_tokens"),
                   stop_sequences=get("stop_sequences"), stream=bool(get("stream")))

    @property
    def size(self) -> int:
        """Bytes of the request as received (0 for one made inside the simulator)."""
        return len(self.raw)

    def with_raw(self, raw: bytes) -> MessagesRequest:
        """The same request, standing for the bytes `raw`."""
        return replace(self, raw=raw)

    def without_fallbacks(self) -> MessagesRequest:
        """The request the first model receives: the body without its `fallbacks` chain (this request when it
        has none), standing for the same bytes."""
        if "fallbacks" not in self.body:
            return self
        return MessagesRequest.of({k: v for k, v in self.body.items() if k != "fallbacks"}, self.raw)
