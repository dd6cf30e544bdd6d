"""A deterministic embedder that needs no download, and the choice of embedder for a memory.

`HashingEmbedder` is the feature-hashing trick: each lower-cased word (and each pair of adjacent
words) is hashed to a signed slot of a fixed-length vector, which is then scaled to unit length.
Texts that share words have a positive cosine; it knows no synonyms. It is the default so that a
memory works, and its tests run, anywhere; bring a real embedder (`local:`, `openai:` …) for quality.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from ..errors import ConfigError

DEFAULT_DIMENSIONS = 256
_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """An `Embedder` with no model: feature hashing of words and word pairs (see the module doc)."""

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS) -> None:
        if not isinstance(dimensions, int) or dimensions < 8:
            raise ConfigError(f"hashing embedder: dimensions must be a whole number of at least 8, got {dimensions!r}")
        self.dimensions: int | None = dimensions
        self.name = f"hashing:{dimensions}"

    def vector(self, text: str) -> list[float]:
        size = self.dimensions or DEFAULT_DIMENSIONS
        out = [0.0] * size
        words = _WORD.findall(text.lower())
        for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % size
            out[slot] += 1.0 if digest[4] & 1 else -1.0  # the sign bit keeps collisions from only adding up
        norm = math.sqrt(sum(x * x for x in out))
        return [x / norm for x in out] if norm else out

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ConfigError("embed() takes a list of strings")
        return [self.vector(t) for t in texts]


def resolve_embedder(spec: Any = None) -> Any:
    """The embedder a memory uses: an `Embedder` as given; None or `"hashing"` / `"hashing:<dims>"`
    → `HashingEmbedder`; `"local"` → the shipped local model's embeddings (`local:smollm2-135m`, a
    `ConfigError` saying how to install it when it is not); any other string → `parse_embedder`."""
    if spec is None:
        return HashingEmbedder()
    if not isinstance(spec, str):
        if not callable(getattr(spec, "embed", None)) or not hasattr(spec, "name"):
            raise ConfigError(f"memory embedder: {type(spec).__name__} is not an Embedder (needs name and embed())")
        return spec
    kind, _, rest = spec.partition(":")
    if kind == "hashing":
        if rest and not rest.isdigit():
            raise ConfigError(f"memory embedder {spec!r}: expected hashing or hashing:<dimensions>")
        return HashingEmbedder(int(rest) if rest else DEFAULT_DIMENSIONS)
    from ..models.embeddings import parse_embedder

    if spec == "local":
        try:
            import xllamacpp  # noqa: F401 - only asking whether it is installed
        except ImportError:
            raise ConfigError("memory embedder 'local' needs llama.cpp: pip install 'agentzoo[local]' and "
                              "./scripts/install-local-model") from None
        return parse_embedder("local:smollm2-135m")
    return parse_embedder(spec)
