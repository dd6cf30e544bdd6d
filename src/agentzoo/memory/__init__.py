"""Memory: a long-term memory stream (Generative Agents: recency, importance and relevance retrieval,
reflection), persisted in SQLite with a vector index, and short-term context management for long runs.

    stream = MemoryStream(model=model)                       # hashing embedder unless one is given
    await stream.add(ctx, "observation", "Klaus is reading about gentrification", time=8 * 3600)
    found = await stream.retrieve(ctx, "What is Klaus working on?", now=9 * 3600)
"""

from .context import Summary, estimate_tokens, summarise_over_budget, window
from .hashing import HashingEmbedder, resolve_embedder
from .records import KINDS, MemoryRecord, Retrieved
from .scoring import SCORERS, Weights
from .store import MemorySnapshot, MemoryStore
from .stream import MemoryStream

__all__ = ["KINDS", "SCORERS", "HashingEmbedder", "MemoryRecord", "MemorySnapshot", "MemoryStore", "MemoryStream", "Retrieved",
           "Summary", "Weights", "estimate_tokens", "resolve_embedder", "summarise_over_budget", "window"]
