"""Embedders: the OpenAI-compatible backend against the fake server, the local one on the shipped
GGUF, and both journaled through `Context.embed` so that replay needs no embedder."""

from __future__ import annotations

import math

import pytest

import agentzoo
from agentzoo import Journal
from agentzoo.errors import ConfigError, ProtocolError
from agentzoo.models.embeddings import LocalEmbedder, OpenAIEmbedder, _vectors, parse_embedder
from agentzoo.protocols import Embedder
from agentzoo.testing.fake_openai import FakeOpenAIServer, _hash_vector
from agentzoo.types import Usage


class Retriever:
    """The smallest agent that embeds: which document is nearest the task."""

    name = "retriever"

    def __init__(self, embedder, documents: list[str]) -> None:
        self.embedder, self.documents = embedder, documents

    async def run(self, task, ctx):
        docs = await ctx.embed(self.embedder, self.documents)
        [query] = await ctx.embed(self.embedder, [task])
        return max(self.documents, key=lambda d: sum(a * b for a, b in zip(docs[self.documents.index(d)], query)))


class Refuses:
    """Stands in for the embedder on replay (same name, so the same requests): any call is a bug."""

    dimensions = None

    def __init__(self, name: str) -> None:
        self.name = name

    async def embed(self, texts):
        raise AssertionError("replay called the embedder")


async def test_openai_compatible_embeddings_in_batches_with_usage():
    texts = ["alpha", "beta gamma", "delta"]
    with FakeOpenAIServer() as srv:
        embedder = OpenAIEmbedder("fake-embed", srv.base_url, "sk-test", batch_size=2)
        vectors, usage = await embedder.embed_counted(texts)
        shortened = await OpenAIEmbedder("fake-embed", srv.base_url, dimensions=4).embed(["alpha"])
        await embedder.aclose()
    assert vectors == [_hash_vector(t, 8) for t in texts] and embedder.dimensions == 8
    assert usage == Usage(input_tokens=4)  # the server's count, summed over the two batches
    assert [r["input"] for r in srv.embedding_requests[:2]] == [["alpha", "beta gamma"], ["delta"]]
    assert shortened == [_hash_vector("alpha", 4)] and srv.embedding_requests[2]["dimensions"] == 4
    assert isinstance(embedder, Embedder)


@pytest.mark.parametrize("reply,why", [
    ({"data": []}, "0 vectors for 1 texts"),
    ({"nothing": 1}, "no vectors for 1 texts"),
    ({"data": [{"index": 0, "embedding": "AAAA"}]}, "not a vector of finite numbers"),
    ({"data": [{"index": 0, "embedding": [1.0, math.nan]}]}, "not a vector of finite numbers"),
    ({"data": [{"index": 0, "embedding": [True]}]}, "not a vector of finite numbers"),
])
def test_replies_that_are_not_one_vector_per_text_are_protocol_errors(reply, why):
    with pytest.raises(ProtocolError, match=why):
        _vectors(reply, 1, "http://x")


def test_vectors_come_back_in_the_order_of_the_texts():
    reply = {"data": [{"index": 1, "embedding": [2.0]}, {"index": 0, "embedding": [1.0]}]}
    assert _vectors(reply, 2, "http://x") == [[1.0], [2.0]]


async def test_embeddings_are_journaled_and_replayed_with_no_embedder(tmp_path):
    documents = ["the cat sat", "stock prices fell", "a dog barked"]
    with FakeOpenAIServer() as srv, Journal(tmp_path / "j.db") as journal:
        embedder = OpenAIEmbedder("fake-embed", srv.base_url)
        run = await agentzoo.run(Retriever(embedder, documents), "the cat sat", journal=journal)
        await embedder.aclose()
        replayed = await agentzoo.replay(Retriever(Refuses("fake-embed"), documents), run.run_id, journal=journal)
        entries = list(journal.entries(run.run_id))
    assert run.answer == replayed.answer == "the cat sat" and replayed.live_effects == 0
    assert [(e.kind, e.name, e.request["input"]) for e in entries] == [
        ("embed", "fake-embed", documents), ("embed", "fake-embed", ["the cat sat"])]
    assert entries[0].result["embeddings"] == [_hash_vector(d, 8) for d in documents]
    assert entries[0].usage == Usage(input_tokens=9) and len(srv.embedding_requests) == 2


async def test_the_shipped_gguf_embeds_locally_and_replays(tmp_path):
    embedder = parse_embedder("local:smollm2-135m?ctx=512")
    documents = ["The cat sat on the mat.", "Quarterly revenue grew by ten percent.", "The cat sat on the mat."]
    with Journal(tmp_path / "j.db") as journal:
        run = await agentzoo.run(Retriever(embedder, documents), "Where did the cat sit?", journal=journal)
        replayed = await agentzoo.replay(Retriever(Refuses(embedder.name), documents), run.run_id, journal=journal)
        entries = list(journal.entries(run.run_id))
    vectors = entries[0].result["embeddings"]
    await embedder.aclose()
    assert embedder.name == "local:smollm2-135m" and embedder.dimensions == 576 == len(vectors[0])
    assert vectors[0] == vectors[2] != vectors[1]  # the same text, the same vector
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-4 for v in vectors)  # llama.cpp normalises them
    assert entries[0].cost_usd == 0.0 and entries[0].usage.input_tokens > 10
    assert replayed.answer == run.answer and replayed.live_effects == 0


def test_embedder_strings_are_checked():
    with pytest.raises(ConfigError, match="pooling must be one of"):
        parse_embedder("local:smollm2-135m?pooling=max")
    with pytest.raises(ConfigError, match="ctx, threads and pooling"):
        parse_embedder("local:smollm2-135m?seed=1")
    with pytest.raises(ConfigError, match="unknown kind"):
        parse_embedder("cohere:embed-v3")
    assert isinstance(parse_embedder("local:smollm2-135m?pooling=cls&ctx=256"), LocalEmbedder)
