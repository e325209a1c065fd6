"""The 400,000-token coding agent (Lesson 2's case study), rebuilt on the simulator.

As the course tells it, an early coding agent used 6 to 8 times the tokens
its builders expected on complex tasks: every step re-sent the whole
transcript, every earlier tool output and a long system prompt full of coding
guidelines, so a 20-step task passed 400,000 tokens while the reasoning in it
(what the model actually wrote and thought) stayed under 50,000. The fix was
to manage the context window: summarise completed steps instead of passing the
full transcript on.

This module rebuilds that agent so a learner can measure it with the lesson's
own tools (`agentkit.costs.measure_run`) and then measure two fixes:

    client = agentkit.client(scenarios=["coding_agent"])
    run = run_case(client)                          # the original: 20 steps, full transcript
    run.costs.total_tokens, run.costs.output_tokens  # > 400,000 and < 50,000
    compressed = run_case(client, compress=True)     # older tool outputs summarised
    cached = run_case(client, cache=True)            # the prompt cache reads the repeated prefix
    both = run_case(client, compress=True, cache=True)

The agent fixes a rounding bug in a small (made-up) invoicing service with
eight tools: it lists files, reads modules, searches the code, runs the tests
and the linter, edits files and looks at its diff. What the model says is
data (`agentkit/scenarios/coding_agent.yaml`); the repository, the test logs
and the system prompt are generated here, deterministically, at sizes like a
real service's.

`ContextCompressor` is the first fix, written the way a production agent
would: a hook that rewrites each request before it is sent, replacing every
tool output older than the last `keep_last` steps with a short summary that
a cheaper model wrote once. Summaries are not free: their calls are recorded
and counted in the task's cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentkit import sim
from agentkit.clients import is_live

from agentkit.agent import Agent, RunResult, Step
from agentkit.costs import RunCosts, measure_run
from agentkit.models import DEFAULT_MODEL, FAST_MODEL
from agentkit.tools import Tool, tool

__all__ = [
    "TASK",
    "SYSTEM",
    "REPO_FILES",
    "MAX_STEPS",
    "SUMMARY_SYSTEM",
    "ContextCompressor",
    "CaseRun",
    "CodeRepo",
    "build_coding_agent",
    "coding_tools",
    "run_case",
]

#: The task the case study runs (matched by the scenario in coding_agent.yaml).
TASK = (
    "Invoices in the invoice-service are sometimes off by one cent against the tax authority's figures. "
    "Find the cause, fix it, and make the whole test suite pass."
)
#: The scripted task takes 20 model calls; the limit leaves room, as a production agent's would.
MAX_STEPS = 25

# -- the system prompt: a long list of coding guidelines, as the course describes -----------------

_AREAS = (
    "error handling", "logging", "naming", "type hints", "docstrings", "tests", "money and rounding",
    "dates and time zones", "database access", "HTTP handlers", "configuration", "dependencies",
    "security", "performance", "concurrency", "migrations", "feature flags", "observability",
    "code review", "commits",
)
_RULES = (
    "Follow the existing style of the module you are in for {area}; consistency beats personal taste.",
    "Before changing anything that touches {area}, read the tests that cover it and run them once to see them pass.",
    "Keep changes to {area} small and focused: one concern per edit, with a clear reason in the commit message.",
    "When {area} code fails, say what was wrong and how to fix it; never swallow an exception silently.",
    "Do not introduce a new library for {area} without checking that the standard library or an existing "
    "dependency cannot do the job.",
    "Document every non-obvious decision about {area} next to the code, and link the ticket that asked for it.",
    "If a change to {area} affects other teams, list them in the pull request and wait for one of them to review.",
)


def _system_prompt() -> str:
    lines = [
        "You are a careful senior software engineer working as an autonomous coding agent in the invoice-service "
        "repository (Python 3.11, pytest, Decimal for money). Work step by step: look before you edit, run the tests "
        "after every change, and finish with a short report of what you changed and why.",
        "",
        "Coding guidelines (follow all of them):",
    ]
    n = 1
    for area in _AREAS:
        for rule in _RULES:
            lines.append(f"{n}. {rule.format(area=area)}")
            n += 1
    lines.append("")
    lines.append("Use the tools: list_files, read_file, search_code, run_tests, run_linter, edit_file, git_diff, "
                 "read_docs. Never guess a file's content; read it.")
    return "\n".join(lines)


SYSTEM = _system_prompt()

#: The summariser's system prompt (the first fix): short, factual notes on one tool output.
SUMMARY_SYSTEM = (
    "You condense tool outputs for a coding agent's memory. Keep file paths, function names, failing test names "
    "and error messages; drop everything else. Answer in at most three sentences."
)

# -- the repository: generated modules of realistic size ----------------------------------------

_MODULES: dict[str, tuple[str, ...]] = {
    "invoice_service/tax.py": ("line_tax", "invoice_tax", "tax_rate_for", "reverse_charge", "tax_breakdown",
                                "exempt_lines", "tax_by_rate", "round_tax", "tax_summary", "validate_rate",
                                "regional_rate", "tax_report_rows"),
    "invoice_service/currency.py": ("convert", "rate_on", "cached_rate", "to_minor_units", "from_minor_units",
                                     "format_amount", "parse_amount", "currency_exponent", "supported_currencies",
                                     "refresh_rates", "rate_age_seconds", "convert_lines"),
    "invoice_service/invoices.py": ("subtotal", "total", "apply_discounts", "line_amount", "finalise", "void",
                                     "credit_note", "due_date", "is_overdue", "invoice_number", "attach_pdf",
                                     "send_invoice", "reopen"),
    "invoice_service/discounts.py": ("volume_discount", "coupon_discount", "loyalty_discount", "best_discount",
                                      "discount_lines", "validate_coupon", "stack_discounts", "discount_report"),
    "invoice_service/pdf_render.py": ("render_invoice", "render_lines", "render_totals", "render_tax_table",
                                       "page_breaks", "font_for", "render_footer", "render_header", "qr_payload",
                                       "render_credit_note"),
    "invoice_service/api.py": ("create_invoice", "get_invoice", "list_invoices", "finalise_invoice",
                                "void_invoice", "download_pdf", "add_line", "remove_line", "health"),
}
_TESTS: dict[str, int] = {"tests/test_tax.py": 52, "tests/test_currency.py": 41, "tests/test_invoices.py": 58,
                          "tests/test_discounts.py": 30, "tests/test_pdf_render.py": 36, "tests/test_api.py": 47}


def _function_source(module: str, name: str, i: int) -> str:
    kind = ("standard", "reduced", "zero", "exempt")[i % 4]
    return "\n".join([
        f"def {name}(invoice: Invoice, *, currency: str | None = None) -> Decimal:",
        f'    """{name.replace("_", " ").capitalize()} for the {kind}-rate lines of an invoice, in its currency',
        f'    (or `currency`). Used by {module.split("/")[-1][:-3]} callers and the PDF renderer."""',
        f'    lines = [line for line in invoice.lines if line.rate_kind == "{kind}"]',
        "    if not lines:",
        f'        log.debug("no {kind}-rate lines on invoice %s", invoice.number)',
        '        return Decimal("0")',
        "    for line in lines:",
        "        if line.quantity < 0:",
        '            raise ValueError(f"line {line.number} of invoice {invoice.number} has a negative quantity")',
        '    amount = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))',
        "    if currency is not None and currency != invoice.currency:",
        "        amount = convert(amount, invoice.currency, currency, on=invoice.issued_on)",
        f"    return {'round(amount, 2)' if name in ('line_tax', 'round_tax') else 'amount.quantize(CENT, ROUND_HALF_UP)'}",
    ])


