"""Concordia v1 scoring (PAPERS.md #58): cosine + 0.99^(minutes before the newest record) + importance, raw sums."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memory_helpers import TableEmbedder, run_fn  # noqa: E402

from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.memory import SCORERS, MemoryStream  # noqa: E402

MINUTE = 60.0
TABLE = {"walked the dog": [1.0, 0.0], "won the prize": [0.0, 1.0], "met Ana at the cafe": [0.6, 0.8],
         "query": [1.0, 0.0]}
NAMES = {"walked the dog": "dog", "won the prize": "prize", "met Ana at the cafe": "cafe"}


async def three(ctx, stream):
    await stream.add(ctx, "observation", "walked the dog", time=0.0, importance=1)  # id 0
    await stream.add(ctx, "observation", "won the prize", time=30 * MINUTE, importance=10)  # id 1, the newest
    await stream.add(ctx, "dialogue", "met Ana at the cafe", time=20 * MINUTE, importance=4)  # id 2


def hand(use_recency=True, use_importance=True):
    """By hand: cosines 1, 0, 0.6; minutes before the newest record 30, 0, 10; importance (i − 1) / 9."""
    rel = {"dog": 1.0, "prize": 0.0, "cafe": 0.6}
    rec = {"dog": 0.99 ** 30, "prize": 1.0, "cafe": 0.99 ** 10}  # 0.7397, 1, 0.9044
    imp = {"dog": 0.0, "prize": 1.0, "cafe": 3 / 9}
    return {k: rel[k] + use_recency * rec[k] + use_importance * imp[k] for k in rel}


async def ranked(stream, now, **options):
    async def go(ctx):
        await three(ctx, stream)
        return await stream.retrieve(ctx, "query", now=now, k=3, touch=False, **options)

    found = (await run_fn(go))[0]
    return [NAMES[r.record.text] for r in found], {NAMES[r.record.text]: r for r in found}


@pytest.mark.parametrize("flags, order", [
    ((True, True), ["prize", "cafe", "dog"]),       # 2.0 > 1.838 > 1.740
    ((False, True), ["dog", "prize", "cafe"]),      # dog 1.0 ties prize 1.0: the lower id first; cafe 0.933
    ((True, False), ["dog", "cafe", "prize"]),      # 1.740 > 1.504 > 1.0
    ((False, False), ["dog", "cafe", "prize"]),     # the cosine alone
])
async def test_ranking_and_scores_match_the_hand_computed_raw_sum(flags, order):
    use_recency, use_importance = flags
    stream = MemoryStream(embedder=TableEmbedder(TABLE), scorer="concordia-v1", use_recency=use_recency,
                          use_importance=use_importance)
    names, found = await ranked(stream, now=30 * MINUTE)
    expected = hand(use_recency, use_importance)
    assert names == order
    for name, r in found.items():
        assert r.score == pytest.approx(expected[name], abs=1e-6)
        assert r.score == pytest.approx(r.relevance + r.recency + r.importance, abs=1e-9)  # the parts as summed
    assert found["cafe"].importance == (pytest.approx(1 / 3) if use_importance else 0.0)


async def test_recency_counts_from_the_newest_record_not_the_retrieval_time_nor_the_last_access():
    stream = MemoryStream(embedder=TableEmbedder(TABLE), scorer="concordia-v1")
    names, found = await ranked(stream, now=3 * 24 * 60 * MINUTE)  # three days later: Concordia ignores `now`
    assert names == ["prize", "cafe", "dog"] and found["prize"].recency == 1.0

    async def touch_and_rank(ctx):
        [dog] = await stream.retrieve(ctx, "query", now=10 * 24 * 60 * MINUTE, k=1, use_recency=False,
                                      use_importance=False)  # the cosine alone: the dog, accessed now at day 10
        assert stream.store.get([dog.record.id])[0].last_accessed == 10 * 24 * 60 * MINUTE
        return [r.record.id for r in await stream.retrieve(ctx, "query", now=0.0, k=3, touch=False)]

    assert (await run_fn(touch_and_rank))[0] == [1, 2, 0]  # unchanged: Concordia has no last access


async def test_per_call_options_override_the_stream_as_concordia_retrieve_associative_takes_them():
    stream = MemoryStream(embedder=TableEmbedder(TABLE), scorer="concordia-v1")

    async def go(ctx):
        await three(ctx, stream)
        plain = await stream.retrieve(ctx, "query", now=0.0, k=3, touch=False, use_recency=False, use_importance=False)
        default = await stream.retrieve(ctx, "query", now=0.0, k=3, touch=False)
        return [r.record.id for r in plain], [r.record.id for r in default]

    assert (await run_fn(go))[0] == ([0, 2, 1], [1, 2, 0])


async def test_a_restored_stream_keeps_its_scorer_and_options():
    stream = MemoryStream(embedder=TableEmbedder(TABLE), scorer="concordia-v1", use_recency=False)
    await run_fn(lambda ctx: three(ctx, stream))
    restored = stream.restore(stream.snapshot())
    assert (restored.scorer, restored.use_recency, restored.use_importance) == ("concordia-v1", False, True)


async def test_the_default_scorer_is_generative_agents_and_refuses_concordia_options():
    stream = MemoryStream(embedder=TableEmbedder(TABLE))
    assert stream.scorer == "generative-agents" and SCORERS == ("generative-agents", "concordia-v1")

    async def go(ctx):
        await three(ctx, stream)
        with pytest.raises(ConfigError, match="concordia-v1"):
            await stream.retrieve(ctx, "query", now=0.0, use_recency=False)

    await run_fn(go)


def test_an_unknown_scorer_or_a_misplaced_option_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"'concordia'.*generative-agents, concordia-v1"):
        MemoryStream(scorer="concordia")
    with pytest.raises(ConfigError, match="use_recency"):
        MemoryStream(scorer="generative-agents", use_importance=False)
