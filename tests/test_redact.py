"""Tests for agentkit.redact: secrets and personal data masked in tool inputs, everything else kept."""

from __future__ import annotations

import copy
import json

import pytest

from agentkit.redact import MASK, is_sensitive_key, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-ant-" "api03-AbCdEf_123-456xyz end", "key [REDACTED:api_key] end"),  # split: no key-shaped literal
        ("openai sk-proj-abcdefghijklmnopqrstuv", "openai [REDACTED:api_key]"),
        ("Authorization: Bearer abc.def-ghi_jkl123", "Authorization: Bearer [REDACTED:token]"),
        ("id AKIAIOSFODNN7EXAMPLE in config", "id [REDACTED:aws_key] in config"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[REDACTED]"),
        ("token ghp_0123456789abcdefghijABCDEFGHIJ", "token [REDACTED:token]"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N", "jwt [REDACTED:jwt]"),
        ("login with password=hunter2&user=bob", "login with password=[REDACTED]&user=bob"),
        ('{"api_key": "abc123", "q": "x"}', '{"api_key": "[REDACTED]", "q": "x"}'),
        ("write to jane.doe+news@example.co.uk today", "write to [REDACTED:email] today"),
        ("call +44 20 7946 0958 or (415) 555-2671", "call [REDACTED:phone] or [REDACTED:phone]"),
        ("call 415.555.2671", "call [REDACTED:phone]"),
        ("card 4111 1111 1111 1111 please", "card [REDACTED:card] please"),
        ("card 4111-1111-1111-1111", "card [REDACTED:card]"),
    ],
)
def test_text_patterns_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",  # fails the Luhn check: not a card
        "on 2026-11-21 09:45:00 from 192.168.1.10",  # dates, times and addresses are not phones
        "max_tokens 1024, year 2024, pi 3.14159, zip 94103",
        "the author wrote about tokens and secrets management",  # words, not values
        "sk-short",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


@pytest.mark.parametrize("key", ["password", "api_key", "apiKey", "X-Api-Key", "accessToken", "client_secret",
                                 "Authorization", "aws_secret_access_key", "session_id", "card_number", "pin"])
def test_secret_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["author", "max_tokens", "query", "spinner", "keyword", "session", 3])
def test_ordinary_keys(key: object) -> None:
    assert not is_sensitive_key(key)


def test_nested_structures_are_redacted_without_touching_the_input() -> None:
    value = {
        "query": "find mail from bob@example.org",
        "auth": {"apiKey": "plain-looking-value", "password": 12345, "is_secret": True, "token": None},
        "contacts": [{"name": "Ada", "phone": "+1 415 555 2671"}, ("tuple", "ada@example.com")],
        "cards": [4111111111111111, 4111111111111112],
        "max_tokens": 100,
        "ratio": 0.5,
    }
    original = copy.deepcopy(value)
    out = redact(value)
    assert value == original  # a copy; the tool still gets the real input
    assert out == {
        "query": "find mail from [REDACTED:email]",
        "auth": {"apiKey": MASK, "password": MASK, "is_secret": True, "token": None},
        "contacts": [{"name": "Ada", "phone": "[REDACTED:phone]"}, ["tuple", "[REDACTED:email]"]],
        "cards": ["[REDACTED:card]", 4111111111111112],
        "max_tokens": 100,
        "ratio": 0.5,
    }
    json.dumps(out)  # still JSON for the span attribute


def test_secret_key_masks_a_whole_container() -> None:
    assert redact({"credentials": {"user": "bob", "pass": "x"}}) == {"credentials": MASK}


def test_self_referencing_containers_do_not_recurse_forever() -> None:
    loop: dict[str, object] = {"a": 1}
    loop["self"] = loop
    assert redact(loop) == {"a": 1, "self": "[REDACTED:cycle]"}


def test_other_values_pass_through() -> None:
    marker = object()
    assert redact(marker) is marker
    assert redact(None) is None and redact(True) is True
