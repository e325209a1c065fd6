"""Tests for agentkit.memory: working notes, the SQLite lesson store (and its failure modes), reflection,
runs improving with lessons, and static knowledge with citations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import agentkit
from agentkit import Agent
from agentkit import memory as memory_module
from agentkit.cases.support import LATE_ORDER_EMAIL, POLICY_DOCS, lookup_order, reply_checks
from agentkit.memory import Knowledge, LessonStore, MemoryStoreError, Notes, check_citations, reflect

ROLE = "You answer customer emails for Northwind Clothing's delivery desk. Sign off as 'Northwind Support'."
FEEDBACK = [
    "You should have refunded the shipping fee: that is our policy for late deliveries.",
    "Give the tracking number, so the customer can follow the parcel.",
    "Customers want a firm date.",  # a wrong piece of feedback
]
CHECKS = ("names_order", "refunds_shipping", "gives_tracking", "no_promised_date")

# these tests read simulated time, so calls need not really sleep
pytestmark = pytest.mark.usefixtures("no_latency")


def test_notes_are_shared_between_agents_through_their_tools():
    notes = Notes()
    write, read = notes.tools("researcher")
    assert write.invoke({"text": "Warm-up page is down today."}).content.startswith("noted (1")
    notes.write("writer", "Draft 1 done.")
    assert [n.author for n in notes.read()] == ["researcher", "writer"]
    assert "[researcher] Warm-up page is down today." in notes.tools("writer")[1].invoke({}).content
    assert [n.text for n in notes.read("writer")] == ["Draft 1 done."]
    with pytest.raises(ValueError, match="text"):
        notes.write("x", "  ")


def test_lessons_persist_between_stores_and_load_into_the_prompt(tmp_path):
    path = tmp_path / "mem" / "lessons.sqlite"
    store = LessonStore(path)
    first = store.add("reply", "Refund the shipping fee when late.", "run 1")
    assert store.add("reply", "Refund the shipping fee when late.", "run 2") == first  # stored once
    store.add("other", "Unrelated.", "run 1")
    again = LessonStore(path)
    assert [lesson.text for lesson in again.lessons("reply")] == ["Refund the shipping fee when late."]
    assert again.prompt("reply").startswith("<lessons>") and "Refund the shipping" in again.prompt("reply")
    assert again.prompt("nothing-yet") == ""
    assert again.forget(first.id).text == first.text and again.lessons("reply") == []
    with pytest.raises(KeyError, match="no lesson with id 99"):
        again.forget(99)
    with pytest.raises(ValueError, match="task name and some text"):
        again.add("reply", " ", "x")


def test_a_corrupt_store_is_a_clear_error_and_left_untouched(tmp_path):
    path = tmp_path / "lessons.sqlite"
    path.write_bytes(b"this is not a database, but it is someone's data" * 20)
    before = path.read_bytes()
    with pytest.raises(MemoryStoreError, match="not a readable lesson store.*left untouched"):
        LessonStore(path)
    assert path.read_bytes() == before


def test_another_programs_database_is_not_taken_over(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(MemoryStoreError, match="not a lesson store.*no 'lessons' table"):
        LessonStore(path)
    assert path.read_bytes() == before


def test_a_read_only_store_reads_and_refuses_writes_without_losing_the_lesson(tmp_path, monkeypatch):
    path = tmp_path / "lessons.sqlite"
    LessonStore(path).add("reply", "Give the tracking number.", "run 2")
    before = path.read_bytes()
    real_access = os.access
    # As root, chmod does not stop writes: deny write access through the check the store makes.
    monkeypatch.setattr(memory_module.os, "access",
                        lambda p, mode: False if mode == os.W_OK and Path(p) in (path, path.parent)
                        else real_access(p, mode))
    store = LessonStore(path)
    assert not store.writable
    assert [lesson.text for lesson in store.lessons()] == ["Give the tracking number."]
    with pytest.raises(MemoryStoreError, match="read-only, so this lesson was not saved") as info:
        store.add("reply", "Refund the shipping fee.", "run 3")
    assert info.value.unsaved.text == "Refund the shipping fee."  # nothing lost: the caller still has it
    with pytest.raises(MemoryStoreError, match="read-only.*intact"):
        store.forget(1)
    assert path.read_bytes() == before


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(MemoryStoreError, match="cannot create the lesson store"):
        LessonStore(blocker / "lessons.sqlite")


def _run(client, store):
    agent = Agent(client, system=ROLE + "\n\n" + store.prompt("late_reply"), tools=[lookup_order])
    result = agent.run(LATE_ORDER_EMAIL)
    checks = reply_checks(result.text)
    return result, sum(checks[c] for c in CHECKS)


def test_runs_improve_with_lessons_and_a_wrong_lesson_hurts_until_forgotten():
    client = agentkit.client(scenarios=["f05_memory"], quiet=True)
    store = LessonStore()
    scores = []
    for i in range(3):
        result, score = _run(client, store)
        scores.append(score)
        store.add("late_reply", reflect(client, LATE_ORDER_EMAIL, result.text, FEEDBACK[i]).lesson, f"run {i + 1}")
    scores.append(_run(client, store)[1])  # run 4 applies the wrong lesson
    wrong = next(lesson for lesson in store.lessons() if "tomorrow" in lesson.text)
    assert wrong.source == "run 3"
    store.forget(wrong.id)
    scores.append(_run(client, store)[1])
    assert scores == [2, 3, 4, 3, 4]  # out of 4 checks, the figures Foundations 05 shows


def test_reflect_needs_feedback():
    with pytest.raises(ValueError, match="feedback"):
        reflect(agentkit.client(quiet=True), "task", "output", " ")


def test_knowledge_search_and_citations():
    knowledge = Knowledge(POLICY_DOCS)
    assert [p.id for p in knowledge.search("how long can I return a faulty item")][0] == "returns#2"
    assert knowledge.get("shipping#2").text.startswith("When a delivery is late")
    with pytest.raises(KeyError, match="no passage"):
        knowledge.get("returns#9")
    with pytest.raises(ValueError, match="meaningful word"):
        knowledge.search("the and of")
    found = check_citations("Yes [returns#2], and [returns#7].", knowledge)
    assert found == {"cited": ["returns#2", "returns#7"], "unknown": ["returns#7"], "has_citations": True}
    with pytest.raises(ValueError, match="at least one document"):
        Knowledge({})


def test_an_agent_retrieves_and_cites_real_passages():
    client = agentkit.client(scenarios=["f05_memory"], quiet=True)
    knowledge = Knowledge(POLICY_DOCS)
    result = Agent(client, tools=[knowledge.tool()]).run("Can I return a scarf I've worn?")
    citations = check_citations(result.text, knowledge)
    assert citations["cited"] == ["returns#1", "returns#2"] and citations["unknown"] == []
    assert "returns#2" in result.tool_calls[0].output
