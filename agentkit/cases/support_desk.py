"""The support-desk agent of Lesson 4 (Optimization Decisions) and Lab 4, rebuilt on the simulator.

A customer-support agent answers order questions with two tools, `lookup_order`
(the order database) and `search_help` (the help centre), under a long policy
handbook as its system prompt. It meets its quality bar on the labelled task
set `TASKS` but runs everything on one model; the lesson measures what caching,
batching, routing and fallbacks change.

The task set has easy tasks (an order's status, a help-centre answer: one tool
call) and hard ones (a partial refund that needs the order and the refund
rules: two tool calls and some arithmetic). Every task carries the answer a
correct reply must contain, worked out here from the order data.

What is simulated, and said so: which model gets which task right. Each task
names the weakest tier that solves it (`Task.needs`); a weaker model's reply
to it carries a plausible mistake (it forgets the restocking fee, or refunds
shipping it should not). Against Claude you would measure this instead; here
it is data, so the lesson's comparisons are reproducible. Tokens, prices and
latencies come from the simulator and `agentkit.pricing` like everywhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentkit import sim
from agentkit.agent import Agent
from agentkit.middleware import Ledger, ModelFallback
from agentkit.models import DEFAULT_MODEL, FAST_MODEL, LARGEST_MODEL
from agentkit.routing import Router, keyword_classifier
from agentkit.scorecard import Scorecard, evaluate, instant_simulation
from agentkit.sim.faults import Faults
from agentkit.sim.scenarios import Match, Scenario, ToolCall, Turn
from agentkit.tools import Tool, tool

__all__ = [
    "EASY",
    "FALSE_REFUSAL",
    "HARD",
    "HANDBOOK",
    "ORDERS",
    "TASKS",
    "TIERS",
    "OrderStore",
    "ROUTER",
    "SupportConfig",
    "TAGGER",
    "tagging_request",
    "evaluate_config",
    "SupportTools",
    "Task",
    "build_support_agent",
    "correct",
    "scenarios",
]

EASY, HARD = "easy", "hard"
#: Model tiers from weakest to strongest; a task solved by a tier is solved by every stronger one.
TIERS: tuple[str, ...] = (FAST_MODEL, DEFAULT_MODEL, LARGEST_MODEL)

#: Simulated seconds one tool call takes (an indexed database read, a help-centre search).
LOOKUP_SECONDS = 0.12
SEARCH_SECONDS = 0.25

RESTOCKING_FEE = 0.10  # of the returned items' price, for opened items
SHIPPING_REFUND_RULE = "shipping is refunded only when the whole order is returned"

# -- the data ----------------------------------------------------------------------------------------

#: Orders: id -> items (name, unit price, quantity), shipping fee, status.
ORDERS: dict[str, dict[str, Any]] = {
    "A1001": {"items": [("desk lamp", 34.00, 1)], "shipping": 4.99, "status": "shipped"},
    "A1002": {"items": [("bookshelf", 129.00, 1), ("shelf pins", 3.50, 4)], "shipping": 19.00, "status": "processing"},
    "A1003": {"items": [("office chair", 189.00, 1)], "shipping": 0.0, "status": "delivered"},
    "A1004": {"items": [("monitor arm", 59.00, 2)], "shipping": 6.50, "status": "delivered"},
    "A1005": {"items": [("cable tray", 18.00, 3), ("power strip", 24.00, 1)], "shipping": 5.00, "status": "delivered"},
    "A1006": {"items": [("standing desk", 449.00, 1)], "shipping": 39.00, "status": "shipped"},
    "A1007": {"items": [("footrest", 27.50, 2), ("wrist rest", 12.00, 2)], "shipping": 4.00, "status": "delivered"},
    "A1008": {"items": [("whiteboard", 79.00, 1)], "shipping": 9.00, "status": "cancelled"},
    "A1009": {"items": [("desk mat", 22.00, 1), ("lamp bulb", 6.00, 3)], "shipping": 3.50, "status": "delivered"},
    "A1010": {"items": [("filing cabinet", 159.00, 1)], "shipping": 25.00, "status": "processing"},
    "A1011": {"items": [("webcam light", 31.00, 2)], "shipping": 4.50, "status": "delivered"},
    "A1012": {"items": [("drawer unit", 99.00, 2)], "shipping": 15.00, "status": "delivered"},
}

#: The help centre: topic -> answer.
HELP: dict[str, str] = {
    "password": "To reset your password, choose 'Forgot password' on the sign-in page; the link is valid for 30 minutes.",
    "invoice": "Invoices are under Account > Orders > Download invoice, as PDF, for every delivered order.",
    "address": "You can change the delivery address until the order ships, under Account > Orders > Edit.",
    "warranty": "Furniture carries a 2-year warranty; lighting and electronics carry 1 year.",
    "returns": "Returns are accepted within 30 days of delivery; opened items carry a 10 percent restocking fee.",
    "payment": "We accept cards, bank transfer and invoice payment for business accounts.",
}


def _money(x: float) -> str:
    return f"${x:,.2f}"


def partial_refund(order_id: str, item: str, quantity: int, opened: bool) -> float:
    """The refund for returning `quantity` of `item` from an order, by the handbook's rules."""
    order = ORDERS[order_id]
    price = next(p for name, p, _ in order["items"] if name == item)
    value = price * quantity
    if opened:
        value *= 1 - RESTOCKING_FEE
    returned_all = all((name == item and q == quantity) for name, _, q in order["items"])
    if returned_all:
        value += order["shipping"]
    return round(value, 2)


