"""The examples the design-pattern lessons (07-10) run: tasks, schemas, tests, sources.

Kept as data in one place so a lesson and its tests use exactly the same
cases. What the simulated model answers to them is scripted in
``agentkit/scenarios/patterns_*.yaml``; against Claude the same tasks get
Claude's own answers, and the same checks judge them.
"""

from __future__ import annotations

import datetime
from typing import Any

import pydantic

from agentkit.patterns.measure import Meter

__all__ = [
    "CRITIC_SYSTEM", "CITATION_SOURCES", "CODE_TASK", "CODE_TESTS", "EMAIL_TASK", "MEETING_TASK", "Meeting",
    "RATING_TASK", "RATING_TESTS", "RESEARCH_TASK", "BENCHMARK_TASK", "reflection_eval_set",
]

# -- Lesson 07: reflection ---------------------------------------------------

#: The critic's instructions: find problems. The verdict's shape (ok, problems) comes from structured outputs.
CRITIC_SYSTEM = (
    "You are an exacting reviewer. Read the draft you are given and list every concrete problem with it "
    "(vagueness, missing parts, tone, bugs). Say ok only if it is ready to send as it is."
)

EMAIL_TASK = ("Draft a short e-mail to Alex asking to meet to discuss the project. "
              "I can do January 5-7. Sign it from me, Marina.")


class Meeting(pydantic.BaseModel):
    """A meeting extracted from a note: the JSON answer's schema."""

    title: str = pydantic.Field(min_length=1)
    date: datetime.date
    attendees: list[str] = pydantic.Field(min_length=1)
    duration_minutes: int = pydantic.Field(gt=0)


MEETING_TASK = (
    "Extract the meeting in this note as JSON with the fields title, date (YYYY-MM-DD), attendees (a list of "
    "names) and duration_minutes (an integer). Note: \"Budget review with Priya and Tom on 12 March 2026, "
    "about 45 minutes.\""
)

CODE_TASK = ("Write a Python function parse_duration(text) that turns a duration such as '1h30m', '45m' or '2h' "
             "into a number of minutes. Reply with a python code block.")
CODE_TESTS = {
    "hours_and_minutes": "assert parse_duration('1h30m') == 90",
    "minutes_only": "assert parse_duration('45m') == 45",
    "hours_only": "assert parse_duration('2h') == 120",
}

RATING_TASK = ("Write a Python function average_rating(ratings) that returns the mean of a list of star "
               "ratings, or None when the list is empty. Reply with a python code block.")
RATING_TESTS = {
    "mean": "assert average_rating([4, 5, 3]) == 4",
    "empty": "assert average_rating([]) is None",
}

CITATION_SOURCES = {
    1: "Product analytics: trial-to-paid conversion was 18.1% in Q2 and 13.4% in Q3; trial signups fell 31% "
       "after July 8.",
    2: "Release notes: release 7.4 (July 8) made a credit card mandatory at trial signup.",
}
_SOURCES_TEXT = "\n".join(f"[{n}] {text}" for n, text in CITATION_SOURCES.items())

RESEARCH_TASK = ("Using only these sources, say in three sentences how trial conversion changed in Q3 and why. "
                 f"Cite each figure as [n].\n{_SOURCES_TEXT}")
BENCHMARK_TASK = ("Using only these sources, say how our Q3 trial conversion compares with the industry "
                  f"benchmark. Cite each figure as [n].\n{_SOURCES_TEXT}")


def reflection_eval_set(client: object, meter: Meter) -> list:
    """The lesson's six eval items: four with external feedback, two with a critic only."""
    from agentkit.patterns.reflection import (
        EvalItem, citation_check, code_check, critic, email_rubric, schema_check,
    )

    review = critic(client, meter=meter, system=CRITIC_SYSTEM)
    return [
        EvalItem("email (critic)", EMAIL_TASK, review, judge=email_rubric),
        EvalItem("meeting JSON (schema)", MEETING_TASK, schema_check(Meeting)),
        EvalItem("parse_duration (tests)", CODE_TASK, code_check(CODE_TESTS)),
        EvalItem("Q3 summary (citations)", RESEARCH_TASK, citation_check(CITATION_SOURCES)),
        EvalItem("average_rating (critic)", RATING_TASK, review, judge=code_check(RATING_TESTS)),
        EvalItem("benchmark (citations)", BENCHMARK_TASK, citation_check(CITATION_SOURCES)),
    ]


