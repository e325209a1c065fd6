"""Documents sent with `citations: {"enabled": true}`: the answer quotes them, with the API's citation blocks.

The simulated model answers from the sentence of a document that shares the most words with the request
(the first sentence when none does), and cites it the way the API does for each kind of source:

- a plain-text document (`source.type: "text"`): `char_location`, with the sentence's start and end
  character indexes in the document's text;
- a PDF (`source.type: "base64"`, `media_type: application/pdf`): `page_location`, with the 1-based page
  the sentence is on and `end_page_number` one past it (as the API counts);
- a custom-content document (`source.type: "content"`): `content_block_location`, with the block's index.

`document_index` counts every document block of the request in order, as the API does. Text is read from
a PDF's content streams (`Tj`/`TJ` strings, Flate streams inflated): enough for the simple PDFs a lesson
builds; a PDF whose text cannot be read is cited by page with an empty `cited_text`.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass
from typing import Any

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj|\[((?:\\.|[^\]])*)\]\s*TJ", re.S)


@dataclass(frozen=True)
class Cited:
    """One citable document of the request: its index, title, and its text in pieces (pages or blocks)."""

    index: int
    kind: str  # "text" | "pdf" | "content"
    title: str | None
    pieces: tuple[str, ...]  # the whole text (one piece), a PDF's pages, or custom content's blocks


def cited_documents(messages: list[dict[str, Any]]) -> list[Cited]:
    """Every document block with citations enabled, numbered as the API numbers documents."""
    out: list[Cited] = []
    index = 0
    for m in messages:
        content = m.get("content")
        if m.get("role") != "user" or not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "document":
                continue
            enabled = (block.get("citations") or {}).get("enabled") is True
            source = block.get("source") or {}
            kind, pieces = _pieces(source)
            if enabled and kind is not None:
                out.append(Cited(index, kind, block.get("title"), pieces))
            index += 1
    return out


def _pieces(source: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return "text", (source["data"],)
    if source.get("type") == "base64" and source.get("media_type") == "application/pdf":
        try:
            raw = base64.b64decode(source.get("data") or "", validate=False)
        except (binascii.Error, ValueError):
            raw = b""
        return "pdf", tuple(pdf_pages(raw)) or ("",)
    if source.get("type") == "content":
        blocks = source.get("content")
        if isinstance(blocks, str):
            return "content", (blocks,)
        if isinstance(blocks, list):
            return "content", tuple(b.get("text", "") if isinstance(b, dict) else "" for b in blocks)
    return None, ()


def pdf_pages(raw: bytes) -> list[str]:
    """The text of each content stream of a PDF, in file order (one stream per page in simple PDFs)."""
    pages = []
    for m in _STREAM.finditer(raw):
        data = m.group(1)
        try:
            data = zlib.decompress(data)
        except zlib.error:
            pass
        strings = []
        for s in _STRING.finditer(data):
            if s.group(1) is not None:
                strings.append(_unescape(s.group(1)))
            else:
                strings.extend(_unescape(x) for x in re.findall(rb"\(((?:\\.|[^\\)])*)\)", s.group(2)))
        if strings:
            pages.append(" ".join(t.strip() for t in strings if t.strip()))
    return pages


def _unescape(s: bytes) -> str:
    s = re.sub(rb"\\([()\\])", rb"\1", s).replace(b"\\n", b" ")
    return s.decode("latin-1")


def _best_sentence(pieces: tuple[str, ...], question: str) -> tuple[int, int, int, str]:
    """(piece index, start, end, sentence) of the sentence sharing most words with the question."""
    wanted = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 3}
    best: tuple[int, int, int, int, str] | None = None
    for p, text in enumerate(pieces):
        for m in _SENTENCE.finditer(text):
            sentence = m.group(0)
            if not sentence.strip():
                continue
            lead = len(sentence) - len(sentence.lstrip())
            score = len(wanted & set(re.findall(r"[a-z0-9]+", sentence.lower())))
            if best is None or score > best[0]:
                best = (score, p, m.start() + lead, m.end(), sentence.strip())
    if best is None:
        return 0, 0, 0, ""
    return best[1], best[2], best[3], best[4]


def citation_blocks(messages: list[dict[str, Any]], question: str, lead: str) -> list[dict[str, Any]] | None:
    """Text blocks answering from the cited documents: `lead`, then one quoted sentence per document with its
    citation. None when the request has no document with citations enabled."""
    docs = cited_documents(messages)
    if not docs:
        return None
    blocks: list[dict[str, Any]] = [{"type": "text", "text": lead}]
    for doc in docs[:3]:
        piece, start, end, sentence = _best_sentence(doc.pieces, question)
        location: dict[str, Any]
        if doc.kind == "text":
            location = {"type": "char_location", "cited_text": doc.pieces[0][start:end], "document_index": doc.index,
                        "document_title": doc.title, "start_char_index": start, "end_char_index": end}
        elif doc.kind == "pdf":
            location = {"type": "page_location", "cited_text": sentence, "document_index": doc.index,
                        "document_title": doc.title, "start_page_number": piece + 1, "end_page_number": piece + 2}
        else:
            location = {"type": "content_block_location", "cited_text": sentence, "document_index": doc.index,
                        "document_title": doc.title, "start_block_index": piece, "end_block_index": piece + 1}
        blocks.append({"type": "text", "text": sentence or "(the document has no readable text)",
                       "citations": [location]})
    return blocks
