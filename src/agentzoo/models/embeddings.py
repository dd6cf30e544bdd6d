"""Embedders: text in, vectors out (`agentzoo.protocols.Embedder`).

    openai:text-embedding-3-small               OpenAI (key from OPENAI_API_KEY; OPENAI_BASE_URL honoured)
    openai-compatible:<name>@<base_url>         any server with `/embeddings` (vLLM, Ollama, llama.cpp, …)
    local:smollm2-135m                          llama.cpp in this process, from a GGUF (`models.local`);
    local:/path/to/embedder.gguf?pooling=model  options as for local models, plus `pooling`

The OpenAI-compatible backend posts to `/embeddings` with the chat backend's transport, caps and
retry policy. The local one runs a separate llama.cpp server in embedding mode (pooled vectors,
normalised by llama.cpp to unit length). The shipped SmolLM2-135M is a chat model, so as an
embedder it is weak (mean-pooled hidden states): good enough to test retrieval plumbing, not
to rank documents well; bring an embedding GGUF (nomic-embed, bge) for that.

Call them through `Context.embed` so that every call is journaled and replay needs no model.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..errors import ConfigError, ProtocolError
from ..types import Usage
from .local import Connection, parse_options, server_config, split_options
from .local_server import POOLING
from .openai_compat import OpenAICompatible

DEFAULT_BATCH = 64
"""Texts per request: a few MB of floats per reply, well under the response cap."""


class OpenAIEmbedder:
    """An `Embedder` served by any OpenAI-compatible `/embeddings` endpoint.

    `dimensions`, when given, is sent (OpenAI's text-embedding-3 models shorten their vectors to
    it); otherwise it is learnt from the first reply. Other keyword arguments are the
    `OpenAICompatible` transport's (timeouts, headers, retry, max_response_bytes)."""

    def __init__(self, model: str, base_url: str = "https://api.openai.com/v1", api_key: str | None = None, *,
                 name: str | None = None, dimensions: int | None = None, batch_size: int = DEFAULT_BATCH,
                 **transport: Any) -> None:
        if dimensions is not None and dimensions < 1:
            raise ConfigError(f"embedder {model!r}: dimensions must be positive, got {dimensions}")
        self._http = OpenAICompatible(model, base_url, api_key, name=name, **transport)
        self.name = self._http.name
        self.dimensions = dimensions
        self._ask_dimensions = dimensions
        self.batch_size = max(1, batch_size)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return (await self.embed_counted(texts))[0]

    async def embed_counted(self, texts: list[str]) -> tuple[list[list[float]], Usage]:
        """The vectors and the input tokens the provider counted (what the gateway records)."""
        vectors, usage = await embed_with(self._http, texts, self.batch_size, self._ask_dimensions)
        self.dimensions = len(vectors[0]) if vectors else self.dimensions
        return vectors, usage

    async def aclose(self) -> None:
        await self._http.aclose()


class LocalEmbedder:
    """An `Embedder` run by llama.cpp in this process from a GGUF file (see the module doc)."""

    def __init__(self, model: str = "smollm2-135m", *, ctx: int | None = None, threads: int | None = None,
                 pooling: str = "mean", batch_size: int = DEFAULT_BATCH, deadline: float = 3600.0) -> None:
        if pooling not in POOLING:
            raise ConfigError(f"local:{model}: pooling must be one of {', '.join(POOLING)}, not {pooling!r}")
        given = {"ctx": ctx if ctx is not None else 2048, "threads": threads}
        options = parse_options(f"local:{model}", {k: v for k, v in given.items() if v is not None})
        self.name = f"local:{model}"
        self.config = server_config(model, options, embedding=True, pooling=pooling)
        self.dimensions: int | None = None
        self.batch_size = max(1, batch_size)
        self._conn = Connection(self.config, self.name, stream=False, deadline=deadline)

    @classmethod
    def from_string(cls, text: str, **kwargs: Any) -> LocalEmbedder:
        ref, raw = split_options(text)
        pooling = raw.pop("pooling", kwargs.pop("pooling", "mean"))
        allowed = {"ctx", "threads"}
        if extra := set(raw) - allowed:
            raise ConfigError(f"local:{text}: options for a local embedder are ctx, threads and pooling, "
                              f"not {', '.join(sorted(extra))}")
        return cls(ref, **{**parse_options(f"local:{text}", raw), "pooling": pooling, **kwargs})

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return (await self.embed_counted(texts))[0]

    async def embed_counted(self, texts: list[str]) -> tuple[list[list[float]], Usage]:
        vectors, usage = await embed_with(await self._conn.client(), texts, self.batch_size)
        self.dimensions = len(vectors[0]) if vectors else self.dimensions
        return vectors, usage

    async def aclose(self) -> None:
        await self._conn.aclose()


async def embed_with(http: OpenAICompatible, texts: list[str], batch_size: int,
                     dimensions: int | None = None) -> tuple[list[list[float]], Usage]:
    """Embed `texts` in batches through `http` (asking for `dimensions` if given); checks that each
    reply has one finite vector per text, all of one length."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ConfigError("embed() takes a list of strings")
    vectors: list[list[float]] = []
    tokens = 0
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start:start + batch_size])
        body: dict[str, Any] = {"model": http.model, "input": batch, "encoding_format": "float"}
        if dimensions is not None:
            body["dimensions"] = dimensions
        reply = await http.post_json("/embeddings", body)
        vectors += _vectors(reply, len(batch), http.endpoint)
        usage = reply.get("usage") if isinstance(reply, dict) else None
        if isinstance(usage, dict):
            tokens += int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)
    lengths = {len(v) for v in vectors}
    if len(lengths) > 1:
        raise ProtocolError(f"embeddings from {http.endpoint} have different lengths: {sorted(lengths)}")
    return vectors, Usage(input_tokens=tokens)


def _vectors(reply: Any, count: int, endpoint: str) -> list[list[float]]:
    data = reply.get("data") if isinstance(reply, dict) else None
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else "no"
        raise ProtocolError(f"an embeddings reply from {endpoint} has {got} vectors for {count} texts")
    # Items carry an `index`; a server may list them out of order.
    ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    out = []
    for item in ordered:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(vector, list) or not vector or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vector):
            raise ProtocolError(f"an embeddings reply from {endpoint} holds something that is not a vector of "
                                "finite numbers (a base64 string? only encoding_format=float is read)")
        out.append([float(x) for x in vector])
    return out


def parse_embedder(spec: str, **options: Any) -> Any:
    """An embedder from its string (see the module doc). Raises ConfigError naming what is wrong."""
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigError(f"embedder {spec!r}: expected <kind>:<details>, kinds: local, openai, openai-compatible")
    if kind == "local":
        return LocalEmbedder.from_string(rest, **options)
    if kind == "openai":
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError(f"embedder {spec!r} needs OPENAI_API_KEY in the environment")
        return OpenAIEmbedder(rest, os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"), key, **options)
    if kind == "openai-compatible":
        name, at, base_url = rest.rpartition("@")
        if not at or not name or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"embedder {spec!r}: expected openai-compatible:<model-name>@<base_url>")
        key = os.environ.get("AGENTZOO_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return OpenAIEmbedder(name, base_url, key, **options)
    raise ConfigError(f"embedder {spec!r}: unknown kind {kind!r}; kinds: local, openai, openai-compatible")
