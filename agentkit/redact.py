"""Mask secrets and personal data before they go on a span.

Tool inputs are the most useful thing to record on an `execute_tool` span and
the most dangerous: a model happily passes an e-mail address, a phone number
or a pasted API key to a tool. Traces are copied to backends that more people
can read than the application's own logs, so `redact(value)` runs on every
tool input before the agent records it (`gen_ai.tool.call.arguments`).

What it masks, in nested dicts, lists and strings alike:

- values under keys named like a secret (`password`, `api_key`, `accessToken`,
  `client_secret`, `Authorization`, ...), whatever the value looks like;
- API keys and tokens in text: Anthropic (`sk-ant-...`) and other `sk-` keys,
  `Bearer ...` tokens, AWS access key ids, GitHub tokens, JWTs, and
  `password=...` style pairs;
- e-mail addresses, phone numbers (10 to 15 digits, or `+` and 8 or more), and
  card-like numbers that pass the Luhn check (so an order id does not).

It returns a copy and never changes its input. It is a safety net, not a
guarantee: free text can hide data no pattern knows, so keep content capture
off for tools that handle personal data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["CREDENTIAL_HEADERS", "MASK", "redact", "redact_headers", "is_sensitive_key", "luhn_valid"]

#: What a value under a secret-named key becomes.
MASK = "[REDACTED]"

# Words that make a key secret. Matched per word of the key (split on `_`, `-`,
# spaces and camelCase), so `author` or `max_tokens` stay visible while
# `auth_token` and `apiKey` do not.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "token", "apikey",
        "credential", "credentials", "authorization", "auth", "cookie", "pin", "ssn", "cvv", "cvc",
    }
)
# Two-word names that are secret although neither word is on its own.
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
        ("session", "id"), ("client", "secret"), ("card", "number"), ("account", "number"),
    }
)

# Ordered: the more specific patterns run first, so an `sk-ant-` key is not half
# eaten by the generic `sk-` one and a card number is not taken for a phone.
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # (?<![A-Za-z0-9]) rather than \b: a key glued after an underscore (prod_sk-ant-...) still starts here
    (re.compile(r"(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{8,}"), "[REDACTED:api_key]"),
    (re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_-]{16,}"), "[REDACTED:api_key]"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "[REDACTED:token]"),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "[REDACTED:aws_key]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED:jwt]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED:token]"),
    (
        re.compile(
            r"(?i)\b(aws_secret_access_key|password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
            r"|client[_-]?secret)(['\"]?\s*[:=]\s*)(['\"]?)[^\s'\",;&]+"
        ),
        r"\1\2\3[REDACTED]",
    ),
    # \w, not [a-z0-9]: internationalised addresses (josé@exämple.de, 用户@例子.广告) are e-mails too
    (re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b"), "[REDACTED:email]"),
)

# 13 to 19 digits, optionally in groups split by spaces, dashes or dots.
_CARD_CANDIDATE = re.compile(r"(?<![\w.])\d(?:[ .-]?\d){12,18}(?![\w]|\.\d)")
# Digit runs that may be a phone number: optional `+` and country code, optional
# `(area)`, then groups split by spaces, dots or dashes. Counted digits decide.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w.+])(\+)?(?:\d{1,4}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){0,4}(?![\w:])"
)


def luhn_valid(digits: str) -> bool:
    """Whether `digits` (only 0-9) passes the Luhn checksum that card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _key_words(key: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)  # camelCase -> camel Case
    return [w for w in re.split(r"[\s_.\-]+", spaced.lower()) if w]


def is_sensitive_key(key: object) -> bool:
    """Whether a dict key names a secret (`password`, `api_key`, `accessToken`, ...)."""
    return isinstance(key, str) and _secret_name(key)


@functools.lru_cache(maxsize=4096)  # tools reuse a few key names on every call
def _secret_name(key: str) -> bool:
    words = _key_words(key)
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


def _mask_cards(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        return "[REDACTED:card]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else m.group()

    return _CARD_CANDIDATE.sub(repl, text)


def _mask_phones(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in m.group())
        plus = m.group(1) is not None
        if (plus and 8 <= digits <= 15) or 10 <= digits <= 15:
            return "[REDACTED:phone]"
        return m.group()

    return _PHONE_CANDIDATE.sub(repl, text)


def _redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return _mask_phones(_mask_cards(text))


def _redact_number(value: int) -> int | str:
    if not -10**19 < value < 10**19:
        return value  # far too long for a card or a phone (and str() of a huge int is slow)
    digits = str(abs(value))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[REDACTED:card]"
    if 10 <= len(digits) <= 15:  # a phone number stored as a JSON number (4155550123)
        return "[REDACTED:phone]"
    return value


@functools.lru_cache(maxsize=4096)  # tools send the same few keys on every call
def _redact_key(key: str) -> str:
    return _redact_text(key)


def redact(value: Any) -> Any:
    """A copy of `value` with secrets and personal data masked.

    Dicts keep their keys; a value under a secret-named key becomes `MASK`
    (booleans and `None` are kept: they reveal nothing). Lists and tuples come
    back as lists, as JSON would have them. Strings have keys, tokens, e-mails,
    phones and Luhn-valid card numbers replaced by `[REDACTED:<kind>]`. Other
    values are returned as they are.
    """
    return _redact(value, set(), 0)


#: Containers nested deeper than this are replaced whole: nothing a tool takes is this deep,
#: and recursing further would crash a traced run with RecursionError.
MAX_DEPTH = 64
#: Text longer than this is cut before it is scanned and recorded (a span is not a data store).
MAX_TEXT = 100_000


def _redact(value: Any, seen: set[int], depth: int) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            value = value[:MAX_TEXT] + f"[... {len(value) - MAX_TEXT:,} more characters not recorded]"
        return _redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return _redact_number(value)
    if isinstance(value, (Mapping, list, tuple)):
        # A container that holds itself would recurse forever; JSON never does.
        if id(value) in seen:
            return "[REDACTED:cycle]"
        if depth >= MAX_DEPTH:
            return f"[REDACTED:nested deeper than {MAX_DEPTH} levels]"
        seen = seen | {id(value)}
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                # a key is data too: an e-mail or a key used as a dict key is masked like any text
                shown = _redact_key(key) if isinstance(key, str) else key
                if shown in out:  # two keys masked to the same text: keep both entries
                    shown = f"{shown}#{len(out)}"
                if is_sensitive_key(key) and not (isinstance(item, bool) or item is None):
                    out[shown] = MASK
                else:
                    out[shown] = _redact(item, seen, depth + 1)
            return out
        return [_redact(item, seen, depth + 1) for item in value]
    return value


#: Request headers that carry credentials: their values are never kept, whatever they look like.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})


def redact_headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """HTTP headers made safe to keep: names lower-cased, credential headers (`Authorization`,
    `x-api-key`, cookies, and any secret-named header such as `x-auth-token`) masked whole, and
    key-shaped text in the other values masked as `redact` masks it.

    Since anthropic 2.17 a middleware's `request.headers` include the client's credentials, so
    anything that records requests (`agentkit.middleware.Ledger`, a test's recorder) keeps them
    only through this function. `headers` may be a dict, an httpx `Headers`, or (name, value) pairs.
    """
    items: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        if key in CREDENTIAL_HEADERS or is_sensitive_key(key):
            out[key] = MASK
        else:
            out[key] = _redact_text(str(value))
    return out