def _module_source(path: str, functions: tuple[str, ...]) -> str:
    header = [
        f'"""{path.split("/")[-1][:-3].replace("_", " ").capitalize()}: part of the invoice service."""',
        "",
        "from __future__ import annotations",
        "",
        "from decimal import ROUND_HALF_UP, Decimal",
        "",
        "from invoice_service.currency import convert",
        "from invoice_service.models import Invoice",
        "from invoice_service.logs import log",
        "",
        'CENT = Decimal("0.01")',
        "",
    ]
    body = "\n\n\n".join(_function_source(path, name, i) for i, name in enumerate(functions))
    return "\n".join(header) + "\n\n" + body + "\n"


def _test_source(path: str, count: int) -> str:
    subject = path.split("test_")[-1][:-3]
    out = [f'"""Tests for invoice_service.{subject}."""', "", "from decimal import Decimal", "",
           f"from invoice_service import {subject}", ""]
    for i in range(count):
        out += ["", f"def test_{subject}_case_{i:02d}(sample_invoice):",
                f"    assert {subject}.__name__  # case {i}: {('rounding', 'currency', 'empty invoice', 'discounts')[i % 4]}",
                f'    assert sample_invoice.total() >= Decimal("0")']
    return "\n".join(out) + "\n"


REPO_FILES: dict[str, str] = {
    **{path: _module_source(path, fns) for path, fns in _MODULES.items()},
    **{path: _test_source(path, n) for path, n in _TESTS.items()},
    "docs/rounding.md": (
        "# Rounding\n\nThe tax authority rounds each tax line half-up to the cent, then sums the lines. "
        "Python's round() rounds half to even (banker's rounding): round(Decimal('0.125'), 2) is 0.12, "
        "not 0.13. Always quantize with ROUND_HALF_UP.\n"
    ),
}


