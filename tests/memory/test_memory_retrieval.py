"""Retrieval ranks by the paper's normalised recency + importance + relevance, hand-computed."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memory_helpers import TableEmbedder, run_fn  # noqa: E402

from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.memory import MemoryStream, Weights  # noqa: E402

HOUR = 3600.0
TABLE = {"walked the dog": [1.0, 0.0], "won the prize": [0.0, 1.0], "met Ana at the cafe": [0.6, 0.8],
         "query": [1.0, 0.0]}


async def three(ctx, stream):
    await stream.add(ctx, "observation", "walked the dog", time=0.0, importance=2)
    await stream.add(ctx, "observation", "won the prize", time=10 * HOUR, importance=8)
    await stream.add(ctx, "dialogue", "met Ana at the cafe", time=5 * HOUR, importance=5)


def hand_scores(w_rec=1.0, w_imp=1.0, w_rel=1.0):
    rec = {"dog": 0.995 ** 10, "prize": 0.995 ** 0, "cafe": 0.995 ** 5}  # hours since last access at 10 h
    low, high = min(rec.values()), max(rec.values())
    rec = {k: (v - low) / (high - low) for k, v in rec.items()}
    imp = {"dog": 0.0, "prize": 1.0, "cafe": (5 - 2) / (8 - 2)}
    rel = {"dog": 1.0, "prize": 0.0, "cafe": 0.6}  # cosines 1, 0, 0.6: already min 0, max 1
    return {k: w_rec * rec[k] + w_imp * imp[k] + w_rel * rel[k] for k in rec}


@pytest.mark.parametrize("weights", [(1, 1, 1), (1, 1, 3), (0, 2, 1)])
async def test_order_and_scores_match_the_hand_computed_weighted_sum(weights):
    stream = MemoryStream(embedder=TableEmbedder(TABLE), weights=Weights(*weights))

    async def go(ctx):
        await three(ctx, stream)
        return await stream.retrieve(ctx, "query", now=10 * HOUR, k=3, touch=False)

    found, _ = await run_fn(go)
    expected = hand_scores(*weights)
    names = {"walked the dog": "dog", "won the prize": "prize", "met Ana at the cafe": "cafe"}
    assert [names[r.record.text] for r in found] == sorted(expected, key=lambda k: -expected[k])
    for r in found:
        assert r.score == pytest.approx(expected[names[r.record.text]], abs=1e-5)
    # with all α = 1: prize 2.0 > cafe 1.49 > dog 1.0; with relevance tripled the dog's cosine of 1 wins
    assert [r.record.text for r in found][0] == {(1, 1, 1): "won the prize", (1, 1, 3): "walked the dog",
                                                 (0, 2, 1): "won the prize"}[weights]


async def test_retrieval_marks_what_it_returns_as_accessed_so_recency_restarts():
    stream = MemoryStream(embedder=TableEmbedder(TABLE))

    async def go(ctx):
        await three(ctx, stream)
        [top] = await stream.retrieve(ctx, "query", now=20 * HOUR, k=1)
        return top, stream.store.get([0, 1, 2])

    top, records = (await run_fn(go))[0]
    assert top.record.text == "won the prize"
    assert [r.last_accessed for r in records] == [0.0, 20 * HOUR, 5 * HOUR]  # only the returned one moved
    assert records[1].created == 10 * HOUR


async def test_with_equal_relevance_the_more_recent_and_more_important_record_ranks_first():
    table = {"a chair": [1.0, 0.0], "a table": [1.0, 0.0], "query": [1.0, 0.0]}
    stream = MemoryStream(embedder=TableEmbedder(table))

    async def go(ctx):
        await stream.add(ctx, "observation", "a chair", time=0.0, importance=3)
        await stream.add(ctx, "observation", "a table", time=HOUR, importance=7)
        return await stream.retrieve(ctx, "query", now=2 * HOUR, k=2)

    found = (await run_fn(go))[0]
    assert [r.record.text for r in found] == ["a table", "a chair"]
    assert found[0].relevance == found[1].relevance == 0.5  # all equal: normalised to 0.5, as the code does


async def test_kinds_filter_and_unknown_record_type():
    stream = MemoryStream(embedder=TableEmbedder(TABLE))

    async def go(ctx):
        await three(ctx, stream)
        only = await stream.retrieve(ctx, "query", now=10 * HOUR, kinds=("dialogue",))
        with pytest.raises(ConfigError, match="'memo'"):
            await stream.add(ctx, "memo", "walked the dog", time=0.0, importance=1)
        with pytest.raises(ConfigError, match="'thought'"):
            await stream.retrieve(ctx, "query", now=0.0, kinds=("thought",))
        return only

    only = (await run_fn(go))[0]
    assert [r.record.text for r in only] == ["met Ana at the cafe"]
    assert len(stream) == 3  # the refused record was not written


def test_bad_settings_are_config_errors_naming_the_value():
    with pytest.raises(ConfigError, match="recency"):
        Weights(recency=-1)
    with pytest.raises(ConfigError, match="decay"):
        MemoryStream(decay=1.5)
    with pytest.raises(ConfigError, match="'faiss'"):
        MemoryStream.open(":memory:", index="faiss")