def _mistaken_refund(order_id: str, item: str, quantity: int, opened: bool) -> float:
    """The weaker model's plausible mistake: no restocking fee on opened items, and shipping refunded anyway."""
    order = ORDERS[order_id]
    price = next(p for name, p, _ in order["items"] if name == item)
    return round(price * quantity + order["shipping"], 2)


# -- the tasks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One labelled task: the customer's message, how hard it is, what a correct reply must say."""

    id: str
    prompt: str
    difficulty: str  # EASY or HARD
    expected: str  # text a correct final answer contains
    needs: str  # the weakest model that gets it right (one of TIERS)
    calls: tuple[tuple[str, dict[str, Any]], ...] = field(default=())  # the tool calls a good run makes
    wrong: str = ""  # what a model below `needs` answers instead


def _status_task(n: int, order_id: str, phrasing: str) -> Task:
    status = ORDERS[order_id]["status"]
    return Task(f"status_{n}", phrasing.format(order=order_id), EASY, status, FAST_MODEL,
                calls=(("lookup_order", {"order_id": order_id}),))


def _help_task(n: int, topic: str, phrasing: str) -> Task:
    answer = HELP[topic]
    key = re.search(r"\d+ (?:minutes|days|percent|years?)|Account > Orders > \w+|cards", answer)
    return Task(f"help_{n}", phrasing, EASY, key.group(0) if key else answer.split(",")[0], FAST_MODEL,
                calls=(("search_help", {"topic": topic}),))


def _refund_task(n: int, order_id: str, item: str, quantity: int, opened: bool, needs: str, phrasing: str) -> Task:
    right = partial_refund(order_id, item, quantity, opened)
    wrong = _mistaken_refund(order_id, item, quantity, opened)
    return Task(f"refund_{n}", phrasing.format(order=order_id, item=item, quantity=quantity), HARD, _money(right),
                needs, calls=(("lookup_order", {"order_id": order_id}), ("search_help", {"topic": "returns"})),
                wrong=_money(wrong))


