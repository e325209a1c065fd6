"""Server tools: web search, web fetch and tool search, run "on the API's side" inside one reply.

A client tool comes back as `tool_use` for your code to run. A server tool runs inside the API: the
reply itself holds the `server_tool_use` block, its result block (`web_search_tool_result`,
`web_fetch_tool_result`, `tool_search_tool_result`) and then the model's answer, with `citations` on
the text that quotes a search result. `usage.server_tool_use` counts the searches and fetches, and
`agentkit.pricing` bills web searches per use ($10 per 1,000 on the pricing page).

Results come from a small offline corpus (`agentkit/data/web_corpus.yaml`, plus any `corpus:` a
scenario adds), ranked by word overlap with the query, so every run returns the same pages.

Tool search: tools marked `defer_loading: true` are not shown to the model (nor counted as input
tokens) until a tool search (`tool_search_tool_regex_*` / `tool_search_tool_bm25_*`) returns a
`tool_reference` to them; the simulated model searches first, then calls the tool it found.

Your own search tool works too (the SDK's `tools_runner_search_tool` example): a client tool whose
`tool_result` holds `tool_reference` blocks loads those tools the same way.

`pause_turn`: a turn that scripts more than `MAX_ITERATIONS` (10) server-tool calls stops after ten
with `stop_reason: pause_turn`, as the API pauses a long server-tool loop (a scenario can also script
`stop_reason: pause_turn` itself); sending the reply back as the last assistant message
lets the model continue.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterable, Sequence

import yaml

from .errors import invalid
from .request import MessagesRequest

SEARCH_PREFIX, FETCH_PREFIX = "web_search_", "web_fetch_"
TOOL_SEARCH_PREFIXES = ("tool_search_tool_regex_", "tool_search_tool_bm25_")
MAX_RESULTS = 3
#: server-tool calls one reply runs before the API pauses the turn (stop_reason "pause_turn")
MAX_ITERATIONS = 10
_WORD = re.compile(r"[a-z0-9]+")
_URL = re.compile(r"https?://[^\s)\"'>]+")


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    text: str
    page_age: str | None = None


@lru_cache(maxsize=1)
def corpus() -> tuple[Page, ...]:
    """The built-in offline corpus."""
    raw = yaml.safe_load(resources.files("agentkit").joinpath("data/web_corpus.yaml").read_text(encoding="utf-8"))
    return tuple(Page(p["url"], p["title"], " ".join(p["text"].split()), p.get("page_age")) for p in raw["pages"])


def page_from(data: Any, where: str) -> Page:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("url", "title", "text")):
        raise ValueError(f"{where}: a corpus page needs url, title and text strings")
    return Page(data["url"], data["title"], " ".join(data["text"].split()), data.get("page_age"))


def kind_of(tool: Any) -> str | None:
    """'web_search', 'web_fetch', 'tool_search' or None (a client tool)."""
    t = tool.get("type") if isinstance(tool, dict) else None
    if not isinstance(t, str):
        return None
    if t.startswith(SEARCH_PREFIX):
        return "web_search"
    if t.startswith(FETCH_PREFIX):
        return "web_fetch"
    if t.startswith(TOOL_SEARCH_PREFIXES):
        return "tool_search"
    return None


def validate(req: MessagesRequest) -> None:
    """The API's 400s for server-tool definitions and deferred loading."""
    tools = [t for t in req.tools or [] if isinstance(t, dict)]
    deferred = [t.get("name") for t in tools if t.get("defer_loading") is True]
    for i, t in enumerate(tools):
        kind = kind_of(t)
        if kind in ("web_search", "web_fetch"):
            if t.get("name") != kind:
                raise invalid(f"tools.{i}.name: Input should be {kind!r} for a {t['type']} tool")
            uses = t.get("max_uses")
            if uses is not None and (not isinstance(uses, int) or isinstance(uses, bool) or uses < 1):
                raise invalid(f"tools.{i}.max_uses: Input should be a whole number greater than or equal to 1")
            if t.get("allowed_domains") and t.get("blocked_domains"):
                raise invalid(f"tools.{i}: use either allowed_domains or blocked_domains, not both")
        if kind == "tool_search" and t.get("defer_loading"):
            raise invalid(f"tools.{i}: the tool search tool itself cannot be deferred")
    # A deferred tool is loaded by a server tool search, or by your own search tool returning tool_reference
    # blocks in its tool_result (the SDK's tools_runner_search_tool example), so either is enough.
    if deferred and all(t.get("defer_loading") is True for t in tools if kind_of(t) != "tool_search"):
        raise invalid("tools: at least one tool must not be deferred (defer_loading: false or omitted)")