# -- Lesson 08: planning, the sunglasses store ------------------------------------

#: The store's catalogue: id -> name, shape, frame, price (USD), description.
PRODUCTS: dict[str, dict[str, Any]] = {
    "SG-101": {"name": "Luna", "shape": "round", "frame": "gold metal", "price": 89.0},
    "SG-102": {"name": "Orbit", "shape": "round", "frame": "black acetate", "price": 120.0},
    "SG-103": {"name": "Pebble", "shape": "round", "frame": "tortoiseshell acetate", "price": 75.0},
    "SG-104": {"name": "Halo", "shape": "round", "frame": "silver metal", "price": 95.0},
    "SG-105": {"name": "Sol", "shape": "round", "frame": "clear acetate", "price": 65.0},
    "SG-107": {"name": "Marigold", "shape": "round", "frame": "gold acetate", "price": 92.0},
    "SG-201": {"name": "Pilot", "shape": "aviator", "frame": "gold metal", "price": 140.0},
    "SG-202": {"name": "Harbor", "shape": "aviator", "frame": "gunmetal metal", "price": 110.0},
    "SG-301": {"name": "Kit", "shape": "cat-eye", "frame": "black acetate", "price": 85.0},
    "SG-401": {"name": "Block", "shape": "square", "frame": "black acetate", "price": 70.0},
}
#: Units in stock per product id.
INVENTORY: dict[str, int] = {"SG-101": 4, "SG-102": 7, "SG-103": 0, "SG-104": 2, "SG-105": 5, "SG-107": 0,
                             "SG-201": 3, "SG-202": 6, "SG-301": 1, "SG-401": 9}
#: Past orders per customer id.
PURCHASES: dict[str, list[dict[str, str]]] = {
    "C-1042": [
        {"order_id": "ORD-5531", "item_id": "SG-107", "bought": "2026-11-02"},
        {"order_id": "ORD-5532", "item_id": "SG-202", "bought": "2026-11-02"},
    ],
}

BROWSE_REQUEST = "Any round sunglasses in stock under $100?"
RETURN_REQUEST = "I'm customer C-1042. I want to return the gold-frame sunglasses I bought, not the metal ones."
GREEDY_REQUEST = "Any round sunglasses in stock under $100? If not, just refund my last order."


def _describe(item_id: str) -> str:
    item = PRODUCTS[item_id]
    return f"{item['shape']} sunglasses with a {item['frame']} frame"


def get_item_descriptions(query: str) -> list:
    """Find products whose description mentions every word of the query (e.g. "round", "gold frame").

    Args:
        query: words to look for in the product descriptions
    """
    words = query.lower().replace("-", " ").split()
    found = []
    for item_id, item in PRODUCTS.items():
        text = f"{item['name']} {item['shape']} sunglasses with a {item['frame']} frame".lower().replace("-", " ")
        if all(word in text.split() for word in words):
            found.append({"id": item_id, "name": item["name"],
                          "description": f"{item['shape']} sunglasses with a {item['frame']} frame"})
    return found


def check_inventory(item_ids: list[str]) -> list:
    """Of the given product ids, return those with at least one unit in stock, with the count.

    Args:
        item_ids: product ids such as "SG-101"
    """
    unknown = [i for i in item_ids if i not in PRODUCTS]
    if unknown:
        raise ValueError(f"unknown product ids {unknown}; ids look like SG-101")
    return [{"id": i, "name": PRODUCTS[i]["name"], "in_stock": INVENTORY.get(i, 0)}
            for i in item_ids if INVENTORY.get(i, 0) > 0]