#: The labelled task set: 14 easy tasks and 10 hard ones.
TASKS: tuple[Task, ...] = (
    _status_task(1, "A1001", "Where is my order {order}?"),
    _status_task(2, "A1002", "Has order {order} shipped yet?"),
    _status_task(3, "A1006", "What is the status of my order {order}, please?"),
    _status_task(4, "A1008", "Can you tell me what happened to order {order}?"),
    _status_task(5, "A1010", "Is order {order} on its way?"),
    _status_task(6, "A1003", "Did order {order} arrive? It says something odd in my account."),
    _status_task(7, "A1012", "Status check on {order}."),
    _help_task(8, "password", "How do I reset my password?"),
    _help_task(9, "invoice", "Where can I download an invoice for my last order?"),
    _help_task(10, "address", "I moved. How can I change the delivery address of an order?"),
    _help_task(11, "warranty", "How long is the warranty on a desk?"),
    _help_task(12, "returns", "What is your return policy: how many days do I have?"),
    _help_task(13, "payment", "Which payment methods do you take?"),
    _help_task(14, "warranty", "Is there a guarantee on lamps, and for how long?"),
    _refund_task(15, "A1004", "monitor arm", 1, True, DEFAULT_MODEL,
                 "I opened one {item} from order {order} and want to return just that one. How much do I get back?"),
    _refund_task(16, "A1005", "cable tray", 2, False, FAST_MODEL,
                 "Returning {quantity} unopened {item}s from {order}: what will the refund be?"),
    _refund_task(17, "A1007", "footrest", 2, True, DEFAULT_MODEL,
                 "Both {item}s from {order} were opened but are unused. What refund should I expect if I return them?"),
    _refund_task(18, "A1009", "desk mat", 1, True, DEFAULT_MODEL,
                 "I want to return the {item} from order {order}; I did open it. Refund amount?"),
    _refund_task(19, "A1011", "webcam light", 2, False, FAST_MODEL,
                 "If I send back both {item}s from {order}, unopened, what do I get refunded, shipping included?"),
    _refund_task(20, "A1012", "drawer unit", 1, True, LARGEST_MODEL,
                 "One {item} from {order} arrived scratched and we opened it. If we return that one, what is refunded?"),
    _refund_task(21, "A1003", "office chair", 1, True, DEFAULT_MODEL,
                 "I'd like to return the {item} from {order}. It has been assembled. How much will you refund?"),
    _refund_task(22, "A1005", "power strip", 1, True, DEFAULT_MODEL,
                 "Return the opened {item} from order {order} only, please. What's the refund?"),
    _refund_task(23, "A1007", "wrist rest", 1, False, FAST_MODEL,
                 "How much is refunded for {quantity} unopened {item} from {order}?"),
    _refund_task(24, "A1009", "lamp bulb", 3, True, DEFAULT_MODEL,
                 "All {quantity} {item}s from {order} were opened. What is the refund if I return them?"),
)


def correct(task: Task, answer: str) -> bool:
    """Exact-match grading: the reply states the expected status, figure or fact."""
    return task.expected.lower() in answer.lower()


def _rank(model: str) -> int:
    return TIERS.index(model) if model in TIERS else len(TIERS) - 1


# -- the handbook (the long, stable system prompt that makes prompt caching pay) ---------------------


def _handbook() -> str:
    sections = [
        "You are the support assistant of Deskworks, an online shop for office furniture and lighting. Answer the "
        "customer in two or three sentences. Use lookup_order for anything about a specific order and search_help "
        "for policies. State figures exactly, in dollars with cents.",
        f"Refunds. Returns are accepted within 30 days of delivery. Opened items carry a {RESTOCKING_FEE:.0%} "
        f"restocking fee on their price. The original {SHIPPING_REFUND_RULE}. Refunds go back to the original "
        "payment method within 5 business days of the return arriving at the warehouse.",
    ]
    # The rest of the handbook: many short, specific rules, as real support handbooks have.
    topics = ["tone", "escalation", "privacy", "fraud checks", "business accounts", "assembly service",
              "damaged deliveries", "missing parts", "price matching", "gift cards", "discount codes",
              "delivery windows", "international orders", "bulk orders", "product care", "recalls"]
    for i, topic in enumerate(topics):
        rules = " ".join(
            f"Rule {topic[:3].upper()}-{i + 1}.{j + 1}: when a customer raises {topic} in case type {j + 1}, confirm "
            f"the order number, check the account's history for earlier {topic} cases, explain the applicable "
            f"policy in plain words, and record the outcome with the tag '{topic.replace(' ', '-')}-{j + 1}'."
            for j in range(6)
        )
        sections.append(f"{topic.capitalize()}. {rules}")
    return "\n\n".join(sections)


#: The system prompt: a policy handbook of a few thousand tokens, identical on every call.
HANDBOOK = _handbook()


# -- tools ---------------------------------------------------------------------------------------------


class OrderStore:
    """The order database. `version` counts writes, so a cache can key on it."""

    def __init__(self) -> None:
        self.orders = json.loads(json.dumps(ORDERS))
        self.version = 0
        self._listeners: list[Any] = []

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self.orders.get(order_id)

    def set_status(self, order_id: str, status: str) -> None:
        """A write: the warehouse ships an order, say. Everyone listening hears about it."""
        if order_id not in self.orders:
            raise KeyError(f"no order {order_id!r}; known orders: {', '.join(sorted(self.orders))}")
        self.orders[order_id]["status"] = status
        self.version += 1
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Any) -> None:
        """Call `listener()` after every write (the hook for invalidate-on-write)."""
        self._listeners.append(listener)