class CodeRepo:
    """The repository the agent works on: files in memory, edits applied, tests that fail until the fix lands."""

    def __init__(self) -> None:
        self.files = dict(REPO_FILES)

    @property
    def fixed(self) -> bool:
        return "round(amount, 2)" not in self.files["invoice_service/tax.py"]

    def numbered(self, path: str) -> str:
        if path not in self.files:
            raise FileNotFoundError(f"no file {path!r}; list_files shows what exists")
        return "\n".join(f"{n:4d}  {line}" for n, line in enumerate(self.files[path].splitlines(), 1))

    def test_log(self, target: str) -> str:
        """A pytest-style log of every test under `target`: all pass once tax.py stops using round()."""
        paths = [p for p in _TESTS if p.startswith(target.rstrip("/"))] or list(_TESTS)
        lines = [f"============================= test session starts ==============================",
                 "platform linux -- Python 3.11.9, pytest-8.3.3", "rootdir: /srv/invoice-service",
                 f"collected {sum(_TESTS[p] for p in paths)} items", ""]
        failed: list[str] = []
        for p in paths:
            subject = p.split("test_")[-1][:-3]
            for i in range(_TESTS[p]):
                fails = not self.fixed and subject in ("tax", "invoices", "pdf_render") and i % 4 == 0
                name = f"{p}::test_{subject}_case_{i:02d}"
                lines.append(f"{name} {'FAILED' if fails else 'PASSED'}")
                if fails:
                    failed.append(name)
        if failed:
            lines += ["", "=================================== FAILURES ==================================="]
            for name in failed[:6]:
                lines += [f"____ {name.split('::')[1]} ____",
                          "    assert invoice_tax(sample_invoice) == Decimal('1.13')",
                          "E   AssertionError: assert Decimal('1.12') == Decimal('1.13')",
                          "invoice_service/tax.py:29: in line_tax",
                          "    return round(amount, 2)", ""]
        lines.append(f"==== {len(failed)} failed, {sum(_TESTS[p] for p in paths) - len(failed)} passed in 2.41s ====")
        return "\n".join(lines)