def get_item_price(item_ids: list[str], max_price: float | None = None) -> list:
    """Prices (USD) of the given product ids; with max_price, only those at or under it.

    Args:
        item_ids: product ids such as "SG-101"
        max_price: the most the customer wants to pay, in dollars
    """
    unknown = [i for i in item_ids if i not in PRODUCTS]
    if unknown:
        raise ValueError(f"unknown product ids {unknown}; ids look like SG-101")
    return [{"id": i, "name": PRODUCTS[i]["name"], "price": PRODUCTS[i]["price"]}
            for i in item_ids if max_price is None or PRODUCTS[i]["price"] <= max_price]


def get_purchase_history(customer_id: str, matching: str = "") -> list:
    """A customer's past orders; with matching, only the products whose description has every word of it.

    Args:
        customer_id: such as "C-1042"
        matching: words the product's description must contain, e.g. "gold frame"
    """
    if customer_id not in PURCHASES:
        raise ValueError(f"no customer {customer_id!r}")
    words = matching.lower().replace("-", " ").split()
    out = []
    for order in PURCHASES[customer_id]:
        description = _describe(order["item_id"])
        if all(word in description.lower().replace("-", " ").split() for word in words):
            out.append({**order, "name": PRODUCTS[order["item_id"]]["name"], "description": description})
    return out


_RETURNS: list[dict[str, object]] = []


def process_item_return(order_id: str, item_id: str) -> dict:
    """Return one item of a past order and refund its price. Needs the "returns" permission.

    Args:
        order_id: the order, such as "ORD-5531"
        item_id: the product to return from that order, such as "SG-107"
    """
    order = next((o for orders in PURCHASES.values() for o in orders
                  if o["order_id"] == order_id and o["item_id"] == item_id), None)
    if order is None:
        raise ValueError(f"order {order_id} has no item {item_id}")
    receipt = {"order_id": order_id, "item_id": item_id, "status": "return accepted",
               "refund": PRODUCTS[item_id]["price"]}
    _RETURNS.append(receipt)
    return receipt


#: The tools the planner may use, and the permission each needs (read unless listed).
STORE_TOOLS = (get_item_descriptions, check_inventory, get_item_price, get_purchase_history, process_item_return)
STORE_PERMISSIONS = {"process_item_return": "returns"}
READ_ONLY_TOOLS = (get_item_descriptions, check_inventory, get_item_price)


def read_only_preamble() -> str:
    """Python source that defines the read-only store tools: what a code plan runs after, in its own
    process (no agentkit there, no write tools). Their data goes in as `read_only_data()`."""
    import inspect

    return "\n".join(inspect.getsource(fn) for fn in READ_ONLY_TOOLS)


def read_only_data() -> dict:
    """The data the read-only tools read, as JSON values (the sandbox's inputs)."""
    return {"PRODUCTS": PRODUCTS, "INVENTORY": INVENTORY}


# -- Lesson 09: multi-agent systems, the marketing-brochure team ----------------------

class Finding(pydantic.BaseModel):
    """One research finding: the claim, its figure, where it comes from."""

    model_config = pydantic.ConfigDict(extra="forbid")
    claim: str
    figure: str
    source: str


class ResearchBrief(pydantic.BaseModel):
    """What the researcher hands on."""

    model_config = pydantic.ConfigDict(extra="forbid")
    findings: list[Finding] = pydantic.Field(min_length=2)


class Chart(pydantic.BaseModel):
    """One visual asset."""

    model_config = pydantic.ConfigDict(extra="forbid")
    title: str
    file: str = pydantic.Field(pattern=r"\.png$")
    caption: str


class DesignAssets(pydantic.BaseModel):
    """What the designer hands on."""

    model_config = pydantic.ConfigDict(extra="forbid")
    charts: list[Chart] = pydantic.Field(min_length=1)


class Brochure(pydantic.BaseModel):
    """The finished brochure."""

    model_config = pydantic.ConfigDict(extra="forbid")
    headline: str = pydantic.Field(max_length=80)
    body: str
    charts: list[str]
    sources: list[str]


BROCHURE_BRIEF = (
    "Create a one-page brochure for the launch of the Aurora e-bike. Product sheet: Aurora EUR 2,190, "
    "Rival A EUR 2,490, Rival B EUR 2,790; range 80 km."
)
BAD_BRIEF = (
    "Create a one-page brochure for the launch of the Aurora Cargo e-bike. Product sheet: Aurora Cargo "
    "EUR 3,490; load 120 kg."
)

