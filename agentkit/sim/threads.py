"""Server-side message threads (beta `message-threads-2026-08-12`): the server keeps the conversation.

A request with `thread: {"type": "create"}` starts a thread; one with `{"type": "continue",
"previous_message_id": ...}` sends only the new turn and the server prepends the history, system prompt
and tools it kept. Only the latest reply of a thread can be continued (`thread_already_continued`), and a
thread the server no longer holds is `thread_not_found` (the SDK then replays the full history under a
new thread). The store is bounded: past `kept` threads the oldest goes, with exactly that semantics.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from .errors import APIError, invalid

BETA = "message-threads-2026-08-12"


@dataclass
class Thread:
    """What the server keeps of one thread: the conversation so far and what it was created with."""

    system: Any
    tools: Any
    model: str
    messages: list[dict[str, Any]]
    last_id: str  # the id of the latest reply, the only one that can be continued


class ThreadStore:
    """The threads one `Simulator` holds, at most `kept` of them (oldest evicted first); thread-safe."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._threads: dict[str, Thread] = {}
        self._by_reply: dict[str, str] = {}  # reply id -> thread key
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._threads)

    def __contains__(self, key: object) -> bool:
        return key in self._threads

    def clear(self) -> None:
        """Drop every thread, as if the server lost them."""
        with self._lock:
            self._threads.clear()
            self._by_reply.clear()

    def expand(self, data: dict[str, Any], headers: dict[str, str],
               new_id: Callable[[str], str]) -> tuple[str | None, dict[str, Any]]:
        """For a threaded request, the thread it belongs to and the full conversation the model sees; for any other
        request, (None, the body unchanged). Raises the API's errors for a bad `thread` field."""
        thread = data.get("thread")
        if thread is None:
            return None, data
        if BETA not in headers.get("anthropic-beta", ""):
            raise invalid(f"thread: requires the beta header 'anthropic-beta: {BETA}'")
        if not isinstance(thread, dict) or thread.get("type") not in ("create", "continue"):
            raise invalid("thread: must be {\"type\": \"create\"} or {\"type\": \"continue\", "
                          "\"previous_message_id\": ...}")
        body = {k: v for k, v in data.items() if k != "thread"}
        if thread["type"] == "create":
            return new_id("thr"), body
        prev = thread.get("previous_message_id")
        with self._lock:
            key = self._by_reply.get(prev) if isinstance(prev, str) else None
            t = self._threads.get(key) if key else None
            if t is None:
                raise APIError(f"thread.previous_message_id: no thread holds message {prev!r}", "not_found_error",
                               details={"error_code": "thread_not_found"})
            if t.last_id != prev:
                raise invalid(f"thread.previous_message_id: {prev!r} was already continued; continue from "
                              f"{t.last_id!r}", details={"error_code": "thread_already_continued"})
        for name in ("system", "tools"):
            if name in body:
                raise invalid(f"{name}: cannot be sent when continuing a thread; the thread keeps the one it was "
                              "created with")
        if t.system is not None:
            body["system"] = t.system
        if t.tools is not None:
            body["tools"] = t.tools
        body["messages"] = [*t.messages, *(body.get("messages") or [])]
        return key, body

    def store(self, key: str, body: dict[str, Any], message: dict[str, Any]) -> None:
        """Keep the conversation `body` plus the reply `message` as thread `key`'s latest state."""
        reply = {"role": "assistant", "content": message["content"]}
        with self._lock:
            self._threads[key] = Thread(system=body.get("system"), tools=body.get("tools"), model=body["model"],
                                        messages=[*body["messages"], reply], last_id=message["id"])
            self._by_reply[message["id"]] = key
            while len(self._threads) > self.kept:  # the oldest thread goes: its next continue is not found
                del self._threads[next(iter(self._threads))]
            while len(self._by_reply) > self.kept * 10:
                del self._by_reply[next(iter(self._by_reply))]
