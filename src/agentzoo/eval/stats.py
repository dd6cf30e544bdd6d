"""Statistics of an eval: success rate with a bootstrap confidence interval, pass@k, percentiles.

Pure functions over plain numbers, reproducible run to run (the bootstrap has a fixed seed).

- `success_rate(outcomes_by_task)`: the fraction of samples that succeeded, with a 95% percentile
  bootstrap interval. The bootstrap resamples *tasks* (each drawn with all of its samples) rather
  than samples, so with several seeds per task the interval reflects how much the rate depends
  on which tasks were drawn, not only the seed-to-seed noise. With one sample per task this is
  the ordinary per-sample bootstrap.
- `pass_at_k(n, c, k)`: the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language
  Models Trained on Code", the Codex paper): `1 - C(n-c, k) / C(n, k)` for a task with `n`
  samples of which `c` succeeded; `mean_pass_at_k` averages it over tasks.
- `percentiles(values)`: p50, p90 and p99 (linear interpolation between order statistics).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from math import comb
from typing import Any

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 20210707  # fixed: the same rows give the same interval on every machine and every run
PERCENTILES = (50, 90, 99)
_CHUNK = 250


@dataclass(frozen=True)
class RateCI:
    """A success rate over `samples` samples of `tasks` tasks, and its bootstrap interval."""

    rate: float | None
    low: float | None
    high: float | None
    successes: int
    samples: int
    tasks: int
    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES
    resampled: str = "tasks"  # "tasks" (clustered: several samples per task) or "samples" (one per task)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def success_rate(outcomes_by_task: Sequence[Sequence[bool]] | dict[Any, Sequence[bool]], *,
                 resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED) -> RateCI:
    """Success rate (successes / samples) and its percentile bootstrap interval, resampling tasks.

    `outcomes_by_task` holds, per task, the outcome of each of its samples. Each bootstrap draw
    takes as many tasks as there are, with replacement, each with all its samples, and computes
    successes / samples of the draw; the interval is the (1-confidence)/2 and (1+confidence)/2
    quantiles of those rates. Tasks with no sample are ignored.
    """
    groups = list(outcomes_by_task.values()) if isinstance(outcomes_by_task, dict) else list(outcomes_by_task)
    groups = [g for g in groups if len(g)]
    succ = np.array([sum(bool(x) for x in g) for g in groups], dtype=np.int64)
    count = np.array([len(g) for g in groups], dtype=np.int64)
    n_tasks, n_samples, n_succ = len(groups), int(count.sum()), int(succ.sum())
    resampled = "tasks" if n_samples > n_tasks else "samples"
    if n_tasks == 0:
        return RateCI(None, None, None, 0, 0, 0, confidence, resamples, resampled)
    rate = n_succ / n_samples
    if n_succ in (0, n_samples):  # every draw gives the same rate
        return RateCI(rate, rate, rate, n_succ, n_samples, n_tasks, confidence, resamples, resampled)
    rng = np.random.default_rng(seed)
    rates = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):  # bounded memory with many tasks
        picks = rng.integers(0, n_tasks, size=(min(_CHUNK, resamples - start), n_tasks))
        rates[start:start + len(picks)] = succ[picks].sum(axis=1) / count[picks].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(rates, [alpha, 1.0 - alpha])
    return RateCI(rate, float(low), float(high), n_succ, n_samples, n_tasks, confidence, resamples, resampled)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)  # exact integers; the division rounds once


def mean_pass_at_k(counts: Iterable[tuple[int, int]], ks: Iterable[int] | None = None) -> dict[int, float]:
    """pass@k averaged over tasks, from each task's (samples, successes).

    For every k in `ks` (default 1..the fewest samples any task has) such that every task has at
    least k samples; a k some task cannot support is left out.
    """
    counts = [(n, c) for n, c in counts if n > 0]
    if not counts:
        return {}
    fewest = min(n for n, _ in counts)
    wanted = range(1, fewest + 1) if ks is None else [k for k in ks if 1 <= k <= fewest]
    return {k: sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in wanted}


def percentiles(values: Iterable[float], qs: Sequence[int] = PERCENTILES) -> dict[str, float | None]:
    """{"p50": ..., "p90": ..., "p99": ...}; None for each when there are no values."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return {f"p{q}": None for q in qs}
    return {f"p{q}": float(v) for q, v in zip(qs, np.percentile(data, qs))}
