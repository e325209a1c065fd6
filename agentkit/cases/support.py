"""A retail support desk: the running example of Foundations 03-06.

* `STOCK_CASES` and `stock_bot(client, version)`: the "is this item in stock?" assistant,
  a labelled eval set for exact-match and field-level evals (Foundations 04). Version
  "v1" answers from its general knowledge; "v2" has the inventory in its context.
* `LATE_ORDER_EMAIL` and `reply_checks`: a customer whose order is late, and the code checks
  a good reply passes (Foundations 03 context engineering, 05 memory).
* `CONTEXT`: the role, background, memory and tool that context engineering adds one by one.

What the simulated model writes is data: `agentkit/scenarios/f04_support.yaml`.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Literal

from agentkit.evals import Case, measured_call
from agentkit.models import FAST_MODEL
from agentkit.tools import ToolError, tool

__all__ = ["INVENTORY", "STOCK_CASES", "stock_bot", "LATE_ORDER_EMAIL", "ORDER", "CONTEXT", "lookup_order",
           "reply_checks"]

#: item -> units in stock
INVENTORY: dict[str, int] = {
    "blue denim jacket": 4,
    "black leather boots": 0,
    "grey wool scarf": 12,
    "red rain jacket": 0,
    "white linen shirt": 7,
}

STOCK_CASES: tuple[Case, ...] = (
    Case("jacket", "Do you have the blue denim jacket in stock?", {"item": "blue denim jacket", "in_stock": "yes"}),
    Case("boots", "Are the black leather boots available?", {"item": "black leather boots", "in_stock": "no"}),
    Case("scarf", "Is the grey wool scarf in stock right now?", {"item": "grey wool scarf", "in_stock": "yes"}),
    Case("rain", "Can I still buy the red rain jacket?", {"item": "red rain jacket", "in_stock": "no"}),
    Case("shirt", "Got any of the white linen shirts?", {"item": "white linen shirt", "in_stock": "yes"}),
)

_STOCK_SYSTEM = ("You are a stock assistant for a clothing shop. Answer with JSON only: "
                 "{\"item\": the item's name, \"in_stock\": \"yes\" or \"no\"}.")


def stock_bot(client: Any, version: Literal["v1", "v2"] = "v2", *, model: str = FAST_MODEL) -> Callable[[str], Any]:
    """The stock assistant as a function question -> answer dict (the JSON it replied, parsed).

    v1's system prompt has no inventory, so it can only guess; v2's lists the stock. A reply
    that is not JSON comes back as the raw text, which the field-level eval then marks wrong.
    """
    if version not in ("v1", "v2"):
        raise ValueError(f"version must be 'v1' or 'v2', got {version!r}")
    system = _STOCK_SYSTEM
    if version == "v2":
        stock = "\n".join(f"- {item}: {n} in stock" for item, n in INVENTORY.items())
        system += f"\n<inventory>\n{stock}\n</inventory>"

    def answer(question: str) -> Any:
        call = measured_call(client, model=model, max_tokens=200, system=system,
                             messages=[{"role": "user", "content": question}])
        try:
            return json.loads(call.text)
        except json.JSONDecodeError:
            return call.text

    return answer


# -- the late order ----------------------------------------------------------------------

ORDER = {"id": "A-1042", "item": "grey wool scarf", "status": "delayed at the depot", "tracking": "TRK-55812",
         "shipping_fee": "4.95"}

LATE_ORDER_EMAIL = ("Hi, my order A-1042 was due on Monday and still hasn't arrived. This is the second time I'm "
                    "writing about it. What is going on? - Sam")

#: The context parts, added one at a time in Foundations 03.
CONTEXT = {
    "role": "You are a customer support agent for Northwind Clothing. Be warm, brief and specific; sign off as "
            "'Northwind Support'.",
    "background": "Policy: when a delivery is late we refund the shipping fee without being asked. Never promise a "
                  "delivery date the carrier has not confirmed.",
    "memory": ["Sam wrote on Thursday about order A-1042 and was told it had shipped."],
}


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order's status and tracking number.

    Args:
        order_id: the order number, such as "A-1042"
    """
    if order_id.strip().upper() != ORDER["id"]:
        raise ToolError(f"no order {order_id!r}; order numbers look like A-1042")
    return (f"Order {ORDER['id']}: {ORDER['item']}, {ORDER['status']}, tracking {ORDER['tracking']}, "
            f"shipping fee paid {ORDER['shipping_fee']}")


