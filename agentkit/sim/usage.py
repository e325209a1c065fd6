"""Token usage and prompt caching, accounted as the Messages API documents them.

The request is flattened, in the API's prefix order (tools, then system, then
messages), into segments with a token estimate each. A `cache_control`
breakpoint caches the prefix that ends at its segment. A later request whose
prefix up to a breakpoint is identical (same model, unexpired) reads it:
`cache_read_input_tokens`. The first request with that prefix writes it:
`cache_creation_input_tokens`. `input_tokens` counts only what is left, so the
three add up to the whole prompt (the GenAI convention's
`gen_ai.usage.input_tokens` is that sum).

Counts are estimates in the request model's tokenizer generation (see
`agentkit.tokens`): the same prompt counts ~30% more on newer models.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .. import models as _models
from ..tokens import count_tokens
from .errors import invalid
from .server_tools import referenced_tools

MESSAGE_OVERHEAD = 3  # role and turn markers per message
IMAGE_TOKENS = 1_600  # a typical image, as the vision docs estimate for ~1.15 MP
MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
# Shortest prefix the API will cache, per model (shorter ones are silently not cached); from the data file.
MIN_CACHEABLE = {m: _models.info(m).min_cacheable_tokens for m in _models.MODELS}


@dataclass(frozen=True)
class Segment:
    tokens: int
    key: str  # canonical text, for prefix hashing
    ttl: str | None  # cache_control ttl if this segment ends a breakpoint


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    creation_5m: int = 0
    creation_1h: int = 0

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def as_dict(self, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.creation_5m,
                "ephemeral_1h_input_tokens": self.creation_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _strip_cc(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _ttl(block: Any, where: str) -> str | None:
    cc = block.get("cache_control") if isinstance(block, dict) else None
    if cc is None:
        return None
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        raise invalid(f"{where}.cache_control: type must be 'ephemeral'")
    ttl = cc.get("ttl", "5m")
    if ttl not in TTL_SECONDS:
        raise invalid(f"{where}.cache_control.ttl: must be '5m' or '1h', got {ttl!r}")
    return ttl


def block_tokens(block: Any, model: str | None = None) -> int:
    """Token estimate of one content block (or a plain string), in `model`'s tokenizer generation."""
    if isinstance(block, str):
        return count_tokens(block, model)
    kind = block.get("type")
    if kind == "text":
        return count_tokens(block.get("text", ""), model)
    if kind in ("tool_use", "server_tool_use"):
        return count_tokens(block.get("name", ""), model) + count_tokens(block.get("input", {}), model)
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return sum(block_tokens(b, model) for b in content) + 2
        return count_tokens(content, model) + 2
    if kind == "image":
        return IMAGE_TOKENS
    if kind in ("thinking", "redacted_thinking"):
        return count_tokens(block.get("thinking", block.get("data", "")), model)
    return count_tokens(_strip_cc(block), model)


