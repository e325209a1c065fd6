"""Exercises whose answer is a function the learner writes in a stub (Foundations 01-04).

A model-calling stub cannot be probed the way `FunctionTask` probes a pure function (calling it needs a client and
a scenario), so a `CodeTask` reads the function's own source instead: while its body still holds the `...`
placeholder the lesson left in it, the answer is "not attempted". Once the placeholders are gone, the checker runs
the function (usually on a recording offline client, `agentkit.exercises._transcript.run_recorded`) and judges it.

Also here: a fresh seed per check (EXERCISES.md rule 3: perturbed inputs, the seed named in a failure so the learner
can reproduce it) and small builders for the scripted scenarios the checks run on.
"""

from __future__ import annotations

import ast
import inspect
import secrets
import textwrap
from dataclasses import dataclass, replace
from typing import Any, Callable

from agentkit.course.lab import CheckResult, FunctionTask, Task, is_placeholder


def still_a_stub(fn: Any) -> bool:
    """True while a function's body still holds a placeholder: `...` as a statement or value, or the name TODO.

    `...` inside a subscript (`tuple[int, ...]`) is a type, not a placeholder. A function whose source cannot be
    read (built at run time, or sent to another process) counts as written: its check then judges what it does.
    """
    if not callable(fn):
        return False
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    in_types: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            in_types.update(id(n) for n in ast.walk(node.slice))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value is Ellipsis and id(node) not in in_types:
            return True
        if isinstance(node, ast.Name) and node.id == "TODO":
            return True
    return False


@dataclass(frozen=True)
class CodeTask(FunctionTask):
    """A task whose answer is one function the learner completes in a stub; see the module docstring.

    `probes` (optional, as in `FunctionTask`) also catch a stub whose placeholder is hidden from `inspect`."""

    def check(self, answer: Any, lab_id: str = "") -> CheckResult:
        if not is_placeholder(answer) and still_a_stub(answer):
            result = Task.check(self, ..., lab_id)
            return replace(result, message=(
                f"Not finished yet: {getattr(answer, '__name__', 'your function')} still has a `...` placeholder "
                f"where your code goes. Replace each one, then run the cell again. Stuck? Try lab.hint(\"{self.id}\")."))
        return super().check(answer, lab_id)


def fresh_seed() -> int:
    """A seed for one check: different every time, so a hard-coded answer cannot pass twice by luck."""
    return secrets.randbelow(10_000)


def catch_all(name: str, turns: list[dict[str, Any]], after: str = "Done.") -> dict[str, Any]:
    """A scenario that answers every conversation (an exercise's checker owns its own simulator)."""
    scenario: dict[str, Any] = {"name": name, "match": {"user": ""}, "turns": turns}
    if after:
        scenario["after"] = after
    return scenario


def texts_of(content: Any) -> str:
    """All the text in a message's content (a string, or a list of block dicts), joined by newlines."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif block.get("type") == "tool_result":
                parts.append(texts_of(block.get("content")))
    return "\n".join(parts)


def request_text(body: dict[str, Any]) -> str:
    """Everything a request told the model in words: its system prompt and every message's text."""
    system = body.get("system") or ""
    parts = [system if isinstance(system, str) else texts_of(system)]
    parts += [texts_of(m.get("content")) for m in body.get("messages", [])]
    return "\n".join(parts)


def tool_results_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of one (user) message, in order."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


Checker = Callable[[Any], Any]