@dataclass
class SupportTools:
    """The agent's two tools and the simulated seconds they have spent."""

    lookup_order: Tool
    search_help: Tool
    store: OrderStore
    seconds: float = 0.0

    @property
    def tools(self) -> list[Tool]:
        return [self.lookup_order, self.search_help]


def support_tools(store: OrderStore | None = None, *, cache_ttl: float | None = None) -> SupportTools:
    """The tools over `store` (a fresh one by default). `cache_ttl` turns on the tool layer's result cache."""
    store = store or OrderStore()
    # the tools close over `box` (they add their seconds to it), so it exists first and gets them just below
    box = SupportTools(lookup_order=None, search_help=None, store=store)  # type: ignore[arg-type]

    def lookup_order(order_id: str) -> str:
        """Look up one order: its items, shipping fee and status.

        Args:
            order_id: The order number, such as A1001.
        """
        sim.sleep(LOOKUP_SECONDS)
        box.seconds += LOOKUP_SECONDS
        order = store.get(order_id.strip().upper())
        if order is None:
            return f"No order {order_id!r}."
        items = ", ".join(f"{name} x{quantity} at {_money(price)}" for name, price, quantity in order["items"])
        return f"{items}; shipping {_money(order['shipping'])}; status: {order['status']}"

    def search_help(topic: str) -> str:
        """Search the help centre for a policy topic (returns, warranty, password, invoice, address, payment).

        Args:
            topic: One word naming the topic.
        """
        sim.sleep(SEARCH_SECONDS)
        box.seconds += SEARCH_SECONDS
        return HELP.get(topic.strip().lower(), "No help article on that topic.")

    box.lookup_order = tool(lookup_order, cache_ttl=cache_ttl)
    box.search_help = tool(search_help, cache_ttl=cache_ttl)
    return box


# -- what the simulated models say -------------------------------------------------------------------


def _final_text(task: Task, answer: str) -> str:
    if task.difficulty == HARD:
        return f"Your refund comes to {answer}. It goes back to your original payment method within 5 business days."
    if task.id.startswith("status"):
        return "Order {order} is " + "{status}" + "."
    return "{last_tool_result}"


#: A harmless question the default model over-cautiously declines (the word "kill"): a refusal, not an outage,
#: which is what the API's server-side `fallbacks` (and the SDK's refusal-fallback middleware) are for.
FALSE_REFUSAL = "How do I kill a print job that is stuck on the label printer?"
FALSE_REFUSAL_ANSWER = ("Open the printer queue on the packing-desk PC, select the stuck job and choose Cancel; if it "
                        "stays, switch the label printer off and on again.")

#: The system prompt of the nightly tagging job (one call per ticket: "easy" or "hard"), batch material.
TAGGER = "Tag the customer's ticket for the support queue. Answer with one word: easy or hard."


def tagging_request(task: Task, model: str = FAST_MODEL) -> dict[str, Any]:
    """The Messages parameters that tag one ticket (the same for a live call and a batch entry)."""
    return {"model": model, "max_tokens": 5, "system": TAGGER, "messages": [{"role": "user", "content": task.prompt}]}


def scenarios() -> list[Scenario]:
    """Scenarios for every task and tier: the strong enough models answer right, weaker ones make the task's mistake.

    Status answers quote the tool's live result, so a changed order (or a stale cached one) shows in the reply.
    The tagging job's replies (the ticket's difficulty) come first, matched by its system prompt.
    """
    out: list[Scenario] = [
        Scenario("l4_false_refusal_default", Match(user="^" + re.escape(FALSE_REFUSAL) + "$",
                                                   model="^" + re.escape(DEFAULT_MODEL) + "$"),
                 (Turn(text="I can't help with that request.", stop_reason="refusal"),)),
        Scenario("l4_false_refusal", Match(user="^" + re.escape(FALSE_REFUSAL) + "$"), (Turn(text=FALSE_REFUSAL_ANSWER),)),
    ] + [
        Scenario(f"l4_tag_{t.id}", Match(user="^" + re.escape(t.prompt) + "$", system="^" + re.escape(TAGGER)),
                 (Turn(text=t.difficulty),))
        for t in TASKS
    ]
    for task in TASKS:
        calls = tuple(ToolCall(name, dict(args)) for name, args in task.calls)
        first = Turn(text="Let me check that.", tool_calls=calls[:1])
        middle = [Turn(text="And the refund rules.", tool_calls=calls[1:2])] if len(calls) > 1 else []
        weaker = [m for m in TIERS if _rank(m) < _rank(task.needs)]
        if weaker:
            pattern = "|".join(re.escape(m) for m in weaker)
            out.append(Scenario(f"l4_{task.id}_weak", Match(user="^" + re.escape(task.prompt) + "$", model=pattern),
                                (first, *middle, Turn(text=_final_text(task, task.wrong)))))
        if task.id.startswith("status"):
            order_id = task.calls[0][1]["order_id"]
            final = Turn(text=f"Here is order {order_id}: {{last_tool_result}}.")
        else:
            final = Turn(text=_final_text(task, task.expected))
        out.append(Scenario(f"l4_{task.id}", Match(user="^" + re.escape(task.prompt) + "$"),
                            (first, *middle, final)))
    return out


