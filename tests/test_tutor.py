"""Tests for agentkit.course.tutor: offline BM25 ranking, the live request shape, and the widget."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import agentkit
from agentkit.course.lab import Lab
from agentkit.course.tutor import PassageIndex, Tutor, paragraphs
from agentkit.models import DEFAULT_MODEL
from agentkit.pricing import cost_of

LESSON = """\
# Caching

Prompt caching stores the start of a request. A cache read costs a tenth of the input price.

A cache write costs more than plain input, so a prefix that is never read again loses money.

# Latency

Time to first token grows with the input length. The model then streams output tokens at a steady rate.

# Tools

A tool schema describes the tool's name and parameters. Every schema is sent with every request, and the request grows with each tool.
"""


def test_paragraphs_carry_their_heading():
    found = paragraphs(LESSON)
    assert [p.section for p in found] == ["Caching", "Caching", "Latency", "Tools"]
    assert found[2].text.startswith("Time to first token")


def test_bm25_ranks_the_matching_paragraph_first():
    index = PassageIndex(paragraphs(LESSON))
    best = index.search("how much does a cache read cost", k=2)
    assert best[0].text.startswith("Prompt caching stores")
    assert best[0].score > best[1].score > 0
    assert index.search("time to first token")[0].section == "Latency"
    assert index.search("photosynthesis") == []


def test_rare_words_count_more_than_common_ones():
    index = PassageIndex(paragraphs("alpha common\n\nbeta common\n\ngamma common\n\ncommon common"))
    # "alpha" is in one paragraph, "common" in all four: the alpha paragraph wins.
    assert index.search("alpha common")[0].text == "alpha common"
    assert index.idf["alpha"] > index.idf["common"] > 0


def test_long_paragraphs_are_not_favoured_for_length():
    long = "cache " + " ".join(f"filler{i}" for i in range(60))
    index = PassageIndex(paragraphs(f"{long}\n\ncache write"))
    assert index.search("cache")[0].text == "cache write"


def test_offline_tutor_says_so_and_shows_passages():
    tutor = Tutor(LESSON, title="the caching lesson", live=False)
    answer = tutor.ask("What does a cache read cost?")
    assert answer.mode == "offline"
    assert answer.text.startswith("Offline tutor")
    assert "the caching lesson" in answer.text
    assert answer.passages[0].section == "Caching"
    assert "[1] (Caching)" in repr(answer)
    assert "<blockquote" in answer._repr_html_()
    nothing = tutor.ask("photosynthesis in ferns")
    assert nothing.passages == () and "nothing in the caching lesson matches" in nothing.text


def test_empty_question_and_empty_lesson():
    assert "Type a question first" in Tutor(LESSON, live=False).ask("   ").text
    with pytest.raises(ValueError, match="lesson's text"):
        Tutor("  ", live=False)


def test_without_a_key_the_tutor_is_offline():
    # conftest unsets ANTHROPIC_API_KEY for the session
    assert Tutor(LESSON).mode == "offline"
    simulated = agentkit.client(quiet=True)
    assert Tutor(LESSON, client=simulated).mode == "offline"  # the simulator is not a tutor


class FakeMessages:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[dict] = []
        self.fail = fail

    def create(self, **request):
        self.requests.append(request)
        if self.fail:
            raise ConnectionError("no route to host")
        first = len(self.requests) == 1
        return SimpleNamespace(
            model=request["model"],
            content=[SimpleNamespace(type="text", text=f"Answer {len(self.requests)}")],
            usage=SimpleNamespace(input_tokens=12, output_tokens=30,
                                  cache_creation_input_tokens=900 if first else 0,
                                  cache_read_input_tokens=0 if first else 900),
        )


def test_live_request_caches_the_lesson_as_the_system_prompt():
    fake = SimpleNamespace(messages=FakeMessages())
    tutor = Tutor(LESSON, title="caching", context="Lab: the support agent", client=fake, live=True)
    answer = tutor.ask("Why cache the tools?")
    request = fake.messages.requests[0]
    assert request["model"] == DEFAULT_MODEL and request["max_tokens"] > 0
    assert request["messages"] == [{"role": "user", "content": "Why cache the tools?"}]
    *head, last = request["system"]
    assert last["cache_control"] == {"type": "ephemeral"}
    assert LESSON in last["text"] and "Lab: the support agent" in last["text"]
    assert all("cache_control" not in block for block in head)
    assert answer.mode == "live" and answer.text == "Answer 1" and answer.passages == ()
    assert answer.cost == pytest.approx(cost_of(DEFAULT_MODEL, answer.usage))

    second = tutor.ask("And the system prompt?")
    request2 = fake.messages.requests[1]
    assert request2["system"] == request["system"]  # identical prefix: the cache hits
    assert request2["messages"] == [
        {"role": "user", "content": "Why cache the tools?"},
        {"role": "assistant", "content": "Answer 1"},
        {"role": "user", "content": "And the system prompt?"},
    ]
    assert second.usage["cache_read_input_tokens"] == 900
    assert "900 read from cache" in repr(second)


def test_a_failed_live_call_falls_back_to_the_lesson():
    fake = SimpleNamespace(messages=FakeMessages(fail=True))
    answer = Tutor(LESSON, client=fake, live=True).ask("cache read price")
    assert answer.mode == "offline"
    assert "could not answer (ConnectionError: no route to host)" in answer.text
    assert answer.passages and answer.passages[0].section == "Caching"


def test_from_notebook_reads_only_markdown(tmp_path):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell(LESSON), new_code_cell("secret_code_word = 1")]), path)
    tutor = Tutor.from_notebook(path, live=False)
    assert tutor.title == "lesson"
    assert tutor.ask("secret code word").passages == ()
    assert tutor.ask("tool schema").passages[0].section == "Tools"
    with pytest.raises(FileNotFoundError, match="No lesson notebook"):
        Tutor.from_notebook(tmp_path / "missing.ipynb")


def test_for_lab_uses_the_lesson_notebook_or_the_lab_notes(tmp_path):
    lab = Lab.load("l2_token_cost")
    lab.lesson_notebook = str(tmp_path / "*token_cost*.ipynb")  # no such notebook yet
    tutor = lab.tutor(live=False)
    assert tutor.lesson_text == lab.notes
    assert "step10_input" in tutor.context and "3500" in tutor.context
    nbformat.write(new_notebook(cells=[new_markdown_cell(LESSON)]), tmp_path / "12_token_cost_anatomy.ipynb")
    assert lab.tutor(live=False).lesson_text == LESSON


def test_the_widget_asks_and_shows_the_answer():
    panel = Tutor(LESSON, live=False).show()
    assert "Offline tutor" in panel.children[0].value
    panel.question_box.value = "time to first token"
    panel.ask_button.click()
    assert "Latency" in panel.answer_area.value and "Offline tutor" in panel.answer_area.value
    assert not panel.ask_button.disabled


def test_tutor_is_exported():
    assert agentkit.Tutor is Tutor


def test_live_shape_is_accepted_by_the_simulated_api_and_the_lesson_is_cached():
    """Against the simulator (forced live), the second question reads the lesson from the prompt cache."""
    tutor = Lab.load("l2_token_cost").tutor(client=agentkit.client(quiet=True), live=True)
    first = tutor.ask("Walk me through the step 10 input")
    second = tutor.ask("And what does caching save?")
    assert first.mode == second.mode == "live" and first.text
    written = first.usage["cache_creation_input_tokens"]
    assert written > 1024  # above Sonnet's minimum cacheable prefix, so caching really happens
    assert second.usage["cache_read_input_tokens"] == written
    assert second.usage["cache_creation_input_tokens"] == 0
    assert second.cost < first.cost
