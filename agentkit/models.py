"""Model ids, in one place.

Notebooks and lessons never type a model id: they use these names, so a model
change is one edit here. Prices for each id live in `agentkit.pricing`.
"""

from __future__ import annotations

#: The capable default for agents in the course.
DEFAULT_MODEL = "claude-sonnet-4-6"
#: The cheap, fast model used for routing, judging and simple steps.
FAST_MODEL = "claude-haiku-4-5"
#: The most capable model, for the hardest steps.
LARGEST_MODEL = "claude-opus-4-6"

#: Every model the simulator serves (and `GET /v1/models` lists), newest first.
MODELS: tuple[str, ...] = (LARGEST_MODEL, DEFAULT_MODEL, FAST_MODEL)

#: Display names, as the Models API reports them.
DISPLAY_NAMES: dict[str, str] = {
    LARGEST_MODEL: "Claude Opus 4.6",
    DEFAULT_MODEL: "Claude Sonnet 4.6",
    FAST_MODEL: "Claude Haiku 4.5",
}