#: The simulated web: query -> result text.
WEB = {
    "e-bike market growth europe 2025": "Cycling Industry Report 2026: e-bike sales in Europe grew 12% in 2025.",
    "why commuters buy e-bikes": "Commuter survey 2026: 41% of e-bike buyers name arriving without sweat as "
                                 "their main reason.",
    "aurora cargo competitors": "Cargo e-bikes: most carry 100 kg or less.",
}


def web_search(query: str) -> str:
    """Search the web; returns the top result's text.

    Args:
        query: what to search for
    """
    return WEB.get(query.lower().strip(), f"no results for {query!r}")


def make_chart(title: str, labels: list[str], values: list[float]) -> dict:
    """Render a bar chart for the brochure and return its file name.

    Args:
        title: the chart's title
        labels: one label per bar
        values: one value per bar
    """
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values; give one value per label")
    slug = "-".join(title.lower().split())
    return {"file": f"chart-{slug}.png", "bars": len(values)}


# Each role with a handoff schema gets it through structured outputs (`output_config.format`, set by `Team`),
# so the prompts say what to hand on, never "reply in JSON". The scenarios match these prompts' first words.
RESEARCHER_SYSTEM = ("You are a research agent specialised in market analysis for a brochure team. Find market "
                     "trends with web_search and hand on at least two findings, each with its figure and source.")
DESIGNER_SYSTEM = ("You are the graphic designer of a brochure team. Make the charts the brochure needs from the "
                   "product sheet with make_chart and hand on each chart's title, .png file and caption.")
WRITER_SYSTEM = ("You are the copywriter of a brochure team. Turn the research and the charts you are given into "
                 "the brochure: a headline, the body, the chart files you use and your sources.")
LOOSE_WRITER_SYSTEM = WRITER_SYSTEM + " You may search the web yourself to double-check facts."
MANAGER_SYSTEM = ("You are the managing editor of a brochure team. Delegate research, design and writing to your "
                  "reports with the delegate tool, in whatever order the work needs, and hand on the writer's "
                  "brochure.")
EDITOR_SYSTEM = ("You are the editor-in-chief of a brochure team with a research lead. Delegate research, design "
                 "and writing with the delegate tool and hand on the writer's brochure.")
RESEARCH_LEAD_SYSTEM = ("You lead research for a brochure team. Delegate searching to the web researcher and "
                        "checking to the fact checker, and hand on the checked findings.")
WEB_RESEARCHER_SYSTEM = ("You are a web researcher. Search the web for market facts and hand on at least two "
                         "findings, each with its figure and source.")
FACT_CHECKER_SYSTEM = ("You are a fact checker. Verify each finding you are given against its source and hand on "
                       "the findings that hold.")
COPY_SYSTEMS = {
    "punchy": "You write short, punchy ad taglines for the Aurora e-bike. Read the others' messages and improve.",
    "calm": "You write calm, reassuring ad taglines for the Aurora e-bike. Read the others' messages and improve.",
    "critic": "You judge ad taglines for the Aurora e-bike: pick the strongest and say why, in one line.",
}


def brochure_roles(researcher_model: str | None = None, designer_model: str | None = None,
                   writer_model: str | None = None) -> list:
    """The brochure team's roles, each with only the tools it needs (models default to DEFAULT_MODEL)."""
    from agentkit.models import DEFAULT_MODEL
    from agentkit.patterns.multi_agent import Role

    researcher = Role("researcher", RESEARCHER_SYSTEM, (web_search,), ResearchBrief, researcher_model or DEFAULT_MODEL)
    designer = Role("designer", DESIGNER_SYSTEM, (make_chart,), DesignAssets, designer_model or DEFAULT_MODEL)
    writer = Role("writer", WRITER_SYSTEM, (), Brochure, writer_model or DEFAULT_MODEL)
    web_researcher = Role("web_researcher", WEB_RESEARCHER_SYSTEM, (web_search,), ResearchBrief)
    fact_checker = Role("fact_checker", FACT_CHECKER_SYSTEM, (web_search,), ResearchBrief)
    research_lead = Role("research_lead", RESEARCH_LEAD_SYSTEM, (), ResearchBrief,
                         reports=(web_researcher, fact_checker))
    return [
        researcher, designer, writer,
        Role("loose_writer", LOOSE_WRITER_SYSTEM, (web_search,), Brochure),
        Role("manager", MANAGER_SYSTEM, (), Brochure, reports=(researcher, designer, writer)),
        Role("editor", EDITOR_SYSTEM, (), Brochure, reports=(research_lead, designer, writer)),
        *(Role(name, system) for name, system in COPY_SYSTEMS.items()),
    ]