def coding_tools(repo: CodeRepo) -> list[Tool]:
    """The agent's eight tools, bound to `repo`."""

    @tool
    def list_files(directory: str = ".") -> str:
        """List the files under a directory of the repository, one path per line.

        Args:
            directory: a directory relative to the repository root, such as "invoice_service" or "tests".
        """
        prefix = "" if directory in (".", "") else directory.rstrip("/") + "/"
        return "\n".join(sorted(p for p in repo.files if p.startswith(prefix))) or f"(no files under {directory})"

    @tool
    def read_file(path: str) -> str:
        """Read a file of the repository, with line numbers. Use it before editing a file.

        Args:
            path: the file's path relative to the repository root, such as "invoice_service/tax.py".
        """
        return repo.numbered(path)

    @tool
    def search_code(pattern: str) -> str:
        """Search every file for a regular expression; returns path:line: text for each match.

        Args:
            pattern: a Python regular expression, such as "round\\(" or "def convert".
        """
        regex = re.compile(pattern)
        hits = [f"{p}:{n}: {line.strip()}" for p, text in sorted(repo.files.items())
                for n, line in enumerate(text.splitlines(), 1) if regex.search(line)]
        return "\n".join(hits) or "(no matches)"

    @tool
    def run_tests(target: str = "tests") -> str:
        """Run the test suite (or one test file) with pytest and return its log.

        Args:
            target: "tests" for the whole suite, or one file such as "tests/test_tax.py".
        """
        return repo.test_log(target)

    @tool
    def run_linter(path: str) -> str:
        """Run the linter (ruff) and the type checker (mypy) on one file.

        Args:
            path: the file to check, relative to the repository root.
        """
        repo.numbered(path)
        return f"ruff: {path}: All checks passed!\nmypy: Success: no issues found in 1 source file"

    @tool
    def edit_file(path: str, old: str, new: str) -> str:
        """Replace every occurrence of an exact piece of text in a file. Fails if `old` is not found.

        Args:
            path: the file to edit, relative to the repository root.
            old: the exact text to replace (copy it from read_file, without line numbers).
            new: the text to put in its place.
        """
        text = repo.files.get(path)
        if text is None:
            raise FileNotFoundError(f"no file {path!r}")
        count = text.count(old)
        if count == 0:
            raise ValueError(f"the text to replace was not found in {path}; read the file and copy it exactly")
        repo.files[path] = text.replace(old, new)
        return f"Edited {path}: replaced {count} occurrence{'s' if count > 1 else ''}."

    @tool
    def git_diff() -> str:
        """Show the uncommitted changes in the repository as a unified diff."""
        changed = [p for p in repo.files if repo.files[p] != REPO_FILES.get(p)]
        out = []
        for p in changed:
            old, new = REPO_FILES[p].splitlines(), repo.files[p].splitlines()
            out.append(f"--- a/{p}\n+++ b/{p}")
            out += [f"-{a}\n+{b}" for a, b in zip(old, new) if a != b]
        return "\n".join(out) or "(no changes)"

    @tool
    def read_docs(topic: str) -> str:
        """Read the project's documentation on a topic.

        Args:
            topic: a topic such as "rounding".
        """
        path = f"docs/{topic.lower()}.md"
        return repo.files.get(path) or f"(no documentation on {topic!r})"

    return [list_files, read_file, search_code, run_tests, run_linter, edit_file, git_diff, read_docs]


# -- the first fix: summarise completed steps ------------------------------------------------------


def _call_label(block: Any) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in (block.input or {}).items())
    return f"{block.name}({args})"


@dataclass
class ContextCompressor:
    """Replace tool outputs older than the last `keep_last` steps with a model-written summary.

    Register it on an agent (`agent.add_hook("model_start", compressor)`, or
    `build_coding_agent(..., compress=True)`): before each request goes out
    it rewrites `step.request["messages"]`, so what the trace and the cost
    analysis see is what was really sent. Each tool output is summarised once,
    by `model` (a cheaper one), and the summary is reused on every later
    step, so the compressed history stays byte-for-byte stable and can still
    be cached. With `cache=True` it also puts a `cache_control` breakpoint on
    the newest summary: everything up to it is identical on the next step, so
    the next step reads it from the cache.

    `calls` keeps (model, usage) for every summary written: pass them to
    `measure_run(result, extra_usage=compressor.calls)` so the summaries'
    cost counts in the task's.
    """

    client: Any
    model: str = FAST_MODEL
    keep_last: int = 1
    cache: bool = False
    max_tokens: int = 160
    summaries: dict[str, str] = field(default_factory=dict)  # tool_use_id -> summary text
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.keep_last, bool) or not isinstance(self.keep_last, int) or self.keep_last < 0:
            raise ValueError(f"keep_last is how many recent steps keep their tool outputs in full (0 or more); "
                             f"got {self.keep_last!r}.")

    def summarise(self, label: str, output: str) -> str:
        """One summary call: the tool call and its output in, a few sentences out."""
        reply = self.client.messages.create(
            model=self.model, max_tokens=self.max_tokens, system=SUMMARY_SYSTEM,
            messages=[{"role": "user", "content": f"Tool call: {label}\nOutput:\n{output}"}],
        )
        self.calls.append((self.model, reply.usage))
        return "".join(b.text for b in reply.content if b.type == "text").strip()

    def __call__(self, step: Step) -> None:
        messages = step.request["messages"]
        # Indices of user messages that carry tool results, oldest first; keep the newest `keep_last` whole.
        result_turns = [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], list)
                        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"])]
        old = result_turns[: max(0, len(result_turns) - self.keep_last)]
        if not old:
            return
        calls = {b.id: b for m in messages if m["role"] == "assistant" for b in m["content"]
                 if getattr(b, "type", None) == "tool_use"}
        rewritten = list(messages)
        last_block: dict[str, Any] | None = None
        for i in old:
            blocks = []
            for b in messages[i]["content"]:
                if b.get("type") != "tool_result":
                    blocks.append(b)
                    continue
                key = b["tool_use_id"]
                if key not in self.summaries:
                    content = b["content"] if isinstance(b["content"], str) else json.dumps(b["content"])
                    call = calls.get(key)
                    self.summaries[key] = self.summarise(_call_label(call) if call else "a tool", content)
                blocks.append({**b, "content": f"[summary of an earlier output] {self.summaries[key]}"})
            rewritten[i] = {"role": "user", "content": blocks}
            last_block = blocks[-1]
        if self.cache and last_block is not None:
            last = rewritten[old[-1]]
            rewritten[old[-1]] = {"role": "user", "content": [*last["content"][:-1],
                                                              {**last_block, "cache_control": {"type": "ephemeral"}}]}
        step.request["messages"] = rewritten

    @property
    def summary_tokens(self) -> int:
        """Tokens spent writing summaries (their input and output)."""
        return sum(u.input_tokens + u.output_tokens for _, u in self.calls)


