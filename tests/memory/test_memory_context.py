"""Short-term context: a window of recent messages; a summary, through the gateway, citing what it replaced."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memory_helpers import FnAgent, run_fn  # noqa: E402

from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.memory import estimate_tokens, summarise_over_budget, window  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

SYSTEM = {"role": "system", "content": "You are Klaus, a sociology student."}
TURNS = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: " + "words " * 20} for i in range(10)]


def test_window_keeps_the_system_prompt_and_the_last_n():
    messages = [SYSTEM] + TURNS
    assert window(messages, 3) == [SYSTEM] + TURNS[-3:]
    assert window(messages, 0) == [SYSTEM]
    assert window(messages, 50) == messages
    assert window(TURNS, 2) == TURNS[-2:]
    with pytest.raises(ConfigError, match="-1"):
        window(messages, -1)


async def test_over_budget_the_older_messages_become_one_summary_that_names_them(journal):
    messages = [SYSTEM] + TURNS
    model = ScriptedModel(["Klaus and Maria discussed his research; she will read chapter 2."])

    async def go(ctx):
        return await summarise_over_budget(ctx, model, messages, budget=100, keep_last=3)

    agent = FnAgent(go)
    result = await runner.run(agent, "summarise", journal=journal)
    out, summary = agent.value
    assert summary.replaced == tuple(range(1, 8))  # after the system prompt, before the last 3
    assert out[0] == SYSTEM and out[-3:] == TURNS[-3:] and len(out) == 5
    assert "messages 1–7" in out[1]["content"] and summary.text in out[1]["content"]
    assert estimate_tokens(out) < estimate_tokens(messages)
    [asked] = model.requests
    sent = asked.messages[-1]["content"]
    assert "[1] user: turn 0:" in sent and "[7] user: turn 6:" in sent and "turn 7:" not in sent
    assert [e.kind for e in journal.entries(result.run_id)] == ["model"]

    again = ScriptedModel([])
    replay_agent = FnAgent(lambda ctx: summarise_over_budget(ctx, again, messages, budget=100, keep_last=3))
    replayed = await runner.replay(replay_agent, result.run_id, journal=journal)
    assert replayed.ok and again.requests == [] and replay_agent.value == agent.value


async def test_within_budget_nothing_is_asked():
    model = ScriptedModel([])
    messages = [SYSTEM] + TURNS
    out, summary = (await run_fn(lambda ctx: summarise_over_budget(ctx, model, messages, budget=10_000)))[0]
    assert out == messages and summary is None and model.requests == []

    async def zero(ctx):
        with pytest.raises(ConfigError, match="budget"):
            await summarise_over_budget(ctx, model, messages, budget=0)

    await run_fn(zero)