def research_eval(brief: ResearchBrief) -> bool:
    """Component eval: at least two findings, each with a figure and a source."""
    return len(brief.findings) >= 2 and all(f.figure and f.source for f in brief.findings)


def design_eval(assets: DesignAssets) -> bool:
    """Component eval: every chart has a file and a caption."""
    return all(c.file and c.caption for c in assets.charts)


def copy_eval(brochure: Brochure) -> bool:
    """Component eval: a headline under 60 characters, a body of 20-120 words, no shouting."""
    words = len(brochure.body.split())
    return len(brochure.headline) < 60 and 20 <= words <= 120 and "!!" not in brochure.body


def end_to_end_eval(brochure: Brochure, brief: ResearchBrief, assets: DesignAssets) -> list[str]:
    """End-to-end eval: every research figure and every chart made it into the brochure.
    Returns the problems (none: it passed)."""
    problems = [f"the brochure leaves out the finding {f.figure} ({f.claim})"
                for f in brief.findings if f.figure not in brochure.body]
    problems += [f"the brochure does not use the chart {c.file}" for c in assets.charts if c.file not in brochure.charts]
    return problems


# -- Lesson 10: decomposing big work ------------------------------------------------------

#: Median latency (ms) per endpoint in a normal week.
_ENDPOINTS = {"/api/orders": 120, "/api/search": 90, "/api/cart": 60, "/api/login": 45}
LOG_WEEKS = (1, 2, 3, 4)


def month_of_logs(seed: int = 7, per_week: int = 60) -> dict[int, list[str]]:
    """Four weeks of access-log lines (seeded): in week 3 a search-index rebuild makes /api/search slow,
    in week 4 a bad deploy makes /api/cart fail. Week number -> lines."""
    import random
    from datetime import datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2026, 10, 5)  # a Monday
    out: dict[int, list[str]] = {}
    for week in LOG_WEEKS:
        lines = []
        for i in range(per_week):
            at = start + timedelta(days=7 * (week - 1), minutes=i * 167)
            endpoint = rng.choice(list(_ENDPOINTS))
            ms = int(_ENDPOINTS[endpoint] * rng.lognormvariate(0, 0.35))
            if week == 3 and endpoint == "/api/search":
                ms *= 8
            failing = 0.35 if (week == 4 and endpoint == "/api/cart") else 0.0
            status = 500 if rng.random() < failing else 200
            lines.append(f"{at:%Y-%m-%dT%H:%M} GET {endpoint} {status} {ms}ms")
        out[week] = lines
    return out


LOGS = month_of_logs()


def read_logs(week: int) -> str:
    """Read one week's access logs (one request per line: time, method, path, status, latency).

    Args:
        week: the week of October 2026, 1 to 4
    """
    if week not in LOGS:
        raise ValueError(f"there are logs for weeks {', '.join(map(str, LOG_WEEKS))}, not week {week}")
    return "\n".join(LOGS[week])


def week_findings(week: int) -> dict:
    """The true figures for one week, computed with pandas: the slowest endpoint by p95 latency, its p95 (ms),
    the endpoint with the most errors and how many. What an analyst of that week should report."""
    import pandas as pd

    rows = [line.split() for line in LOGS[week]]
    df = pd.DataFrame({"path": [r[2] for r in rows], "status": [int(r[3]) for r in rows],
                       "ms": [int(r[4].removesuffix("ms")) for r in rows]})
    p95 = df.groupby("path")["ms"].quantile(0.95)
    errors = df[df.status >= 500].groupby("path").size()
    worst_errors = errors.idxmax() if len(errors) else None
    return {"week": week, "slowest": str(p95.idxmax()), "p95_ms": int(round(p95.max())),
            "most_errors": worst_errors, "errors": int(errors.max()) if len(errors) else 0}


