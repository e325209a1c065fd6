"""Reusing the accounting of an unchanged conversation prefix.

An agent resends its whole history on every step, so a simulator that
re-validates, re-counts and re-hashes every message on every call does work
that grows with the run: at 201 messages a call cost eight times what it cost
at 11. The API itself caches by prefix; so does this module, for the
simulator's own bookkeeping. After a request passes, its segments (token
counts, cache keys) and the running prefix hash after each message are kept,
keyed by the conversation's model and first message. The next request that
repeats that history and adds to it (the agent's next step) reuses all of it
but the tail: only the new messages are checked, counted and hashed.

Reuse needs the same model, tools and system prompt, and the same leading
messages, compared for equality (Python's C-level `==` on the parsed JSON, much
cheaper than re-counting). The previous request's last message is never
reused: it was checked as a final message (which may be empty or an assistant
prefill) and top-level `cache_control` may have marked it. Anything unusual
(an error in the tail, too many breakpoints) falls back to the full path, so
results and error messages are exactly those of a fresh computation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .errors import APIError
from .usage import MAX_BREAKPOINTS, Segment, prefix_hashes, segments

#: Conversations remembered at once (least recently used go first).
MAX_CONVERSATIONS = 256


@dataclass
class _Entry:
    model: str
    tools: Any
    system: Any
    messages: list[Any]
    segs: list[Segment]
    ends: list[int]  # ends[i]: number of segments up to and including message i (tools and system first)
    hashers: list[Any]  # hashers[i]: the prefix hasher fed through message i
    bounds: list[tuple[str, int]]


@dataclass(frozen=True)
class Match:
    """A remembered request whose first `reuse` messages the new request repeats."""

    entry: _Entry
    reuse: int


class PrefixMemo:
    """The per-conversation memo a `Simulator` keeps; thread-safe."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_conversations = max_conversations
        self.hits = 0  # requests that reused a prefix (for tests and the benchmark)

    @staticmethod
    def _key(body: dict[str, Any]) -> tuple[str, str] | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(body.get("model"), str):
            return None
        return body["model"], repr(messages[0])

    def lookup(self, body: dict[str, Any]) -> Match | None:
        """The remembered request this one extends, if any (call before validating: the match says how many
        leading messages are known valid)."""
        key = self._key(body)
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        messages = body["messages"]
        reuse = len(entry.messages) - 1
        if (reuse < 1 or len(messages) <= reuse or entry.tools != body.get("tools")
                or entry.system != body.get("system") or messages[:reuse] != entry.messages[:reuse]):
            return None
        return Match(entry, reuse)

    def account_inputs(self, body: dict[str, Any], match: Match | None) -> tuple[list[Segment], list[tuple[str, int]]]:
        """The request's segments and prefix hashes, computing only what the match does not cover; remembers
        the result for the next step."""
        model = body["model"]
        messages = body["messages"]
        if match is not None:
            done = self._extend(body, match)
            if done is not None:
                self.hits += 1
                return done
        segs = segments(body)
        ends, hashers, bounds = self._walk(model, body, segs)
        self._remember(body, segs, ends, hashers, bounds)
        return segs, bounds

    # -- internals ----------------------------------------------------------------------------
    def _extend(self, body: dict[str, Any], match: Match) -> tuple[list[Segment], list[tuple[str, int]]] | None:
        entry, reuse = match.entry, match.reuse
        model, messages = body["model"], body["messages"]
        tail_body: dict[str, Any] = {"model": model, "messages": messages[reuse:]}
        if body.get("cache_control") is not None:
            tail_body["cache_control"] = body["cache_control"]
        try:
            tail = segments(tail_body)
        except APIError:
            return None  # the full path gives the error with the right message index
        cut = entry.ends[reuse - 1]
        head = entry.segs[:cut]
        if sum(1 for s in head if s.ttl) + sum(1 for s in tail if s.ttl) > MAX_BREAKPOINTS:
            return None
        segs = head + tail
        running = entry.bounds[cut - 1][1] if cut else 0
        tail_bounds, tail_hashers = self._hash_tail(model, tail, entry.hashers[reuse - 1], running, messages[reuse:])
        bounds = entry.bounds[:cut] + tail_bounds
        ends = entry.ends[:reuse] + [cut + n for n in self._counts(messages[reuse:])]
        hashers = entry.hashers[:reuse] + tail_hashers
        self._remember(body, segs, ends, hashers, bounds)
        return segs, bounds

    @staticmethod
    def _counts(messages: list[Any]) -> list[int]:
        """Cumulative segment counts per message (one segment per content block, one for a string)."""
        out, n = [], 0
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            n += 1 if isinstance(content, str) else len(content or [])
            out.append(n)
        return out

    def _hash_tail(self, model: str, tail: list[Segment], start: Any, running: int,
                   messages: list[Any]) -> tuple[list[tuple[str, int]], list[Any]]:
        """Prefix hashes of the tail's segments, continuing from `start`, and the hasher after each message."""
        bounds: list[tuple[str, int]] = []
        hashers: list[Any] = []
        h = start.copy()
        i = 0
        for end in self._counts(messages):
            part = tail[i:end]
            bounds += prefix_hashes(model, part, h, running)
            running = bounds[-1][1] if bounds else running
            hashers.append(h.copy())
            i = end
        return bounds, hashers

    def _walk(self, model: str, body: dict[str, Any],
              segs: list[Segment]) -> tuple[list[int], list[Any], list[tuple[str, int]]]:
        """For a request computed in full: segment ends per message, hasher after each message, prefix hashes."""
        counts = self._counts(body.get("messages") or [])
        first = len(segs) - (counts[-1] if counts else 0)  # tools and system segments come first
        h = hashlib.sha256(model.encode())
        bounds = prefix_hashes(model, segs[:first], h)
        tail_bounds, hashers = self._hash_tail(model, segs[first:], h, bounds[-1][1] if bounds else 0,
                                               body.get("messages") or [])
        return [first + n for n in counts], hashers, bounds + tail_bounds

    def _remember(self, body: dict[str, Any], segs: list[Segment], ends: list[int], hashers: list[Any],
                  bounds: list[tuple[str, int]]) -> None:
        key = self._key(body)
        if key is None:
            return
        entry = _Entry(body["model"], body.get("tools"), body.get("system"), body["messages"], segs, ends, hashers,
                       bounds)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)
