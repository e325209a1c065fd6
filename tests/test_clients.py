"""Tests for agentkit.clients: client() / async_client() pick live or simulated mode, say which in one line, and
hand back the SDK's own classes; is_live() and agentkit.sim.simulator_of() tell them apart."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import anthropic
import pytest

import agentkit
from agentkit.models import DEFAULT_MODEL
from agentkit.sim import Faults, Scenario, Simulator, simulator_of
from sim_helpers import scale, user


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AGENTKIT_LIVE"):
        monkeypatch.delenv(name, raising=False)
    with scale(0):
        yield


def test_simulated_by_default_and_says_so_in_one_line(capsys):
    c = agentkit.client()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "simulated" in out and "ANTHROPIC_API_KEY" in out
    assert type(c) is anthropic.Anthropic  # the SDK's own class, not a look-alike
    assert not agentkit.is_live(c) and isinstance(simulator_of(c), Simulator)
    from agentkit.clients import SIMULATED_API_KEY as simulated_key
    assert c.api_key == simulated_key and not simulated_key.startswith("sk-")
    m = c.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=user("Hi"))
    assert m.type == "message"
    assert capsys.readouterr().out == ""  # nothing else printed by a call


def test_quiet_prints_nothing(capsys):
    agentkit.client(quiet=True)
    agentkit.async_client(quiet=True)
    assert capsys.readouterr().out == ""


def test_async_client_is_the_sdks_async_class(capsys):
    ac = agentkit.async_client()
    assert "simulated" in capsys.readouterr().out
    assert type(ac) is anthropic.AsyncAnthropic and not agentkit.is_live(ac)

    async def go():
        return await ac.messages.create(model=DEFAULT_MODEL, max_tokens=50, messages=user("Hi"))

    assert asyncio.run(go()).role == "assistant"


def test_live_when_a_key_is_set(monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "test-not-a-real-key")  # split: no key-shaped literal
    c = agentkit.client()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "live" in out
    assert type(c) is anthropic.Anthropic and agentkit.is_live(c) and simulator_of(c) is None
    assert str(c.base_url).startswith("https://api.anthropic.com")
    ac = agentkit.async_client(quiet=True)
    assert type(ac) is anthropic.AsyncAnthropic and agentkit.is_live(ac)
    # live=False still forces the simulator, key or not
    assert not agentkit.is_live(agentkit.client(live=False, quiet=True))


def test_live_without_a_key_is_a_clear_error():
    with pytest.raises(RuntimeError, match="ANTHROPIC_API_KEY") as err:
        agentkit.client(live=True)
    assert "simulator" in str(err.value)
    with pytest.raises(RuntimeError, match="ANTHROPIC_API_KEY"):
        agentkit.async_client(live=True)


def test_agentkit_live_without_a_key_is_the_same_clear_error(monkeypatch):
    monkeypatch.setenv("AGENTKIT_LIVE", "1")
    with pytest.raises(RuntimeError, match="ANTHROPIC_API_KEY"):
        agentkit.client(quiet=True)


def test_sdk_options_pass_through():
    c = agentkit.client(quiet=True, max_retries=7, default_headers={"x-course": "agentkit"})
    assert c.max_retries == 7
    with scale(0.001):
        c = agentkit.client(quiet=True, max_retries=0, faults=Faults(fail_first=1))
        with pytest.raises(anthropic.OverloadedError):
            c.messages.create(model=DEFAULT_MODEL, max_tokens=20, messages=user("Hi"))


def test_scenarios_seed_and_a_shared_simulator(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: from_file\nmatch: file\nturns: ['From a file.']\n")
    obj = Scenario.from_dict({"name": "obj", "match": "object", "turns": ["From an object."]})
    c = agentkit.client(quiet=True, scenarios=[obj, {"name": "d", "match": "dict", "turns": ["From a dict."]}, path])
    say = lambda cl, q: cl.messages.create(model=DEFAULT_MODEL, max_tokens=30, messages=user(q)).content[0].text
    assert [say(c, q) for q in ("object", "dict", "file")] == ["From an object.", "From a dict.", "From a file."]

    a, b = agentkit.client(quiet=True, seed=5), agentkit.client(quiet=True, seed=6)
    ask = lambda cl: cl.messages.create(model=DEFAULT_MODEL, max_tokens=30, messages=user("Hi")).id
    assert ask(a) != ask(b)
    assert ask(agentkit.client(quiet=True, seed=5)) == ask(agentkit.client(quiet=True, seed=5))

    # two clients over one simulator share its state (threads, cache, batches); extra scenarios and faults apply to it
    sim = Simulator()
    one = agentkit.client(quiet=True, simulator=sim)
    two = agentkit.async_client(quiet=True, simulator=sim, scenarios=[obj], faults=Faults(rate_limit=0.0))
    assert simulator_of(one) is simulator_of(two) is sim
    assert [s.name for s in sim.scenarios] == ["obj"]
    one.messages.create(model=DEFAULT_MODEL, max_tokens=30, messages=user("Hi"))
    assert len(sim.requests) == 1


def test_bad_scenarios_argument_is_explained():
    with pytest.raises(ValueError, match="no scenario file named 'no_such_lesson'"):
        agentkit.client(quiet=True, scenarios=["no_such_lesson"])
    with pytest.raises(TypeError, match="int"):
        agentkit.client(quiet=True, scenarios=[42])


def test_public_names_are_exported():
    from agentkit import async_client, client, is_live

    assert all(callable(f) for f in (async_client, client, is_live))


def test_agentkit_client_stays_callable_after_importing_its_module():
    # In a fresh interpreter: this test process has already resolved agentkit.client.
    # The module is agentkit/clients.py, so importing it cannot shadow the function agentkit.client.
    code = "import agentkit.clients, agentkit; assert callable(agentkit.client), agentkit.client"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