def build_support_agent(client: Any, model: str = DEFAULT_MODEL, *, tools: SupportTools | None = None,
                        cache_prompt: bool = False, cache_handbook: bool | None = None, **options: Any) -> Agent:
    """The support agent on `model`.

    `cache_prompt` sends a top-level `cache_control`: the API puts the breakpoint on the last block and moves it
    forward as the conversation grows, so each step reads the previous step's prefix from the cache. That alone
    never helps a *new* conversation, whose last block is new: `cache_handbook` (on by default with
    `cache_prompt`) adds a breakpoint at the end of the system prompt, so every conversation reads the tools and
    the handbook that the first one wrote.
    """
    tools = tools or support_tools()
    if cache_handbook is None:
        cache_handbook = cache_prompt
    system: Any = HANDBOOK
    if cache_handbook:
        system = [{"type": "text", "text": HANDBOOK, "cache_control": {"type": "ephemeral"}}]
    if cache_prompt:
        options.setdefault("cache_control", {"type": "ephemeral"})
    return Agent(client, model=model, system=system, tools=tools.tools, max_steps=5, max_tokens=400,
                 name="support_desk", **options)


# -- configurations, judged on the task set ----------------------------------------------------------

#: The lesson's router: refunds and returns are hard (the strong model), everything else easy (the fast one).
ROUTER = Router({EASY: FAST_MODEL, HARD: DEFAULT_MODEL},
                keyword_classifier(["refund", "refunded", "return", "returning", "send back"], hard=HARD, easy=EASY))


@dataclass(frozen=True)
class SupportConfig:
    """How the support agent runs: one model or a router, prompt caching, a fallback model, batch or live."""

    model: str = DEFAULT_MODEL
    router: Router | None = None
    cache_prompt: bool = False
    fallback_model: str | None = None
    batch: bool = False
    name: str = ""
    cache_handbook: bool | None = None  # None: the same as cache_prompt (see build_support_agent)

    def label(self) -> str:
        if self.name:
            return self.name
        parts = ["router" if self.router else self.model]
        if self.cache_prompt:
            parts.append("prompt cache" if self.cache_handbook in (None, True) else "prompt cache, no handbook breakpoint")
        parts += [f"fallback {self.fallback_model}"] * bool(self.fallback_model)
        parts += ["batch"] * self.batch
        return " + ".join(parts)


def evaluate_config(config: SupportConfig, tasks: Sequence[Task] = TASKS, *, faults: Faults | None = None,
                    seed: int = 0, live: bool | None = None) -> Scorecard:
    """Run the task set once under `config` and grade it: quality, cost and (simulated) latency per run."""
    from agentkit.clients import client as make_client

    ledger = Ledger()
    middleware: list[Any] = [ledger]
    if config.fallback_model:
        middleware.append(ModelFallback(config.fallback_model))
    c = make_client(live, scenarios=scenarios(), seed=seed, faults=faults, quiet=True, middleware=middleware)
    tools = support_tools()
    agents: dict[str, Agent] = {}

    def agent_for(task: Task) -> Agent:
        model = config.router.model_for(task.prompt) if config.router else config.model
        if model not in agents:
            agents[model] = build_support_agent(c, model, tools=tools, cache_prompt=config.cache_prompt,
                                                cache_handbook=config.cache_handbook)
        return agents[model]

    with instant_simulation():
        return evaluate(config.label(), tasks, agent_for, correct, ledger, tool_seconds=lambda: tools.seconds)
