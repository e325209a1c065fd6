"""Tests for agentkit.redact: secrets and personal data masked in tool inputs, everything else kept."""

from __future__ import annotations

import copy
import json

import pytest

from agentkit.redact import MASK, is_sensitive_key, luhn_valid, redact, redact_headers


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
                                 "Authorization", "aws_secret_access_key", "session_id", "card_number", "pin",
                                 "auth", "passcode", "cvv", "card_cvc"])
def test_secret_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["author", "max_tokens", "query", "spinner", "keyword", "session", 3])
def test_ordinary_keys(key: object) -> None:
    assert not is_sensitive_key(key)


def test_nested_structures_are_redacted_without_touching_the_input() -> None:
    value = {
        "query": "find mail from bob@example.org",
        "settings": {"apiKey": "plain-looking-value", "password": 12345, "is_secret": True, "token": None},
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
        "settings": {"apiKey": MASK, "password": MASK, "is_secret": True, "token": None},
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


# -- what the hostile-input catalog found missing --------------------------------------------


@pytest.mark.parametrize("text, leaked", [
    ("deploy with prod_sk-ant-" + "api03-" + "a" * 24, "sk-ant-"),
    ("write to josé@exämple.de please", "josé@"),
    ("联系 用户@例子.广告 谢谢", "用户@"),
    ("card 4111.1111.1111.1111 on file", "4111.1111"),
])
def test_text_the_catalog_found_leaking(text: str, leaked: str) -> None:
    assert leaked not in redact(text)


def test_emails_and_keys_used_as_dict_keys_are_masked() -> None:
    key = "sk-ant-" + "api03-" + "b" * 24
    out = redact({"ana@example.com": 3, key: "x", "bob@example.com": 4})
    assert not any("@" in k or "sk-ant" in k for k in out) and sorted(map(str, out.values())) == ["3", "4", "x"]


def test_a_phone_number_given_as_a_json_number_is_masked() -> None:
    assert redact({"phone": 4155552671, "count": 42, "year": 2026}) == {"phone": "[REDACTED:phone]", "count": 42, "year": 2026}
    assert redact(10**400) == 10**400  # huge ints pass through, quickly


def test_deep_nesting_is_cut_off_instead_of_crashing() -> None:
    value: object = "ana@example.com"
    for _ in range(600):
        value = [value]
    out = redact(value)
    depth = 0
    while isinstance(out, list):
        out, depth = out[0], depth + 1
    assert depth == 64 and "nested deeper" in out


def test_huge_text_is_cut_before_it_is_recorded() -> None:
    out = redact("x" * 1_000_000)
    assert len(out) < 100_100 and out.endswith("more characters not recorded]")


def test_headers_lose_their_credentials_and_keep_the_rest() -> None:
    key = "sk-ant-api03-" + "Zq7" * 30
    headers = {"Authorization": f"Bearer {key}", "X-Api-Key": key, "Cookie": "session=abc123def456",
               "x-auth-token": "opaque", "anthropic-version": "2026-10-21", "anthropic-beta": "threads-2026-08-01",
               "x-debug-note": f"sent with {key}"}
    safe = redact_headers(headers)
    assert key not in json.dumps(safe)
    assert safe["authorization"] == safe["x-api-key"] == safe["cookie"] == safe["x-auth-token"] == MASK
    assert safe["anthropic-version"] == "2026-10-21" and safe["anthropic-beta"] == "threads-2026-08-01"
    assert safe["x-debug-note"] == "sent with [REDACTED:api_key]"
    assert redact_headers([("X-Api-Key", key)]) == {"x-api-key": MASK}  # pairs work too
