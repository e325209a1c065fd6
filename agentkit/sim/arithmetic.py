"""Arithmetic in a request: the steps a model would hand to a calculator tool, one per turn.

`steps(text)` reads a request such as "What is 17 * 23, then add 100 to the result?" or "Multiply 12 by 7,
then divide it by 4" and returns the expressions to evaluate in order, each possibly using the previous
step's result (written `{prev}`): ["17 * 23", "{prev} + 100"]. What it understands:

- symbols and words for the operators: + - * / ^ x × ÷, plus, minus, times, multiplied by, divided by,
  to the power of, squared, cubed, "N percent of M" / "N% of M";
- verb forms: "add A to B", "subtract A from B", "multiply A by B", "divide A by B", "the sum / product /
  difference / average of A and B", and with only one number "add 5", "divide it by 2", "double it";
- steps split on "then", "after that", "next", ";" and on ", divided by ..." (an operator after a comma
  applies to everything before it); "the result", "it", "that", "the total" mean the previous step's result;
- "them", "both", "the two" mean the values looked up earlier (`values`), so "add them" sums them.

Numbers are digits (with thousands commas, decimals, a leading $). `evaluate` computes an expression with
Python's `ast` (numbers and + - * / ** % only), never `eval`.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Callable, Sequence

PREV = "{prev}"
_N = r"-?\d+(?:\.\d+)?"
_REF = r"(?:the\s+result|the\s+answer|the\s+total|the\s+sum|the\s+product|that|it|this)"
_ARG = rf"(?:{_N}|{_REF}|\{{prev\}})"
_SPLIT = re.compile(r"\s*(?:;|\band\s+then\b|,?\s*\bthen\b|\bafter\s+that\b|\bnext\b,?)\s*", re.I)
_COMMA_OP = re.compile(r",\s*(?=(?:and\s+)?(?:divided|multiplied|times|plus|minus|squared|cubed|to\s+the\s+power|"
                       r"divide|multiply|add|subtract|double|halve|square)\b)", re.I)
_GROUP = re.compile(r"\b(them|both|these|those|the\s+two|all\s+of\s+them|the\s+values|the\s+numbers)\b", re.I)

_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.Mod: operator.mod,
}


#: words that make "10-3" a subtraction; without them "3-5 bullet points" is a range, not arithmetic
_CUE = re.compile(r"\b(what(?:'s| is)|calculate|compute|evaluate|work out|solve|subtract|minus)\b|=", re.I)


def _clean(text: str) -> str:
    if not _CUE.search(text):
        text = re.sub(r"(?<=\d)-(?=\d)", " to ", text)  # 3-5 points: a range
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,234 -> 1234
    text = re.sub(r"\$(?=\d)", "", text)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", text)  # dates are not subtractions
    text = re.sub(r"(?<=\d)-(?=[a-z])", " ", text, flags=re.I)  # 1000-word
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text, flags=re.I)  # well-known
    text = text.replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
    return text


def _words_to_symbols(text: str) -> str:
    t = text
    for pattern, symbol in (
        (r"\bmultiplied\s+by\b", "*"), (r"\btimes\b", "*"), (r"(?<=\d)\s*x\s*(?=\d)", " * "),
        (r"\bdivided\s+by\b", "/"), (r"\bover\b(?=\s*-?\d)", "/"), (r"\bplus\b", "+"), (r"\bminus\b", "-"),
        (r"\bto\s+the\s+power\s+of\b", "**"), (r"\bsquared\b", "** 2"), (r"\bcubed\b", "** 3"),
        (r"\bmod(?:ulo)?\b", "%"),
    ):
        t = re.sub(pattern, f" {symbol} ", t, flags=re.I)
    t = re.sub(rf"({_N})\s*(?:%|percent)\s+of\s+({_N})", r"(\1 / 100 * \2)", t, flags=re.I)
    return t


def _ref(arg: str) -> str:
    return arg if re.fullmatch(_N, arg) else PREV


def _verbs(clause: str) -> str:
    """Verb phrases rewritten as expressions ("multiply 12 by 7" -> "12 * 7")."""
    c = clause
    rules: list[tuple[str, Callable[[re.Match[str]], str]]] = [
        (rf"\badd\s+({_ARG})\s+(?:to|and)\s+({_ARG})", lambda m: f" ({_ref(m[2])} + {_ref(m[1])}) "),
        (rf"\bsubtract\s+({_ARG})\s+from\s+({_ARG})", lambda m: f" ({_ref(m[2])} - {_ref(m[1])}) "),
        (rf"\bmultiply\s+({_ARG})\s+(?:by|and|with)\s+({_ARG})", lambda m: f" ({_ref(m[1])} * {_ref(m[2])}) "),
        (rf"\bdivide\s+({_ARG})\s+(?:by|into)\s+({_ARG})", lambda m: f" ({_ref(m[1])} / {_ref(m[2])}) "),
        (rf"\b(?:the\s+)?sum\s+of\s+({_ARG})\s+and\s+({_ARG})", lambda m: f" ({_ref(m[1])} + {_ref(m[2])}) "),
        (rf"\b(?:the\s+)?product\s+of\s+({_ARG})\s+and\s+({_ARG})", lambda m: f" ({_ref(m[1])} * {_ref(m[2])}) "),
        (rf"\b(?:the\s+)?difference\s+between\s+({_ARG})\s+and\s+({_ARG})",
         lambda m: f" ({_ref(m[1])} - {_ref(m[2])}) "),
        (rf"\b(?:the\s+)?average\s+of\s+({_ARG})\s+and\s+({_ARG})",
         lambda m: f" (({_ref(m[1])} + {_ref(m[2])}) / 2) "),
        (rf"\badd\s+({_N})\b", lambda m: f" ({PREV} + {m[1]}) "),
        (rf"\bsubtract\s+({_N})\b", lambda m: f" ({PREV} - {m[1]}) "),
        (rf"\bmultiply\s+(?:{_REF}\s+)?by\s+({_N})", lambda m: f" ({PREV} * {m[1]}) "),
        (rf"\bdivide\s+(?:{_REF}\s+)?by\s+({_N})", lambda m: f" ({PREV} / {m[1]}) "),
        (rf"\bdouble\s+{_REF}", lambda m: f" ({PREV} * 2) "),
        (rf"\b(?:halve\s+{_REF}|half\s+of\s+{_REF})", lambda m: f" ({PREV} / 2) "),
        (rf"\bsquare\s+{_REF}", lambda m: f" ({PREV} ** 2) "),
    ]
    for pattern, make in rules:
        c = re.sub(pattern, make, c, flags=re.I)
    c = re.sub(rf"\b{_REF}\b", f" {PREV} ", c, flags=re.I)
    return c


_TOKEN = re.compile(r"\{prev\}|\d+(?:\.\d+)?|\*\*|[-+*/%()]")


def expression(clause: str, has_prev: bool) -> str | None:
    """The expression one clause asks for (using `{prev}` for the previous result), or None if it asks none."""
    c = _verbs(_words_to_symbols(_clean(clause)))
    tokens = _TOKEN.findall(c)
    if not tokens:
        return None
    if tokens[0] in ("*", "/", "+", "**", "%") and has_prev:  # "divided by 2" after a comma
        tokens = [PREV, *tokens]
    text = " ".join(tokens).replace("( ", "(").replace(" )", ")")
    if PREV in text and not has_prev:
        return None
    if not any(t in ("+", "-", "*", "/", "**", "%") for t in tokens):
        return None
    try:
        tree = ast.parse(text.replace(PREV, "0"), mode="eval")
    except SyntaxError:
        return None
    if not _has_binary(tree.body):
        return None
    return text


def _has_binary(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) for n in ast.walk(node))


def steps(text: str, values: Sequence[float] = ()) -> list[str]:
    """The arithmetic the request asks for, as expressions to evaluate in order (see the module docstring).

    `values`: numbers looked up earlier in the conversation, which "them" / "both" refer to."""
    text = _COMMA_OP.sub(" then ", text)
    out: list[str] = []
    for clause in _SPLIT.split(text):
        if not clause.strip():
            continue
        if values and _GROUP.search(clause):
            clause = _group(clause, values)
        expr = expression(clause, has_prev=bool(out))
        if expr is not None:
            out.append(expr)
    return out


def _group(clause: str, values: Sequence[float]) -> str:
    """ "add them" -> "(a + b)", "multiply them" -> "(a * b)", "the average of them" -> "((a + b) / 2)"."""
    nums = [fmt(v) for v in values]
    low = clause.lower()
    if re.search(r"\b(multiply|product)\b", low):
        group = "(" + " * ".join(nums) + ")"
    elif re.search(r"\b(average|mean)\b", low):
        group = "((" + " + ".join(nums) + f") / {len(nums)})"
    elif re.search(r"\b(subtract|difference)\b", low):
        group = "(" + " - ".join(nums) + ")"
    else:
        group = "(" + " + ".join(nums) + ")"
    clause = re.sub(r"\b(add|sum|multiply|subtract|average|total)\b", " ", clause, flags=re.I)
    clause = re.sub(r"\b(?:the\s+)?(?:product|average|mean|difference|sum|total)\s+of\b", " ", clause, flags=re.I)
    return _GROUP.sub(f" {group} ", clause, count=1)


def evaluate(expr: str, prev: float | None = None) -> float:
    """The value of an expression from `steps` (`{prev}` replaced by `prev`). Raises ValueError on anything
    that is not plain arithmetic, and ZeroDivisionError as Python does."""
    text = expr.replace(PREV, fmt(prev) if prev is not None else "0")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expr!r}") from exc
    return _eval(tree.body)


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ValueError("exponent too large")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("only numbers and + - * / ** % are allowed")


def fmt(value: float | None) -> str:
    """A number as a person writes it: 42 rather than 42.0, at most 10 significant decimals."""
    if value is None:
        return "0"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def first_number(text: str) -> float | None:
    """The first number in a tool's result ("391", "{\"result\": 391.0}", "The answer is -2.5")."""
    m = re.search(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?", text)
    return float(m.group(0).replace(",", "")) if m else None
