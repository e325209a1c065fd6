"""Reading JSON out of a model's reply text.

Structured outputs (`output_config.format`, `client.messages.parse`) are the way to get data from a model. Where a
reply is text anyway (an older model, a provider without structured outputs, a judge that explains itself), these
helpers take the JSON out of it: bare, inside a ```json fence, or followed by a sentence of prose.
"""

from __future__ import annotations

import json
import re

__all__ = ["extract_json"]


def extract_json(text: str) -> str:
    """The first JSON object or array in a model's reply, as JSON text.

    Accepts a bare value, a value inside a ```json fence, and a value with prose before or after it
    ("Here it is: {...} Let me know if ..."). The standard library's `json.JSONDecoder.raw_decode` reads one
    value and reports where it ended, which is exactly "the JSON, and nothing after it"; a regex cannot
    balance nested braces. Raises ValueError when no complete JSON object or array is there.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected the reply's text (a str), got {type(text).__name__}")
    fenced = re.search(r"```(?:json)?[ \t]*\n(.*?)```", text, re.DOTALL)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(text)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start, char in enumerate(candidate):
            if char not in "{[":
                continue
            try:
                _, end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                continue
            return candidate[start:end]
    raise ValueError("no complete JSON object or array in the reply")
