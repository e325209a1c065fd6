"""Model ids and model facts, in one place.

Notebooks and lessons never type a model id: they use the names below, so a
model change is one edit. The facts behind them (status, context window, max
output, thinking modes, tokenizer, prices) live in one dated data file,
`agentkit/data/models.yaml`, which this module, `agentkit.pricing`, the
simulator and its `GET /v1/models` all read. Each entry there names the
official page it was checked against and the date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

#: The capable default for agents in the course (Claude Sonnet 5.5).
DEFAULT_MODEL = "claude-sonnet-5-5"
#: The cheap, fast model used for routing, judging and simple steps (Claude Haiku 5.5).
FAST_MODEL = "claude-haiku-5-5"
#: The largest of the three tiers the course compares (Claude Opus 5.5; the docs' "start here" model
#: for hard work).
LARGEST_MODEL = "claude-opus-5-5"
#: The most capable model, above Opus, for demanding long-horizon work (the current Fable).
FABLE_MODEL = "claude-fable-5-2"
#: The previous defaults (legacy, older tokenizer), for lessons that compare generations or quote
#: figures priced before the 5.5 models (the course's "$3 per million" is Sonnet 4.6's input price).
PREVIOUS_DEFAULT_MODEL = "claude-sonnet-4-6"
PREVIOUS_FAST_MODEL = "claude-haiku-4-5"

STATUSES = ("current", "legacy", "deprecated", "retired")
#: Thinking modes, as the data file names them (see its header).
THINKING_MODES = ("adaptive_always", "adaptive", "adaptive_manual", "extended")


class ModelNotFoundError(KeyError):
    """An id the API does not serve (never existed, or retired). `retired` says which."""

    def __init__(self, model: str, retired: bool = False) -> None:
        super().__init__(model)
        self.model = model
        self.retired = retired

    def __str__(self) -> str:
        if self.retired:
            return (f"{self.model} is retired: the API answers 404 not_found_error. "
                    f"Use a current model, e.g. agentkit.models.DEFAULT_MODEL ({DEFAULT_MODEL}).")
        return (f"Unknown model {self.model!r}. Known ids: {', '.join(MODELS)}. "
                "Use a name from agentkit.models (DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL, ...).")


@dataclass(frozen=True)
class ModelInfo:
    """One served model, as the data file describes it."""

    id: str
    display_name: str
    family: str
    status: str
    released: str
    context_window: int
    max_output: int
    thinking: str
    default_effort: str | None
    tokenizer: str
    tokenizer_factor: float
    forced_tool_choice: bool
    min_cacheable_tokens: int
    price: dict[str, Any]
    as_of: str
    source: str
    snapshots: tuple[str, ...] = ()
    retires: str | None = None
    deprecated: str | None = None
    off_type: str = "disabled"
    #: whether `temperature`, `top_p`, `top_k` may take non-default values (under API version 2023-06-01)
    sampling: bool = True
    #: "off" when a request without `thinking` runs without thinking (Opus 4.8); "on" when the model thinks by default
    thinking_default: str = "on"
    note: str = ""
    ids: tuple[str, ...] = field(default=(), repr=False)  # id plus snapshots

    @property
    def is_current(self) -> bool:
        return self.status == "current"


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    """The parsed data file (read once per process)."""
    text = resources.files("agentkit").joinpath("data/models.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _build() -> tuple[dict[str, ModelInfo], dict[str, str], set[str]]:
    raw = data()
    factors = {name: float(t["factor"]) for name, t in raw["tokenizers"].items()}
    infos: dict[str, ModelInfo] = {}
    aliases: dict[str, str] = {}
    for m in raw["models"]:
        if m["status"] not in STATUSES[:3]:
            raise ValueError(f"models.yaml: {m['id']}: status must be one of {STATUSES[:3]}, got {m['status']!r}")
        if m["thinking"] not in THINKING_MODES:
            raise ValueError(f"models.yaml: {m['id']}: thinking must be one of {THINKING_MODES}")
        if str(m.get("thinking_default", "on")) not in ("on", "off"):
            raise ValueError(f"models.yaml: {m['id']}: thinking_default must be \"on\" or \"off\"")
        for key in ("source", "as_of"):
            if not m.get(key):
                raise ValueError(f"models.yaml: {m['id']}: every model needs a `{key}` (the page and date it was "
                                 "checked against)")
        snaps = tuple(m.get("snapshots") or ())
        info = ModelInfo(
            id=m["id"], display_name=m["display_name"], family=m["family"], status=m["status"],
            released=str(m["released"]), context_window=int(m["context_window"]), max_output=int(m["max_output"]),
            thinking=m["thinking"], default_effort=m.get("default_effort"), tokenizer=m["tokenizer"],
            tokenizer_factor=factors[m["tokenizer"]], forced_tool_choice=bool(m["forced_tool_choice"]),
            min_cacheable_tokens=int(m["min_cacheable_tokens"]), price=dict(m["price"]), as_of=str(m["as_of"]),
            source=m["source"], snapshots=snaps, retires=m.get("retires"), deprecated=m.get("deprecated"),
            off_type=m.get("off_type", "disabled"), sampling=bool(m.get("sampling", True)),
            thinking_default=str(m.get("thinking_default", "on")),
            note=" ".join(str(m.get("note", "")).split()), ids=(m["id"], *snaps))
        infos[info.id] = info
        for s in snaps:
            aliases[s] = info.id
    retired = {i for r in raw.get("retired") or () for i in (r["id"], *(r.get("snapshots") or ()))}
    return infos, aliases, retired


_INFOS, _SNAPSHOTS, RETIRED = _build()

#: Every model the simulator serves (and `GET /v1/models` lists), newest first.
MODELS: tuple[str, ...] = tuple(sorted(_INFOS, key=lambda i: _INFOS[i].released, reverse=True))
#: The models in the current lineup.
CURRENT_MODELS: tuple[str, ...] = tuple(m for m in MODELS if _INFOS[m].is_current)
#: Display names, as the Models API reports them.
DISPLAY_NAMES: dict[str, str] = {m: _INFOS[m].display_name for m in MODELS}
#: The date the data file was last checked against the docs.
CHECKED: str = str(data()["checked"])


def info(model: str) -> ModelInfo:
    """Facts for a served model id or one of its dated snapshot ids.

    Raises `ModelNotFoundError` for a retired id (`.retired` is True) or an
    id the API never served.
    """
    if not isinstance(model, str):
        raise TypeError(f"A model id is a string such as {DEFAULT_MODEL!r}, not {type(model).__name__}.")
    found = _INFOS.get(model) or _INFOS.get(_SNAPSHOTS.get(model, ""))
    if found is None:
        raise ModelNotFoundError(model, retired=model in RETIRED)
    return found


#: `agentkit.model_info(id)`: the public name for `info`.
model_info = info


def status(model: str) -> str:
    """'current', 'legacy', 'deprecated' or 'retired'."""
    if model in RETIRED:
        return "retired"
    return info(model).status


def tokenizer_factor(model: str | None) -> float:
    """How many tokens the model's tokenizer counts per cl100k token (an estimate; 1.0 for no model)."""
    if model is None:
        return 1.0
    try:
        return info(model).tokenizer_factor
    except (ModelNotFoundError, TypeError):
        return 1.0
