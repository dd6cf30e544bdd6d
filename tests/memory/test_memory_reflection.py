"""Importance is scored by a model, reflection fires at the paper's threshold, everything replays."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memory_helpers import FnAgent, run_fn  # noqa: E402

from agentzoo.errors import UnexpectedModelBehavior  # noqa: E402
from agentzoo.memory import HashingEmbedder, MemoryStream  # noqa: E402
from agentzoo.memory.importance import parse_importance  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

HOUR = 3600.0


def town_model(importance: int = 10) -> ScriptedModel:
    """Importance `importance` for everything; three questions; two insights per question citing the first two
    memories shown (and an id it was never shown, which must be dropped)."""

    def reply(request):
        text = request.messages[-1]["content"]
        if "Rate how much" in text:
            return str(importance)
        if "high-level questions" in text:
            return "1. What does Klaus care about?\n2. Who are Klaus's friends?\n3. How does Klaus spend his days?"
        if "Write up to" in text:
            shown = [int(x) for x in re.findall(r"^\[(\d+)\]", text, re.MULTILINE)]
            question = text.splitlines()[0].removeprefix("Question: ")
            return (f"- Klaus is devoted to his research ({question}) [evidence: {shown[0]}, {shown[1]}]\n"
                    f"- Klaus keeps to himself [evidence: {shown[1]}, 9999]\n"
                    "- a line with no evidence at all")
        raise AssertionError(f"unexpected prompt: {text[:80]}")

    return ScriptedModel(reply, name="town")


async def test_reflection_fires_when_summed_importance_reaches_150_and_insights_cite_evidence():
    model = town_model(importance=10)
    stream = MemoryStream(model=model, agent="Klaus")
    sizes = []

    async def go(ctx):
        for i in range(15):
            await stream.add(ctx, "observation", f"Klaus reads chapter {i} of his book on gentrification",
                             time=i * HOUR)
            sizes.append(len(stream))
        await stream.add(ctx, "plan", "Klaus plans to write all afternoon", time=15 * HOUR)  # plans do not count

    await run_fn(go)
    assert sizes[:14] == list(range(1, 15))  # 14 × 10 = 140 < 150: no reflection yet
    reflections = [r for r in stream.store.get(list(range(len(stream)))) if r.kind == "reflection"]
    assert sizes[14] == 15 + len(reflections)  # the 15th record brought the sum to 150: it reflected right then
    assert len(reflections) == 6  # 3 questions × 2 insights that cite records they were shown
    assert all(r.evidence and all(e < 15 for e in r.evidence) for r in reflections)
    assert {r.evidence for r in reflections} >= {(reflections[1].evidence[0],)}  # 9999 was dropped, not invented
    assert all(r.created == 14 * HOUR for r in reflections)
    assert stream.importance_since_reflection == 0  # reset; the plan and the insights did not count


async def test_importances_100_then_60_reflect_once_and_reset():
    model = town_model()
    stream = MemoryStream(model=model)

    async def go(ctx):
        await stream.add(ctx, "observation", "the bakery burned down", time=0.0, importance=100)
        first = len(stream)
        await stream.add(ctx, "observation", "the baker moved away", time=HOUR, importance=60)
        return first

    first = (await run_fn(go))[0]
    assert first == 1 and len(stream) > 2
    assert stream.importance_since_reflection == 0
    questions = [r for r in model.requests if "high-level questions" in r.messages[-1]["content"]]
    assert len(questions) == 1


async def test_importance_and_embedding_calls_are_journaled_and_a_replay_makes_no_model_call(journal):
    class CountingHashing(HashingEmbedder):
        calls = 0

        async def embed(self, texts):
            CountingHashing.calls += 1
            return await super().embed(texts)

    def agent(model):
        stream = MemoryStream(model=model, embedder=CountingHashing(), agent="Klaus")

        async def go(ctx):
            for i in range(16):
                await stream.add(ctx, "observation", f"Klaus meets Maria for the {i}th time", time=i * HOUR)
            found = await stream.retrieve(ctx, "Who is Maria?", now=20 * HOUR, k=5)
            return [r.record.id for r in found], len(stream)

        return FnAgent(go)

    first_model = town_model()
    first = agent(first_model)
    result = await runner.run(first, "memory", journal=journal)
    assert result.ok, result.error
    kinds = [e.kind for e in journal.entries(result.run_id)]
    assert kinds.count("embed") >= 17 and kinds.count("model") == 16 + 1 + 3 + 6  # importance ×16, questions, insights ×3, their importance ×6
    live_embeds = CountingHashing.calls

    again_model = town_model()
    again = agent(again_model)
    replayed = await runner.replay(again, result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert again_model.requests == [] and CountingHashing.calls == live_embeds
    assert again.value == first.value


async def test_an_importance_reply_that_is_not_1_to_10_gets_one_retry_then_a_typed_error():
    answers = iter(["very important!", "7"])
    model = ScriptedModel(lambda request: next(answers))
    stream = MemoryStream(model=model)

    async def ok(ctx):
        return await stream.add(ctx, "observation", "the river flooded", time=0.0)

    record = (await run_fn(ok))[0]
    assert record.importance == 7 and len(model.requests) == 2
    assert "very important!" in model.requests[1].messages[-1]["content"]  # the retry shows the bad reply

    bad = ScriptedModel(["11", "eleven"])
    stream = MemoryStream(model=bad)

    async def fails(ctx):
        with pytest.raises(UnexpectedModelBehavior, match="'11'.*'eleven'"):
            await stream.add(ctx, "observation", "the river flooded", time=0.0)

    await run_fn(fails)
    assert len(stream) == 0


@pytest.mark.parametrize(("reply", "value"), [("7", 7), (" 7.\n", 7), ("7/10", 7), ("Rating: 3", 3), ("10", 10),
                                              ("0", None), ("11", None), ("7 or 8", None), ("", None), ("-3", None)])
def test_parse_importance(reply, value):
    assert parse_importance(reply) == value
