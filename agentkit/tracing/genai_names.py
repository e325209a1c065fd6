"""The GenAI naming check: are a trace's `gen_ai.*` attribute names real OpenTelemetry GenAI names?

`check_genai_attributes(trace)` lists unknown names (with the likely intended one) and retired
names (with their replacement), against the registry snapshot in the installed
semantic-conventions package plus the few newer names the anthropic SDK emits.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.metadata
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan

if TYPE_CHECKING:
    from agentkit.tracing.view import Trace

__all__ = ["GENAI_SOURCE_PACKAGE", "NEWER_GENAI_NAMES", "AttributeCheck", "check_genai_attributes",
           "genai_attribute_names", "genai_source"]

#: Where the list of `gen_ai.*` names comes from. The GenAI conventions moved
#: to their own repository (open-telemetry/semantic-conventions-genai) in 2026
#: without renaming attributes; the Python package below still ships the
#: registry snapshot, marking each name "Moved to" (still current) or
#: "Removed"/"Replaced by" (retired). Checked 2026-11-21.
GENAI_SOURCE_PACKAGE = "opentelemetry-semantic-conventions"

#: Names in the GenAI registry newer than that package's snapshot, which the
#: anthropic SDK 2.11 emits on its `anthropic.messages.create` spans
#: (anthropic/_tracing.py, SPAN_ATTRIBUTES). Typed by hand because no installed
#: package lists them; extend with care, with a source, as the registry grows.
NEWER_GENAI_NAMES: dict[str, str] = {
    "gen_ai.usage.cache_write.input_tokens": "registry name for cache-write tokens (package snapshot: cache_creation)",
    "gen_ai.request.reasoning.level": "requested reasoning effort (Anthropic: output_config.effort)",
}


@functools.lru_cache(maxsize=1)
def genai_attribute_names() -> tuple[frozenset[str], dict[str, str]]:
    """(current names, {retired name: what replaced it}) for `gen_ai.*` attributes.

    Read from the installed semantic-conventions package's source (each
    constant's docstring says whether it moved or was retired), plus
    `NEWER_GENAI_NAMES`.
    """
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as module

    tree = ast.parse(inspect.getsource(module))
    current: set[str] = set(NEWER_GENAI_NAMES)
    retired: dict[str, str] = {}
    body = tree.body
    for i, node in enumerate(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant)):
            continue
        name = node.value.value
        if not (isinstance(name, str) and name.startswith("gen_ai.")):
            continue
        following = body[i + 1] if i + 1 < len(body) else None
        doc = ""
        if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            doc = str(following.value.value).strip()
        if "Removed" in doc:
            retired[name] = "removed, no replacement"
        elif "Replaced by `" in doc:
            retired[name] = "use " + doc.split("Replaced by `", 1)[1].split("`", 1)[0]
        else:
            current.add(name)
    if not current - set(NEWER_GENAI_NAMES):
        raise RuntimeError(f"Found no gen_ai.* names in {module.__file__}; has {GENAI_SOURCE_PACKAGE} changed layout?")
    return frozenset(current), retired


def genai_source() -> str:
    """Which package version (and date) the GenAI name list was derived from."""
    return f"{GENAI_SOURCE_PACKAGE} {importlib.metadata.version(GENAI_SOURCE_PACKAGE)}, checked 2026-11-21"


@dataclass(frozen=True)
class AttributeCheck:
    """Result of `check_genai_attributes`: `unknown` names (with a likely intended name) and `retired` ones."""

    unknown: dict[str, str | None]  # name -> closest real name, if any
    retired: dict[str, str]  # name -> what to use instead
    where: dict[str, list[str]]  # name -> span names it was found on
    source: str

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.retired

    def __str__(self) -> str:
        if self.ok:
            return f"All gen_ai.* attribute names are real GenAI convention names ({self.source})."
        lines = []
        for name, guess in self.unknown.items():
            hint = f" (did you mean {guess}?)" if guess else ""
            lines.append(f"unknown  {name}{hint} on {', '.join(self.where[name])}")
        for name, instead in self.retired.items():
            lines.append(f"retired  {name}: {instead}; on {', '.join(self.where[name])}")
        return "\n".join(lines)


def check_genai_attributes(spans: Trace | Iterable[ReadableSpan]) -> AttributeCheck:
    """Check every `gen_ai.*` attribute name on the spans (and their events) against the GenAI conventions.

    Returns the unknown names (a misspelling such as `gen_ai.usage.input_token`
    or a made-up one) with the closest real name, and retired names (such as
    `gen_ai.system`) with their replacement.
    """
    current, retired_names = genai_attribute_names()
    unknown: dict[str, str | None] = {}
    retired: dict[str, str] = {}
    where: dict[str, list[str]] = {}
    for span in spans:
        keys = list(span.attributes or {})
        for event in span.events:
            keys += list(event.attributes or {})
        for key in keys:
            if not key.startswith("gen_ai.") or key in current:
                continue
            if span.name not in where.setdefault(key, []):
                where[key].append(span.name)
            if key in retired_names:
                retired[key] = retired_names[key]
            else:
                close = difflib.get_close_matches(key, sorted(current), n=1, cutoff=0.9)
                unknown[key] = close[0] if close else None
    return AttributeCheck(unknown=unknown, retired=retired, where=where, source=genai_source())
