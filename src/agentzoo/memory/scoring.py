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


def normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values scaled to [0, 1] by the given minimum and maximum (float64); a zero range → `FLAT_VALUE`."""
    values = np.asarray(values, np.float64)
    if not high - low > 0.0:
        return np.full(values.shape, FLAT_VALUE)
    return (values - low) / (high - low)


def recency(last_accessed: np.ndarray, now: float, decay: float = RECENCY_DECAY_PER_HOUR) -> np.ndarray:
    """decay ** (hours since last access), float64. A record accessed "in the future" (a caller's clock that
    went back) counts as accessed now rather than scoring above 1."""
    hours = np.maximum(now - np.asarray(last_accessed, np.float64), 0.0) / SECONDS_PER_HOUR
    return decay ** hours


@dataclass(frozen=True)
class GenerativeAgentsParts:
    """The paper's score at one retrieval, its normalisation constants fixed: recency and importance are min-max
    normalised over every record, from the extremes of last access (recency is monotone in it) and of importance,
    which the store keeps as records come and are touched, so a record's score needs only its own numbers.

    The relevance extremes are the caller's: the exact scan's are over every record, the indexed path's over the
    records it computed a cosine for (see `ranking`)."""

    weights: Weights
    now: float
    decay: float
    last_range: tuple[float, float]
    importance_range: tuple[float, float]

    @property
    def relevance_weight(self) -> float:
        return self.weights.relevance

    def recency(self, last: np.ndarray) -> np.ndarray:
        low, high = recency(np.array(self.last_range), self.now, self.decay)
        return normalise(recency(last, self.now, self.decay), float(low), float(high))

    def importance(self, importance: np.ndarray) -> np.ndarray:
        return normalise(importance, *self.importance_range)

    def base(self, last: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """The query-free part: α_rec·recency + α_imp·importance."""
        return self.weights.recency * self.recency(last) + self.weights.importance * self.importance(importance)

    def relevance(self, cosines: np.ndarray, low: float, high: float) -> np.ndarray:
        return normalise(cosines, low, high)

    def base_range(self) -> tuple[float, float]:
        """No record's base is outside it (each normalised part is in [0, 1])."""
        return 0.0, self.weights.recency + self.weights.importance

    def total(self, base: np.ndarray, relevance: np.ndarray) -> np.ndarray:
        return base + self.weights.relevance * relevance

    def key_at_least(self, need: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """For each (needed base, importance upper bound): a last access below which a record's base is below the
        need (−inf: any; +inf: none). Rounded down by a margin: the caller computes the base of what it finds."""
        w = self.weights
        rho = need - w.importance * self.importance(importance)  # what α_rec·recency must reach
        low, high = (float(v) for v in recency(np.array(self.last_range), self.now, self.decay))
        if w.recency == 0 or not high - low > 0:  # recency adds the same to every record: all or none
            same = w.recency * FLAT_VALUE if w.recency else 0.0
            return np.where(rho <= same, -np.inf, np.inf)
        needed = low + np.maximum(rho / w.recency, 0.0) * (high - low)  # the decayed value to reach
        with np.errstate(divide="ignore"):
            hours = np.log(np.minimum(needed, 1.0)) / np.log(self.decay)
        key = self.now - hours * SECONDS_PER_HOUR
        key = key - (1e-9 * np.abs(hours * SECONDS_PER_HOUR) + 1e-6)
        return np.where(rho <= 0, -np.inf, np.where(rho > w.recency, np.inf, key))


@dataclass(frozen=True)
class ConcordiaParts:
    """Concordia v1's raw sum at one retrieval: cosine + 0.99^(minutes before the newest record) + importance on
    [0, 1]; its recency reads the creation time, which never changes."""

    newest: float
    use_recency: bool
    use_importance: bool
    importance_range: tuple[float, float]
    relevance_weight = 1.0

    def recency(self, created: np.ndarray) -> np.ndarray:
        if not self.use_recency:
            return np.zeros(np.shape(created))
        return concordia_recency(created, self.newest)

    def importance(self, importance: np.ndarray) -> np.ndarray:
        if not self.use_importance:
            return np.zeros(np.shape(importance))
        return concordia_importance(importance)

    def base(self, created: np.ndarray, importance: np.ndarray) -> np.ndarray:
        return self.recency(created) + self.importance(importance)

    def relevance(self, cosines: np.ndarray, low: float, high: float) -> np.ndarray:
        return np.asarray(cosines, np.float64)

    def base_range(self) -> tuple[float, float]:
        """No record's base is outside it (recency in (0, 1], importance as its extremes map)."""
        low, high = self.importance(np.array(self.importance_range))
        return float(min(low, 0.0)), float(self.use_recency + high)

    def total(self, base: np.ndarray, relevance: np.ndarray) -> np.ndarray:
        return relevance + base

    def key_at_least(self, need: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """For each (needed base, importance upper bound): a creation time below which the base is below it."""
        rho = need - self.importance(importance)
        if not self.use_recency:
            return np.where(rho <= 0, -np.inf, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            minutes = np.log(np.clip(rho, 1e-300, 1.0)) / np.log(CONCORDIA_DECAY_PER_MINUTE)
        key = self.newest - minutes * SECONDS_PER_MINUTE - (1e-9 * np.abs(minutes * SECONDS_PER_MINUTE) + 1e-6)
        return np.where(rho <= 0, -np.inf, np.where(rho > 1.0, np.inf, key))


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