# -- building and running the case ---------------------------------------------------------------


def build_coding_agent(
    client: Any, *, compress: bool = False, cache: bool = False, model: str = DEFAULT_MODEL, keep_last: int = 1,
) -> tuple[Agent, ContextCompressor | None]:
    """The case study's agent on a fresh copy of the repository; returns (agent, compressor or None).

    compress: summarise tool outputs older than `keep_last` steps (the first fix).
    cache: prompt caching (the second fix): a breakpoint after the system prompt, so tools + system are cached;
    without compression also a top-level `cache_control`, whose breakpoint follows the end of the conversation
    so each step reads the whole previous request from the cache; with compression the compressor places the
    moving breakpoint on the newest summary instead.
    """
    system: Any = SYSTEM
    options: dict[str, Any] = {}
    if cache:
        system = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
        if not compress:
            options["cache_control"] = {"type": "ephemeral"}
    agent = Agent(client, model=model, system=system, tools=coding_tools(CodeRepo()), max_steps=MAX_STEPS,
                  max_tokens=4096, max_identical_calls=3, name="coding_agent", **options)
    compressor = None
    if compress:
        compressor = ContextCompressor(client, keep_last=keep_last, cache=cache)
        agent.add_hook("model_start", compressor)
    return agent, compressor


@dataclass(frozen=True)
class CaseRun:
    """One run of the case study: the agent's result and its cost anatomy (summaries included)."""

    result: RunResult
    costs: RunCosts
    compressor: ContextCompressor | None = None

    @property
    def steps(self) -> int:
        return len(self.result.steps)

    @property
    def summary_cost(self) -> float:
        """Dollars spent on summaries (the first fix's own cost)."""
        return self.costs.extra_cost

    @property
    def tests_pass(self) -> bool:
        """Whether the last test run of the task was green: a cheaper run must still do the job."""
        runs = [c.output for c in self.result.tool_calls if c.name == "run_tests"]
        return bool(runs) and " 0 failed" in str(runs[-1])


@contextmanager
def _untimed(client: Any) -> Iterator[None]:
    """Formerly: skip the simulator's real (scaled) sleeping. Nothing sleeps any more (simulated seconds move the
    kit's clock only), so this does nothing; kept for callers that still wrap a run in it."""
    yield


def run_case(client: Any, *, compress: bool = False, cache: bool = False, model: str = DEFAULT_MODEL,
             keep_last: int = 1) -> CaseRun:
    """Run the case study's task once and measure it (see `build_coding_agent` for the options)."""
    agent, compressor = build_coding_agent(client, compress=compress, cache=cache, model=model, keep_last=keep_last)
    result = agent.run(TASK)  # offline nothing sleeps: simulated seconds move the kit's clock only
    extra = compressor.calls if compressor is not None else ()
    return CaseRun(result, measure_run(result, extra_usage=extra), compressor)
