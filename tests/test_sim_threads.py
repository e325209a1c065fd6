"""Tests for agentkit.sim.threads: the server-side thread store on its own (the SDK path is in test_sim_core.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agentkit.sim.errors import APIError
from agentkit.sim.threads import BETA, ThreadStore

BETA_HEADERS = {"anthropic-beta": f"other-beta,{BETA}"}


def ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{next(counter)}"


def reply(msg_id: str, text: str) -> dict[str, Any]:
    return {"id": msg_id, "content": [{"type": "text", "text": text}]}


def error_of(excinfo: pytest.ExceptionInfo[APIError]) -> tuple[str, str | None]:
    return excinfo.value.type, (excinfo.value.details or {}).get("error_code")


def test_a_request_without_thread_passes_through_untouched():
    store, body = ThreadStore(kept=3), {"model": "m", "messages": []}
    assert store.expand(body, {}, ids()) == (None, body)


def test_create_store_continue_prepends_what_the_thread_kept():
    store, new_id = ThreadStore(kept=3), ids()
    key, body = store.expand({"model": "m", "system": "Be brief.", "tools": [{"name": "t"}], "thread": {"type": "create"},
                              "messages": [{"role": "user", "content": "Hi"}]}, BETA_HEADERS, new_id)
    assert key == "thr_1" and "thread" not in body
    store.store(key, body, reply("msg_a", "Hello"))
    again, full = store.expand({"model": "m", "thread": {"type": "continue", "previous_message_id": "msg_a"},
                                "messages": [{"role": "user", "content": "More"}]}, BETA_HEADERS, new_id)
    assert again == key and full["system"] == "Be brief." and full["tools"] == [{"name": "t"}]
    assert [m["content"] for m in full["messages"]] == ["Hi", [{"type": "text", "text": "Hello"}], "More"]
    store.store(key, full, reply("msg_b", "Sure"))
    # only the latest reply can be continued
    with pytest.raises(APIError) as info:
        store.expand({"thread": {"type": "continue", "previous_message_id": "msg_a"}}, BETA_HEADERS, new_id)
    assert error_of(info) == ("invalid_request_error", "thread_already_continued") and "msg_b" in info.value.message


@pytest.mark.parametrize("data, headers, message", [
    ({"thread": {"type": "create"}}, {}, "requires the beta header"),
    ({"thread": {"type": "fork"}}, BETA_HEADERS, "must be {\"type\": \"create\"}"),
    ({"thread": "create"}, BETA_HEADERS, "must be {\"type\": \"create\"}"),
])
def test_bad_thread_fields_get_the_apis_400(data, headers, message):
    with pytest.raises(APIError) as info:
        ThreadStore(kept=3).expand(data, headers, ids())
    assert info.value.status == 400 and message in info.value.message


def test_continuing_cannot_resend_system_or_tools():
    store, new_id = ThreadStore(kept=3), ids()
    key, body = store.expand({"model": "m", "thread": {"type": "create"}, "messages": []}, BETA_HEADERS, new_id)
    store.store(key, body, reply("msg_a", "x"))
    for name in ("system", "tools"):
        with pytest.raises(APIError, match=f"{name}: cannot be sent when continuing"):
            store.expand({name: [], "thread": {"type": "continue", "previous_message_id": "msg_a"}}, BETA_HEADERS,
                         new_id)


def test_the_oldest_thread_is_evicted_and_then_not_found():
    store, new_id = ThreadStore(kept=2), ids()
    for i in range(3):
        key, body = store.expand({"model": "m", "thread": {"type": "create"}, "messages": []}, BETA_HEADERS, new_id)
        store.store(key, body, reply(f"msg_{i}", "x"))
    assert len(store) == 2 and "thr_1" not in store and "thr_3" in store
    with pytest.raises(APIError) as info:
        store.expand({"thread": {"type": "continue", "previous_message_id": "msg_0"}}, BETA_HEADERS, new_id)
    assert info.value.status == 404 and error_of(info) == ("not_found_error", "thread_not_found")
    store.clear()
    assert len(store) == 0
    with pytest.raises(APIError, match="no thread holds"):
        store.expand({"thread": {"type": "continue", "previous_message_id": "msg_2"}}, BETA_HEADERS, new_id)
