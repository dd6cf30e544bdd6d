"""Retrieval scoring, as pure functions of arrays: Generative Agents (the default) and Concordia v1.

Generative Agents (Park et al. 2023, §4.1):

score = α_rec·recency + α_imp·importance + α_rel·relevance, each part min-max normalised to [0, 1]
over the records scored. Recency is an exponential decay over the simulated hours since a record
was last accessed; relevance is the cosine of the record's and the query's embeddings.

We follow the paper, not the released code (which weights [0.5, 3, 2] and, as we read it, gives
the oldest record the highest recency: see /work/shared/recipes/PAPERS.md, #32 and open point 1).

Concordia v1 (PAPERS.md #58; google-deepmind/concordia@3b1eed8de4, associative_memory.py,
`_get_top_k_similar_rows`): score = dot(query, embedding) + 0.99^(minutes between the record's time and the
newest record's time) (if `use_recency`) + importance (if `use_importance`), raw sums, no normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

RECENCY_DECAY_PER_HOUR = 0.995
"""Paper §4.1: "exponential decay function over the number of sandbox game hours since the memory was
last retrieved. Our decay factor is 0.995." (The code uses 0.99 per rank instead.)"""
SECONDS_PER_HOUR = 3600.0
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0)
"""(recency, importance, relevance): paper §4.1, "all α's are set to 1"."""
DEFAULT_TOP_K = 30
"""Records retrieved per query: the code's `n_count=30` (the paper gives no number)."""
FLAT_VALUE = 0.5
"""A part whose values are all equal normalises to 0.5 (the code's `normalize_dict_floats`: (max−min)/2
over a zero range). [code; the paper does not say]"""


GENERATIVE_AGENTS = "generative-agents"
CONCORDIA_V1 = "concordia-v1"
SCORERS = (GENERATIVE_AGENTS, CONCORDIA_V1)
"""The retrieval scores a stream can rank by (`MemoryStream(scorer=...)`)."""

CONCORDIA_DECAY_PER_MINUTE = 0.99
"""Concordia v1 `_get_top_k_similar_rows`: `0.99 ** ((max_time - time) / timedelta(minutes=1))`, where max_time
is the newest memory's time in the whole bank (not the retrieval time) and time the record's own (Concordia
never updates it on access, so this scorer reads `created`, not `last_accessed`)."""
SECONDS_PER_MINUTE = 60.0
CONCORDIA_DEFAULT_USE_RECENCY = True
CONCORDIA_DEFAULT_USE_IMPORTANCE = True
"""Concordia v1 `retrieve_associative(..., use_recency=True, use_importance=True)`."""


def check_scorer(name: str) -> str:
    """`name` if it is one of `SCORERS`; a `ConfigError` listing them otherwise."""
    if name not in SCORERS:
        raise ConfigError(f"memory scorer {name!r} is unknown; scorers: {', '.join(SCORERS)}")
    return name


@dataclass(frozen=True)
class Weights:
    """The α's of the retrieval score."""

    recency: float = DEFAULT_WEIGHTS[0]
    importance: float = DEFAULT_WEIGHTS[1]
    relevance: float = DEFAULT_WEIGHTS[2]

    def __post_init__(self) -> None:
        for name in ("recency", "importance", "relevance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise ConfigError(f"memory weight {name} must be a finite number ≥ 0, got {value!r}")


def recency(last_accessed: np.ndarray, now: float, decay: float = RECENCY_DECAY_PER_HOUR) -> np.ndarray:
    """decay ** (hours since last access). A record accessed "in the future" (a caller's clock that went
    back) counts as accessed now rather than scoring above 1."""
    hours = (np.maximum(now - last_accessed, 0.0) / SECONDS_PER_HOUR).astype(np.float32)
    return np.exp(hours * np.float32(np.log(decay)))


def minmax(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] by their own minimum and maximum; all equal → `FLAT_VALUE`."""
    if values.size == 0:
        return values.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high - low <= 0.0:
        return np.full(values.shape, FLAT_VALUE, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def combine(rec: np.ndarray, imp: np.ndarray, rel: np.ndarray, weights: Weights) -> np.ndarray:
    """The weighted sum of the three normalised parts."""
    return weights.recency * rec + weights.importance * imp + weights.relevance * rel


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> list[int]:
    """Positions of the k best scores, best first, ties to the lower id (so a restored memory, or a
    replay, ranks exactly as the original did)."""
    if k <= 0 or scores.size == 0:
        return []
    if scores.size > k:
        # argpartition may split a tie at the k-th score arbitrarily: take every record tied with it.
        kth = np.partition(scores, scores.size - k)[scores.size - k]
        pool = np.flatnonzero(scores >= kth)
    else:
        pool = np.arange(scores.size)
    order = np.lexsort((ids[pool], -scores[pool]))
    return [int(i) for i in pool[order[:k]]]


def concordia_recency(created: np.ndarray, newest: float) -> np.ndarray:
    """0.99 ** (minutes from a record's time to the newest record's time), float64 (Concordia v1)."""
    minutes = (newest - np.asarray(created, np.float64)) / SECONDS_PER_MINUTE
    return CONCORDIA_DECAY_PER_MINUTE ** minutes


def concordia_importance(importance: np.ndarray) -> np.ndarray:
    """Our 1..10 importance on Concordia's [0, 1] scale: (importance − 1) / 9.

    Concordia's importance models rate on a scale of options and return `index / (len(scale) − 1)` (its
    `importance_function.py`), so the most mundane rating is 0 and the most poignant 1. (importance − 1) / 9
    maps our scale the same way: 1 → 0, 10 → 1 (not importance / 10, which would give the most mundane 0.1).
    A caller's importance outside 1..10 maps linearly outside [0, 1]."""
    return (np.asarray(importance, np.float64) - 1.0) / 9.0
