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
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .errors import APIError
from .server_tools import referenced_tools
from .usage import MAX_BREAKPOINTS, Segment, prefix_hashes, segments

#: Conversations remembered at once (least recently used go first), and the request bytes they may stand for in
#: all: a conversation full of base64 images must not pin hundreds of megabytes.
MAX_CONVERSATIONS = 256
MAX_MEMO_BYTES = 128 * 1024 * 1024


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
    breakpoints: list[int]  # indices of segments with a cache_control breakpoint
    size: int  # bytes of the request it was made from (for the memory budget)
    loaded: frozenset[str]  # deferred tools a tool search loaded in these messages (they change the tool segments)


@dataclass(frozen=True)
class Match:
    """A remembered request whose first `reuse` messages the new request repeats."""

    entry: _Entry
    reuse: int


class PrefixMemo:
    """The per-conversation memo a `Simulator` keeps; thread-safe."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_bytes: int = MAX_MEMO_BYTES) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_conversations = max_conversations
        self.max_bytes = max_bytes
        self._bytes = 0
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

    def account_inputs(self, body: dict[str, Any], match: Match | None,
                       size: int = 0) -> tuple[list[Segment], list[tuple[str, int]], list[int]]:
        """The request's segments, prefix hashes and breakpoint indices, computing only what the match does not
        cover; remembers the result (`size`: the request's bytes) for the next step."""
        model = body["model"]
        messages = body["messages"]
        if match is not None:
            done = self._extend(body, match, size)
            if done is not None:
                self.hits += 1
                return done
        segs = segments(body)
        ends, hashers, bounds = self._walk(model, body, segs)
        bps = [i for i, s in enumerate(segs) if s.ttl]
        self._remember(body, segs, ends, hashers, bounds, bps, size, frozenset(referenced_tools(messages)))
        return segs, bounds, bps

    # -- internals ----------------------------------------------------------------------------
    def _extend(self, body: dict[str, Any], match: Match,
                size: int) -> tuple[list[Segment], list[tuple[str, int]], list[int]] | None:
        entry, reuse = match.entry, match.reuse
        model, messages = body["model"], body["messages"]
        if not referenced_tools(messages[reuse:]) <= entry.loaded:
            return None  # a tool search in the new messages loads a deferred tool: the tool segments change
        tail_body: dict[str, Any] = {"model": model, "messages": messages[reuse:]}
        if body.get("cache_control") is not None:
            tail_body["cache_control"] = body["cache_control"]
        try:
            tail = segments(tail_body)
        except APIError:
            return None  # the full path gives the error with the right message index
        cut = entry.ends[reuse - 1]
        bps = [i for i in entry.breakpoints if i < cut] + [cut + i for i, s in enumerate(tail) if s.ttl]
        if len(bps) > MAX_BREAKPOINTS:
            return None
        segs = entry.segs[:cut] + tail
        running = entry.bounds[cut - 1][1] if cut else 0
        tail_bounds, tail_hashers = self._hash_tail(model, tail, entry.hashers[reuse - 1], running, messages[reuse:])
        bounds = entry.bounds[:cut] + tail_bounds
        ends = entry.ends[:reuse] + [cut + n for n in self._counts(messages[reuse:])]
        hashers = entry.hashers[:reuse] + tail_hashers
        self._remember(body, segs, ends, hashers, bounds, bps, size, entry.loaded)
        return segs, bounds, bps

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
                  bounds: list[tuple[str, int]], bps: list[int], size: int, loaded: frozenset[str]) -> None:
        key = self._key(body)
        if key is None or size > self.max_bytes // 4:
            return
        entry = _Entry(body["model"], body.get("tools"), body.get("system"), body["messages"], segs, ends, hashers,
                       bounds, bps, size, loaded)
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += size - (old.size if old else 0)
            self._entries[key] = entry
            while len(self._entries) > self.max_conversations or self._bytes > self.max_bytes:
                self._bytes -= self._entries.popitem(last=False)[1].size


# -- parsing: the unchanged prefix of the raw body is not decoded again ------------------------------
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
#: Recent request texts whose message boundaries are remembered, and the characters they may hold in all.
MAX_TEXTS = 32
MAX_TEXT_CHARS = 64 * 1024 * 1024


class _Malformed(Exception):
    """The text is not the object this parser expects; the caller falls back to `json.loads`."""


@dataclass
class _Parsed:
    head: list[tuple[str, Any]]  # top-level items before "messages", in order
    messages: list[Any]
    ends: list[int]  # ends[i]: offset just after message i in the text
    text: str


def _ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]  # a whitespace run may be empty: it always matches


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except ValueError:
        raise _Malformed from None


def _rest_of_messages(text: str, pos: int, messages: list[Any], ends: list[int]) -> int:
    """Parse array elements from `pos` (just after an element, or after '[' when `messages` is empty) up to and
    including the closing ']'; returns the offset after it."""
    pos = _ws(text, pos)
    if not messages:
        if text.startswith("]", pos):
            return pos + 1
        value, pos = _value(text, pos)
        messages.append(value)
        ends.append(pos)
        pos = _ws(text, pos)
    while text.startswith(",", pos):
        value, pos = _value(text, _ws(text, pos + 1))
        messages.append(value)
        ends.append(pos)
        pos = _ws(text, pos)
    if not text.startswith("]", pos):
        raise _Malformed
    return pos + 1