def segments(body: dict[str, Any]) -> list[Segment]:
    """The request as prefix-ordered segments: each tool, each system block, each message block."""
    model = body.get("model")
    out: list[Segment] = []
    loaded = referenced_tools(body.get("messages") or [])
    for i, t in enumerate(body.get("tools") or []):
        if isinstance(t, dict) and t.get("defer_loading") is True and t.get("name") not in loaded:
            continue  # a deferred tool's schema reaches the model only once a tool search loads it
        clean = _strip_cc(t)
        out.append(Segment(count_tokens(clean, model), "T" + _canon(clean), _ttl(t, f"tools.{i}")))
    system = body.get("system")
    if isinstance(system, str) and system:
        out.append(Segment(count_tokens(system, model), "S" + system, None))
    elif isinstance(system, list):
        for i, b in enumerate(system):
            out.append(Segment(block_tokens(b, model), "S" + _canon(_strip_cc(b)), _ttl(b, f"system.{i}")))
    for m_i, msg in enumerate(body.get("messages") or []):
        content = msg.get("content")
        blocks = [content] if isinstance(content, str) else list(content or [])
        for b_i, b in enumerate(blocks):
            overhead = MESSAGE_OVERHEAD if b_i == 0 else 0
            out.append(Segment(block_tokens(b, model) + overhead, f"M{msg.get('role')}{b_i}" + _canon(_strip_cc(b)),
                               _ttl(b, f"messages.{m_i}.content.{b_i}")))
    top = body.get("cache_control")
    if top is not None and out and out[-1].ttl is None:
        # Top-level cache_control: the API puts the breakpoint on the last cacheable block.
        last = out[-1]
        out[-1] = Segment(last.tokens, last.key, _ttl({"cache_control": top}, "cache_control"))
    n = sum(1 for s in out if s.ttl)
    if n > MAX_BREAKPOINTS:
        raise invalid(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {n}.")
    return out


def input_tokens(body: dict[str, Any]) -> int:
    return sum(s.tokens for s in segments(body))


LOOKBACK = 20  # block boundaries checked before each breakpoint, as the API does


def prefix_hashes(model: str, segs: list[Segment], start: Any = None,
                  running: int = 0) -> list[tuple[str, int]]:
    """(hash of the prefix, its tokens) after each segment: the keys the prompt cache stores prefixes under.
    `start` is a hasher already fed an earlier prefix (with `running` tokens) to continue from; it is fed
    these segments in place."""
    h = start if start is not None else hashlib.sha256(model.encode())
    out: list[tuple[str, int]] = []
    for s in segs:
        h.update(s.key.encode())
        h.update(b"\x00")
        running += s.tokens
        out.append((h.copy().hexdigest(), running))
    return out


#: Most prefixes the cache holds at once; past it, the entries closest to expiry go first.
MAX_CACHE_ENTRIES = 20_000
PRUNE_EVERY = 256  # accounted requests between sweeps for expired entries


@dataclass
class PromptCache:
    """Cached prefixes by hash, with expiry on the simulator's clock. Expired entries are swept out every
    `PRUNE_EVERY` requests and the table never holds more than `MAX_CACHE_ENTRIES`, so a long session's memory
    stays bounded (an evicted prefix is simply written again, as after an expiry)."""

    entries: dict[str, tuple[float, str]] = field(default_factory=dict)  # prefix hash -> (expires_at, ttl)
    lock: threading.Lock = field(default_factory=threading.Lock)
    max_entries: int = MAX_CACHE_ENTRIES
    _since_prune: int = 0

    def _prune(self, now: float) -> None:
        """Drop expired entries (every PRUNE_EVERY calls), and the soonest-expiring ones past the cap."""
        self._since_prune += 1
        if self._since_prune < PRUNE_EVERY and len(self.entries) <= self.max_entries:
            return
        self._since_prune = 0
        self.entries = {k: v for k, v in self.entries.items() if v[0] >= now}
        if len(self.entries) > self.max_entries:
            keep = sorted(self.entries.items(), key=lambda kv: kv[1][0])[-(self.max_entries * 3 // 4):]
            self.entries = dict(keep)

    def account(self, model: str, segs: list[Segment], now: float,
                boundaries: list[tuple[str, int]] | None = None, breakpoints: list[int] | None = None) -> Usage:
        """Usage for a request made at simulated time `now`; records reads and writes.

        Reads: for each breakpoint, latest first, the API checks that boundary and up to 20 block boundaries
        before it for a cached prefix, and reads the longest one found (so a breakpoint moved forward each turn
        reads what the previous turn wrote). Writes: every breakpoint after the hit whose prefix is long enough.
        `boundaries` (`prefix_hashes(model, segs)`) and `breakpoints` (indices of segments with a ttl) are passed
        when the caller has them already (see `sim.prefix`), so a long history is not walked again.
        """
        minimum = MIN_CACHEABLE.get(model, 1024)
        if boundaries is None:
            boundaries = prefix_hashes(model, segs)
        total = boundaries[-1][1] if boundaries else 0
        if breakpoints is None:
            breakpoints = [i for i, s in enumerate(segs) if s.ttl]
        read, hit = 0, -1
        created_5m = created_1h = 0
        with self.lock:
            self._prune(now)
            for bp in reversed(breakpoints):
                for j in range(bp, max(-1, bp - LOOKBACK - 1), -1):
                    key = boundaries[j][0]
                    entry = self.entries.get(key)
                    if entry is not None and entry[0] >= now:
                        hit, read = j, boundaries[j][1]
                        self.entries[key] = (now + TTL_SECONDS[entry[1]], entry[1])  # a read refreshes it
                        break
                if hit >= 0:
                    break
            covered = read
            for bp in breakpoints:
                key, tokens = boundaries[bp]
                ttl = segs[bp].ttl or "5m"
                if bp <= hit or tokens < minimum:
                    continue
                self.entries[key] = (now + TTL_SECONDS[ttl], ttl)
                if ttl == "1h":
                    created_1h += tokens - covered
                else:
                    created_5m += tokens - covered
                covered = tokens
        created = created_5m + created_1h
        return Usage(input_tokens=total - read - created, cache_creation_input_tokens=created,
                     cache_read_input_tokens=read, creation_5m=created_5m, creation_1h=created_1h)