def reply_checks(reply: str) -> dict[str, bool]:
    """Code checks for a reply to `LATE_ORDER_EMAIL`: what a good one does, each True or False.

    names_order: quotes the order number; refunds_shipping: applies the late-delivery policy;
    acknowledges_contact: admits this is not the first message; gives_tracking: the real
    tracking number (only the order system knows it); no_promised_date: promises no delivery
    day; signed: the sign-off the role asks for.
    """
    text = reply.lower()
    return {
        "names_order": ORDER["id"].lower() in text,
        "refunds_shipping": bool(re.search(r"refund(ed|ing)? (the |your )?shipping", text)),
        "acknowledges_contact": bool(re.search(r"again|second time|wrote (to us )?before|last week|thursday", text)),
        "gives_tracking": ORDER["tracking"].lower() in text,
        "no_promised_date": not re.search(r"\b(tomorrow|by (monday|tuesday|wednesday|thursday|friday))\b", text),
        "signed": "northwind support" in text,
    }


# -- Foundations 06: outputs for the quality gate -------------------------------------------------


def _reply(body: str, subject: str = "Your order A-1042") -> str:
    return json.dumps({"subject": subject, "body": body})


_GOOD = ("Hi Sam, I'm sorry you had to write to us again. Order A-1042 is delayed at the depot; you can follow it "
         "with tracking number TRK-55812. We've refunded the shipping fee for the delay. Northwind Support")

#: name -> (the reply the agent produced, what is wrong with it: "" if nothing)
GATE_CANDIDATES: dict[str, tuple[str, str]] = {
    "good": (_reply(_GOOD), ""),
    "too_long": (_reply("Hi Sam, we are so very sorry. " * 25 + _GOOD), "over the length limit"),
    "leaks_email": (_reply(_GOOD.replace("Northwind Support", "We told jo.bloggs@example.com the same. "
                                         "Northwind Support")), "another customer's email address"),
    "not_json": (_GOOD, "not the JSON the mail system needs"),
    "wrong_policy": (_reply("Hi Sam, order A-1042 is delayed at the depot (tracking TRK-55812). Unfortunately "
                            "we can't refund shipping for delays. Northwind Support"), "contradicts the policy"),
    "rude": (_reply("As we already told you, order A-1042 is on its way (TRK-55812). Please stop emailing us. "
                    "Northwind Support"), "rude"),
    "voucher": (_reply(_GOOD.replace("Northwind Support", "We've also added a 20 EUR voucher for the trouble. "
                                     "Northwind Support")), "a voucher for an account flagged for voucher abuse"),
}

#: What the reviewer (who can see Sam's account) decides about each output that reaches them.
REVIEWER_NOTES = {"voucher": "No vouchers: Sam's account is flagged for voucher abuse. Remove the voucher."}

REPLY_POLICY = ("Policy: late deliveries get the shipping fee refunded. Replies are warm and professional. The customer "
                "wrote: " + LATE_ORDER_EMAIL)

#: Reference documents for Foundations 05 (static knowledge): paragraphs become citable passages.
POLICY_DOCS = {
    "returns": ("We accept returns within 30 days for unworn items with their tags on.\n\n"
                "Faulty items can be returned within 12 months, worn or not, for a refund or a replacement."),
    "shipping": ("Standard delivery takes 3 to 5 working days; express delivery takes 1 working day.\n\n"
                 "When a delivery is late we refund the shipping fee without being asked."),
    "care": ("Wool scarves: hand wash cold and dry flat.\n\nLinen shirts: machine wash at 30 degrees."),
}
