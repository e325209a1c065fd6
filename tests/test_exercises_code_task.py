"""agentkit.exercises._code_task: telling a stub from a written function by its source."""

from __future__ import annotations

from agentkit.course.lab import TODO, passed
from agentkit.exercises._code_task import CodeTask, still_a_stub


def stub(client, task):
    answer = ...  # your code
    return answer


def bare_ellipsis(client, task):
    ...


def todo(client, task):
    return TODO


def written(values: tuple[int, ...]) -> int:
    return sum(values)


def test_placeholders_are_found_and_types_are_not_placeholders():
    assert still_a_stub(stub) and still_a_stub(bare_ellipsis) and still_a_stub(todo)
    assert not still_a_stub(written)
    assert not still_a_stub(eval("lambda x: x"))  # no source to read: judged by running it
    assert not still_a_stub(42)


def test_a_code_task_calls_a_stub_not_attempted_and_runs_a_written_function(progress_db):
    task = CodeTask("t", "a task", lambda fn: passed("ran"), "a function")
    result = task.check(stub)
    assert result.status == "not_attempted" and "stub still has a `...` placeholder" in result.message
    assert task.check(written).passed
    assert task.check(...).status == "not_attempted"
