"""The embedder a memory uses: hashing by default (deterministic, no download), the local model when asked."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from memory_helpers import run_fn  # noqa: E402

from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.memory import HashingEmbedder, MemoryStream, resolve_embedder  # noqa: E402

HOUR = 3600.0


async def test_hashing_vectors_are_deterministic_unit_length_and_share_words():
    embedder = HashingEmbedder(64)
    a, b, c, a2 = await embedder.embed(["Klaus reads a book", "Klaus reads the paper", "the river floods", "Klaus reads a book"])
    assert a == a2 and len(a) == 64 and abs(sum(x * x for x in a) - 1) < 1e-9
    dot = lambda u, v: sum(x * y for x, y in zip(u, v))  # noqa: E731
    assert dot(a, b) > dot(a, c)
    assert embedder.name == "hashing:64"


def test_the_embedder_is_chosen_by_name():
    assert resolve_embedder(None).name == "hashing:256"
    assert resolve_embedder("hashing:32").dimensions == 32
    given = HashingEmbedder(16)
    assert resolve_embedder(given) is given
    with pytest.raises(ConfigError, match="hashing:abc"):
        resolve_embedder("hashing:abc")
    with pytest.raises(ConfigError, match="not an Embedder"):
        resolve_embedder(42)
    with pytest.raises(ConfigError, match="unknown kind"):
        resolve_embedder("word2vec:x")


async def test_the_local_model_embeds_a_memory_and_a_replay_needs_it_not(journal):
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.runtime import runner
    from memory_helpers import FnAgent

    def agent(embedder):
        stream = MemoryStream(embedder=embedder)

        async def go(ctx):
            await stream.add_many(ctx, [("observation", "The cat sat on the mat."),
                                        ("observation", "Quarterly revenue grew by ten percent.")],
                                  time=0.0, importances=[3, 3])
            return [r.record.text for r in await stream.retrieve(ctx, "Where did the cat sit?", now=HOUR)]

        return FnAgent(go), stream

    live, stream = agent("local")
    try:
        result = await runner.run(live, "memory", journal=journal)
    finally:
        await stream.embedder.aclose()
    assert result.ok, result.error
    assert stream.store.dimensions == 576 and stream.embedder.name == "local:smollm2-135m"

    class Absent:  # the same name, no model behind it: replay must serve every vector from the journal
        name, dimensions = "local:smollm2-135m", None

        async def embed(self, texts):
            raise AssertionError("replay asked the embedder")

    again, _ = agent(Absent())
    replayed = await runner.replay(again, result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again.value == live.value