def referenced_tools(messages: Iterable[dict[str, Any]]) -> set[str]:
    """Deferred tools already loaded by a tool search earlier in the conversation."""
    found: set[str] = set()
    for m in messages:
        blocks = m.get("content")
        for b in blocks if isinstance(blocks, list) else []:
            if not isinstance(b, dict):
                continue
            refs: list[Any] = []
            if b.get("type") == "tool_search_tool_result" and isinstance(b.get("content"), dict):
                refs = b["content"].get("tool_references") or []
            elif b.get("type") == "tool_result" and isinstance(b.get("content"), list):
                refs = b["content"]  # a client-side search tool answers with tool_reference blocks
            for ref in refs:
                if isinstance(ref, dict) and ref.get("type") == "tool_reference" and isinstance(ref.get("tool_name"), str):
                    found.add(ref["tool_name"])
    return found


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def _domain(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def _allowed(page: Page, tool: dict[str, Any]) -> bool:
    domain = _domain(page.url)
    allowed, blocked = tool.get("allowed_domains"), tool.get("blocked_domains")
    if allowed:
        return any(domain == d or domain.endswith("." + d) for d in allowed)
    if blocked:
        return not any(domain == d or domain.endswith("." + d) for d in blocked)
    return True


def search(query: str, pages: Sequence[Page], tool: dict[str, Any]) -> list[Page]:
    """The pages that best match `query` (word overlap with title and text), best first."""
    wanted = _words(query)
    scored = []
    for i, p in enumerate(pages):
        if not _allowed(p, tool):
            continue
        score = 3 * len(wanted & _words(p.title)) + len(wanted & _words(p.text))
        if score > 0:
            scored.append((-score, i, p))
    return [p for _, _, p in sorted(scored)[:MAX_RESULTS]]


def _opaque(*parts: str) -> str:
    return base64.b64encode("\x1f".join(parts).encode()).decode()


def first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text[:200]


@dataclass
class Outcome:
    """What the server tools added to one reply."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    cited: list[Page] = field(default_factory=list)  # pages the answer can cite, in order
    searches: int = 0
    fetches: int = 0
    read_text: list[str] = field(default_factory=list)  # result text the model read (billed as input)
    loaded: list[str] = field(default_factory=list)  # deferred tools a tool search loaded in this reply

    def usage(self) -> dict[str, int] | None:
        if not (self.searches or self.fetches):
            return None
        return {"web_search_requests": self.searches, "web_fetch_requests": self.fetches}


def run_searches(queries: Sequence[str], tool: dict[str, Any], pages: Sequence[Page], new_id: Callable[[str], str],
                 out: Outcome) -> None:
    limit = tool.get("max_uses")
    for n, query in enumerate(queries):
        use_id = new_id("srvtoolu")
        out.blocks.append({"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": query}})
        if limit is not None and n >= limit:
            content: Any = {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}
        else:
            found = search(query, pages, tool)
            out.searches += 1
            content = [{"type": "web_search_result", "url": p.url, "title": p.title, "page_age": p.page_age,
                        "encrypted_content": _opaque(p.url, p.text)} for p in found]
            out.cited.extend(p for p in found if p not in out.cited)
            out.read_text.extend(p.title + " " + p.text for p in found)
        out.blocks.append({"type": "web_search_tool_result", "tool_use_id": use_id, "content": content})


def run_fetches(urls: Sequence[str], tool: dict[str, Any], pages: Sequence[Page], new_id: Callable[[str], str],
                out: Outcome) -> None:
    by_url = {p.url.rstrip("/"): p for p in pages}
    limit = tool.get("max_uses")
    citations = bool((tool.get("citations") or {}).get("enabled"))
    for n, url in enumerate(urls):
        use_id = new_id("srvtoolu")
        out.blocks.append({"type": "server_tool_use", "id": use_id, "name": "web_fetch", "input": {"url": url}})
        page = by_url.get(url.rstrip("/"))
        if limit is not None and n >= limit:
            content: dict[str, Any] = {"type": "web_fetch_tool_result_error", "error_code": "max_uses_exceeded"}
        elif page is None or not _allowed(page, tool):
            content = {"type": "web_fetch_tool_result_error", "error_code": "url_not_accessible"}
        else:
            out.fetches += 1
            out.read_text.append(page.text)
            content = {"type": "web_fetch_result", "url": page.url, "retrieved_at": "2026-11-30T00:00:00Z",
                       "content": {"type": "document", "title": page.title, "citations": {"enabled": citations},
                                   "source": {"type": "text", "media_type": "text/plain", "data": page.text}}}
        out.blocks.append({"type": "web_fetch_tool_result", "tool_use_id": use_id, "content": content})


def run_tool_search(names: Sequence[str], tool: dict[str, Any], new_id: Callable[[str], str], out: Outcome) -> None:
    """A tool search that finds `names` (deferred tools the model is about to call)."""
    use_id = new_id("srvtoolu")
    regex = tool["type"].startswith("tool_search_tool_regex_")
    query = "|".join(re.escape(n) for n in names) if regex else " ".join(n.replace("_", " ") for n in names)
    out.blocks.append({"type": "server_tool_use", "id": use_id, "name": tool["name"],
                       "input": {"pattern": query} if regex else {"query": query}})
    out.blocks.append({"type": "tool_search_tool_result", "tool_use_id": use_id, "content": {
        "type": "tool_search_tool_search_result",
        "tool_references": [{"type": "tool_reference", "tool_name": n} for n in names]}})
    out.loaded.extend(names)


def urls_in(text: str) -> list[str]:
    return _URL.findall(text)


def cite(text: str, pages: Sequence[Page]) -> list[dict[str, Any]]:
    """Citations for an answer that draws on `pages` (one per page, quoting its first sentence)."""
    return [{"type": "web_search_result_location", "url": p.url, "title": p.title,
             "encrypted_index": _opaque(p.url, "0"), "cited_text": first_sentence(p.text)} for p in pages]
