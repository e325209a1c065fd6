"""POST /v1/messages: one request, from its bytes to a Message or its event stream.

The steps, in the API's order: parse the JSON; draw a seeded fault and check the rate limit (both answer
before any work, with retry headers); expand a server-side thread; read the fallback chain; validate the
request (reusing what the prefix memo already checked of an agent's growing history), then the newer
features' rules; answer (the policy says what the model says, the prompt cache and tokenizer give the
usage, the latency model the timing), on a refusal trying each fallback model; keep the thread; move the
clock; send the Message whole after its latency, or as SSE with the delays between events.

Functions here take the `Simulator` whose state they use (its seeded RNG, ids, clock, stores and memos).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import fallbacks, server_tools, sse, structured, thinking, validate
from .errors import APIError
from .latency import Timing
from .policy import respond
from .prefix import Match
from .request import MessagesRequest
from .response import SimResponse

if TYPE_CHECKING:
    from .core import Simulator


def retry_headers(err: APIError, wait: float, scale: float) -> APIError:
    """`err` with the API's retry-after (whole seconds) and agentkit's scaled retry-after-ms."""
    # The API sends retry-after (whole seconds) on 429s; we also send the non-standard retry-after-ms, scaled,
    # which the SDK prefers, so retries wait simulated time rather than whole real seconds.
    err.headers.update({"retry-after": err.headers.get("retry-after") or str(max(1, round(wait))),
                        # at time scale 0 a zero would make the SDK fall back to its own backoff
                        "retry-after-ms": f"{max(wait * scale * 1000, 0.001):.3f}",
                        # an error comes back at once; saying so keeps client-side timings in simulated time
                        "x-agentkit-simulated-seconds": "0.000"})
    return err


def create(sim: Simulator, headers: dict[str, str], raw: bytes, request_id: str) -> SimResponse:
    """Answer one `/v1/messages` request (`headers` lower-cased); raises `APIError` for the API's errors."""
    data = validate.parse_json(raw, sim._texts.parse)
    attempt = sim._next_attempt()
    rng = sim._rng(raw)
    fault = sim.faults.draw(rng, attempt) if sim.faults.applies_to(data.get("model")) else None
    if fault is not None:
        raise retry_headers(fault, sim.faults.retry_after, sim.scale())
    now = sim.now()
    limited = sim._limiter.admit(now)
    if limited is not None:
        raise retry_headers(limited, float(limited.headers["retry-after"]), sim.scale())
    thread_key, body = sim._threads.expand(data, headers, sim._new_id)
    req = MessagesRequest.of(body, raw)  # read once: validation, usage and the policy share it
    entries = fallbacks.chain(req, headers)
    primary = req.without_fallbacks()
    match = sim._prefix.lookup(primary.body)
    validate.messages_request(primary, checked_prefix=match.reuse if match else 0)
    validate.sampling(body, headers.get("anthropic-version"))
    validate.version_rules(body, headers.get("anthropic-version"))
    check_features(sim, req)
    sim.requests.append(body)

    def attempt_answer(attempt: MessagesRequest) -> tuple[Timing, dict[str, Any]]:
        # the request as sent reuses the prefix memo; a fallback attempt (another model) is accounted afresh
        return sim._answer(attempt, rng, match if attempt is primary else None)

    def check(attempt: MessagesRequest) -> None:
        validate.messages_request(attempt)
        check_features(sim, attempt)

    timing, message = fallbacks.serve(primary, entries, attempt_answer, check)
    if thread_key is not None:
        sim._threads.store(thread_key, body, message)
    timing = Timing(timing.ttft * sim.faults.slowdown(rng), timing.output_seconds)
    if not sim._clock_follows_wall():  # in server mode the real (scaled) wait moves the clock itself
        sim.advance(timing.total)
    u = message["usage"]
    hdrs = {"request-id": request_id, "x-agentkit-simulated-seconds": f"{timing.total:.3f}",
            "x-agentkit-simulated-ttft": f"{timing.ttft:.4f}",
            **sim._limiter.charge(now, u["input_tokens"] + u["cache_creation_input_tokens"], u["output_tokens"])}
    if req.stream:
        broken = sim.faults.breaks_stream(rng)
        dropped = not broken and sim.faults.drops_stream(rng)
        return SimResponse(200, {"content-type": "text/event-stream", "cache-control": "no-cache", **hdrs},
                           chunks=list(sse.encode(message, timing, sim.scale(), broken, dropped)), delay=0.0,
                           dropped=dropped)
    return SimResponse(200, {"content-type": "application/json", **hdrs}, json.dumps(message).encode(),
                       delay=timing.total * sim.scale())


def check_features(sim: Simulator, req: MessagesRequest) -> None:
    """Request rules of the newer features, each in its own module (thinking, structured outputs, server
    tools), checked after the core shape (`validate.messages_request`)."""
    thinking.validate(req)
    structured.validate(req)
    server_tools.validate(req)
    thinking.check_history(req, sim._thinking)


def answer(sim: Simulator, req: MessagesRequest, rng: random.Random,
           match: Match | None = None) -> tuple[Timing, dict[str, Any]]:
    """The reply to a checked request as a Message body, and how long it takes: what the model says, usage with
    caching, latency. `match` is the prefix memo's match for this request (the unchanged history's accounting is
    reused)."""
    segs, bounds, bps = sim._prefix.account_inputs(req.body, match, req.size)
    validate.prompt_length(req.model, bounds[-1][1] if bounds else 0)
    reply = respond(req, sim.scenarios, sim._new_id)
    sim._thinking.record(reply.content)
    usage = sim.cache.account(req.model, segs, sim.now(), boundaries=bounds, breakpoints=bps)
    if reply.extra_input_tokens:  # search results and fetched pages the model read inside the reply
        usage = replace(usage, input_tokens=usage.input_tokens + reply.extra_input_tokens)
    timing = sim.latency.timing(req.model, input_tokens=usage.input_tokens + usage.cache_creation_input_tokens,
                                output_tokens=reply.output_tokens, cached_tokens=usage.cache_read_input_tokens,
                                rng=rng)
    message: dict[str, Any] = {
        "id": sim._new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": usage.as_dict(reply.output_tokens),
    }
    if reply.stop_details is not None:
        message["stop_details"] = reply.stop_details
    if reply.server_tool_use:
        message["usage"]["server_tool_use"] = reply.server_tool_use
    if reply.thinking_tokens:
        message["usage"]["output_tokens_details"] = {"thinking_tokens": reply.thinking_tokens}
    return timing, message


def answer_batched(sim: Simulator, params: dict[str, Any], api_version: str | None = None) -> dict[str, Any]:
    """One batched request answered as `/v1/messages` would answer it (no faults, no rate limit, no stream), under
    the API version the batch was created with."""
    req = MessagesRequest.of(params)
    validate.messages_request(req)
    validate.sampling(params, api_version)
    validate.version_rules(params, api_version)
    check_features(sim, req)
    raw = json.dumps(params, sort_keys=True).encode()  # after the checks: an invalid request costs no encoding
    _, message = sim._answer(req.with_raw(raw), sim._rng(raw))
    return message