def _members(text: str, pos: int, out: dict[str, Any]) -> None:
    """The top-level object's remaining members from `pos` (after a value, or just after '{' when `out` is
    empty), through the closing '}' and the end of the text."""
    pos = _ws(text, pos)
    first = not out
    while True:
        if first:
            first = False
            if text.startswith("}", pos):
                break
        elif text.startswith(",", pos):
            pos = _ws(text, pos + 1)
        else:
            break
        key, pos = _value(text, pos)
        pos = _ws(text, pos)
        if not isinstance(key, str) or not text.startswith(":", pos):
            raise _Malformed
        value, pos = _value(text, _ws(text, pos + 1))
        out[key] = value
        pos = _ws(text, pos)
    if not text.startswith("}", pos) or _ws(text, pos + 1) != len(text):
        raise _Malformed


class TextMemo:
    """Parses request bodies, decoding only what follows the longest remembered prefix.

    An agent's next request repeats the previous one's text up to the end of its second-to-last message (the
    SDK serialises the same params the same way), so that prefix is compared byte for byte (a C `startswith`)
    and its parsed messages reused; only the new messages and the fields after them are decoded. The parsed
    messages are shared between requests: treat request bodies as read-only (`Simulator.requests` included).
    Anything unusual (no match, odd layout, a syntax error) falls back to `json.loads`, whose errors stand.
    """

    def __init__(self, max_texts: int = MAX_TEXTS, max_chars: int = MAX_TEXT_CHARS) -> None:
        self._texts: OrderedDict[int, tuple[str, _Parsed, int]] = OrderedDict()  # id -> (prefix, parsed, count)
        self._lock = threading.Lock()
        self._next = 0
        self._chars = 0
        self.max_texts = max_texts
        self.max_chars = max_chars
        self.hits = 0

    def parse(self, raw: bytes) -> Any:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return json.loads(raw)  # raises the error the caller reports
        parsed = None
        try:
            parsed = self._incremental(text) or self._fresh(text)
        except (_Malformed, RecursionError):
            parsed = None
        if parsed is None:
            return json.loads(text)
        body: dict[str, Any] = dict(parsed.head)
        body["messages"] = parsed.messages
        after = parsed.ends[-1] if parsed.ends else None
        if after is None:
            return json.loads(text)  # an empty messages array: nothing to remember, let json parse it all
        try:
            _members(text, self._after_array(text, after), body)
        except _Malformed:
            return json.loads(text)
        self._remember(parsed)
        return body

    @staticmethod
    def _after_array(text: str, pos: int) -> int:
        pos = _ws(text, pos)
        if not text.startswith("]", pos):
            raise _Malformed
        return pos + 1

    def _incremental(self, text: str) -> _Parsed | None:
        with self._lock:
            candidates = list(reversed(self._texts.values()))
        for prefix, old, count in candidates:
            if text.startswith(prefix):
                messages = old.messages[:count]
                ends = old.ends[:count]
                _rest_of_messages(text, ends[-1], messages, ends)
                self.hits += 1
                return _Parsed(old.head, messages, ends, text)
        return None

    @staticmethod
    def _fresh(text: str) -> _Parsed | None:
        """Top-level members up to and through "messages", which is parsed element by element."""
        pos = _ws(text, 0)
        if not text.startswith("{", pos):
            return None
        pos = _ws(text, pos + 1)
        head: list[tuple[str, Any]] = []
        while True:
            key, pos = _value(text, pos)
            pos = _ws(text, pos)
            if not isinstance(key, str) or not text.startswith(":", pos):
                raise _Malformed
            pos = _ws(text, pos + 1)
            if key == "messages":
                if not text.startswith("[", pos) or any(k == "messages" for k, _ in head):
                    return None
                messages: list[Any] = []
                ends: list[int] = []
                _rest_of_messages(text, pos + 1, messages, ends)
                return _Parsed(head, messages, ends, text)
            value, pos = _value(text, pos)
            head.append((key, value))
            pos = _ws(text, pos)
            if not text.startswith(",", pos):
                return None  # no "messages" member: nothing to gain
            pos = _ws(text, pos + 1)

    def _remember(self, parsed: _Parsed) -> None:
        if len(parsed.ends) < 2:
            return
        count = len(parsed.ends) - 1  # the last message is never reused (see the module doc)
        if parsed.ends[count - 1] > self.max_chars // 4:
            return  # too big to keep: such a request is parsed in full
        prefix = parsed.text[:parsed.ends[count - 1]]
        with self._lock:
            self._next += 1
            self._chars += len(prefix)
            self._texts[self._next] = (prefix, _Parsed(parsed.head, parsed.messages, parsed.ends, ""), count)
            while len(self._texts) > self.max_texts or self._chars > self.max_chars:
                self._chars -= len(self._texts.popitem(last=False)[1][0])
