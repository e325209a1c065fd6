"""Model routing: send each task to the cheapest model tier that can do it well.

A `Router` maps a task to a tier label ("easy", "hard", ...) with a classifier
and each label to a model. The classifier here is the simplest kind that
works in production, keyword rules (`keyword_classifier`), which cost nothing
and run in microseconds; a small model asked "easy or hard?" is the next step
up, at the price of one extra call per task. Whether a router is worth
shipping is never decided by the price list: run it on a labelled task set
(`agentkit.scorecard.evaluate`) and compare quality, cost and latency with
sending everything to one model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

__all__ = ["Router", "keyword_classifier"]


def keyword_classifier(hard_words: Iterable[str], *, hard: str = "hard", easy: str = "easy") -> Callable[[str], str]:
    """A classifier that calls a prompt `hard` when it contains any of `hard_words` (whole words, any case)."""
    words = [w.strip() for w in hard_words if w and w.strip()]
    if not words:
        raise ValueError("keyword_classifier needs at least one word that marks a task as hard")
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)

    def classify(prompt: str) -> str:
        return hard if pattern.search(prompt) else easy

    return classify


@dataclass(frozen=True)
class Router:
    """Picks a model per prompt: `tiers[classify(prompt)]`."""

    tiers: Mapping[str, str]  # label -> model id
    classify: Callable[[str], str]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a Router needs at least one tier, e.g. {'easy': FAST_MODEL, 'hard': DEFAULT_MODEL}")
        if not callable(self.classify):
            raise TypeError(f"classify must be a function from prompt to tier label, got {type(self.classify).__name__}")

    def label(self, prompt: str) -> str:
        label = self.classify(prompt)
        if label not in self.tiers:
            raise ValueError(f"the classifier returned {label!r}, which is not a tier; tiers: {', '.join(self.tiers)}")
        return label

    def model_for(self, prompt: str) -> str:
        return self.tiers[self.label(prompt)]