class WeekFinding(pydantic.BaseModel):
    """What a log analyst finds in one week: the slowest endpoint by p95 latency, and the one with most 5xx errors."""

    model_config = pydantic.ConfigDict(extra="forbid")
    week: int
    slowest: str
    p95_ms: int
    most_errors: str | None
    errors: int


class LogFindings(pydantic.BaseModel):
    """What a log analyst hands on (through structured outputs): one finding per week it read, and a summary."""

    model_config = pydantic.ConfigDict(extra="forbid")
    weeks: list[WeekFinding]
    summary: str


DECOMPOSITION_SYSTEMS = {
    "log_analyst": "You are a log analyst. Read the logs you are asked about with read_logs and report, for each "
                   "week, the slowest endpoint by p95 latency and the endpoint with the most 5xx errors.",
    "log_aggregator": "You combine weekly log findings into one short incident report for the month.",
    "frontend": "You are the frontend engineer of a feature team. Reply with your part in two sentences.",
    "database": "You are the database engineer of a feature team. Reply with your part in two sentences.",
    "api_designer": "You design the backend API of a feature. Reply with the endpoints in two sentences.",
    "backend_developer": "You implement backend endpoints from an API design. Reply in two sentences.",
    "backend_tester": "You write the backend tests for implemented endpoints. Reply in two sentences.",
    "market_researcher": "You run phase 1 of a product launch: market research. Reply in two sentences.",
    "launch_planner": "You run phase 2 of a product launch: launch planning. Reply in two sentences.",
    "asset_creator": "You run phase 3 of a product launch: asset creation. Reply in two sentences.",
    "launch_manager": "You run phase 4 of a product launch: launch and monitoring. Reply in two sentences.",
    "refactorer": "You are a refactoring agent. Move every endpoint in your directory from check_auth_v1 to "
                  "require_auth_v2 with edit_file. Only touch your own directory.",
}

#: A small codebase for the spatial example: path -> source.
CODEBASE = {
    "services/users/api.py": "def get_user(req):\n    check_auth_v1(req)\n    return load_user(req.id)\n",
    "services/orders/api.py": "def list_orders(req):\n    check_auth_v1(req)\n    return orders_for(req.user)\n",
    "services/payments/api.py": "def pay(req):\n    check_auth_v1(req)\n    return charge(req.card, req.amount)\n",
    "services/notifications/api.py": "def notify(req):\n    check_auth_v1(req)\n    return send(req.user, req.text)\n",
}


def scoped_editor(files: dict[str, str], directory: str) -> object:
    """An edit_file tool that may only change files under `directory` (spatial decomposition's guardrail)."""
    from agentkit.tools import ToolError, tool

    def edit_file(path: str, old: str, new: str) -> str:
        """Replace the text old with new in one file of your directory.

        Args:
            path: the file, such as services/users/api.py
            old: the exact text to replace
            new: the text to put in its place
        """
        if not path.startswith(directory):
            raise ToolError(f"{path} is outside your directory {directory}; edit only files there")
        if path not in files or old not in files[path]:
            raise ToolError(f"{old!r} does not occur in {path}")
        files[path] = files[path].replace(old, new)
        return f"edited {path}"

    return tool(edit_file)


def decomposition_roles(files: dict[str, str] | None = None) -> list:
    """The roles lesson 10 uses; `files` is the codebase the refactorers edit (each scoped to one directory)."""
    from agentkit.patterns.multi_agent import Role

    roles = [Role(name, system, (read_logs,), LogFindings) if name == "log_analyst" else Role(name, system)
             for name, system in DECOMPOSITION_SYSTEMS.items() if name != "refactorer"]
    if files is not None:
        for directory in sorted({"/".join(p.split("/")[:2]) + "/" for p in files}):
            name = "refactor_" + directory.split("/")[1]
            roles.append(Role(name, DECOMPOSITION_SYSTEMS["refactorer"], (scoped_editor(files, directory),)))
    return roles
