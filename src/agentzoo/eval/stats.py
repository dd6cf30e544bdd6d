"""Statistics of an eval: success rate with a bootstrap confidence interval, pass@k and pass^k, the
flip rate, paired differences with a paired bootstrap interval, the minimum detectable difference,
percentiles.

Pure functions over plain numbers, reproducible run to run (the bootstrap has a fixed seed).

- `success_rate(outcomes_by_task)`: the fraction of samples that succeeded, with a 95% percentile
  bootstrap interval. The bootstrap resamples *tasks* (each drawn with all of its samples) rather
  than samples, so with several seeds per task the interval reflects how much the rate depends
  on which tasks were drawn, not only the seed-to-seed noise. With one sample per task this is
  the ordinary per-sample bootstrap.
- `pass_at_k(n, c, k)`: the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language
  Models Trained on Code", the Codex paper): `1 - C(n-c, k) / C(n, k)` for a task with `n`
  samples of which `c` succeeded; `mean_pass_at_k` averages it over tasks.
- `pass_hat_k(n, c, k)`: pass^k of τ-bench (Yao et al. 2024, "τ-bench: A Benchmark for
  Tool-Agent-User Interaction in Real-World Domains", arXiv:2406.12045): the chance that k samples
  drawn without replacement from a task's n (c succeeded) *all* succeed, `C(c, k) / C(n, k)`;
  `mean_pass_hat_k` averages it over tasks, as τ-bench's run script does. pass^1 = pass@1.
- `flip_rate(outcomes_by_task)`: the share of tasks (with at least two samples) whose samples do
  not all have the same outcome.
- `paired_difference(pairs_by_task)`: the mean of (agent − baseline) over pairs of samples that
  share a task and a seed, with a percentile bootstrap interval that resamples tasks, each with all
  its pairs (the seeds of a task stay together, as in `success_rate`).
- `minimum_detectable_difference(task_differences)`: the smallest true paired difference the design
  finds with the usual power (see `mde_from_sd`).
- `percentiles(values)`: p50, p90 and p99 (linear interpolation between order statistics).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from math import comb, sqrt
from statistics import NormalDist, stdev
from typing import Any

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 20210707  # fixed: the same rows give the same interval on every machine and every run
PERCENTILES = (50, 90, 99)
_CHUNK = 250
ALPHA = 0.05  # two-sided significance level of the minimum detectable difference
POWER = 0.8
MIN_TASKS_OBSERVED = 10
"""Fewer paired tasks than this, and the spread of their differences is too rough to plan with: the
minimum detectable difference then uses `ASSUMED_VARIANCE`."""
ASSUMED_VARIANCE = 0.5
"""Var(agent − baseline) for one pair of 0/1 outcomes when it cannot be observed: two unrelated agents
that each succeed half the time (0.25 + 0.25). It is the most a 0/1 outcome's variance can be with no
negative correlation between the agents; pairing on the same task makes them correlate positively,
which only lowers it. A task's mean over its seeds varies no more than one pair does, so seeds are
given no credit under this assumption."""


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
    low, high = _cluster_bootstrap(succ, count, resamples=resamples, confidence=confidence, seed=seed)
    return RateCI(rate, low, high, n_succ, n_samples, n_tasks, confidence, resamples, resampled)


def _cluster_bootstrap(totals: np.ndarray, counts: np.ndarray, *, resamples: int, confidence: float,
                       seed: int) -> tuple[float, float]:
    """Percentile interval of sum(totals) / sum(counts) over draws of whole clusters (tasks) with replacement."""
    n = len(totals)
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):  # bounded memory with many tasks
        picks = rng.integers(0, n, size=(min(_CHUNK, resamples - start), n))
        ratios[start:start + len(picks)] = totals[picks].sum(axis=1) / counts[picks].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return float(low), float(high)


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


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Probability that k samples drawn without replacement from n (c correct) are all correct (τ-bench's pass^k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass^k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    return comb(c, k) / comb(n, k)  # comb(c, k) is 0 when c < k


def mean_pass_hat_k(counts: Iterable[tuple[int, int]], ks: Iterable[int] | None = None) -> dict[int, float]:
    """pass^k averaged over tasks, from each task's (samples, successes); the same ks as `mean_pass_at_k`."""
    counts = [(n, c) for n, c in counts if n > 0]
    if not counts:
        return {}
    fewest = min(n for n, _ in counts)
    wanted = range(1, fewest + 1) if ks is None else [k for k in ks if 1 <= k <= fewest]
    return {k: sum(pass_hat_k(n, c, k) for n, c in counts) / len(counts) for k in wanted}


@dataclass(frozen=True)
class FlipRate:
    """How many of the tasks with two or more samples had samples that disagree."""

    rate: float | None
    flipped: int
    tasks: int
    """Tasks with at least two samples; a task run once cannot flip."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def flip_rate(outcomes_by_task: Sequence[Sequence[bool]] | dict[Any, Sequence[bool]]) -> FlipRate:
    """The share of tasks whose outcome is not the same on every sample (seed)."""
    groups = list(outcomes_by_task.values()) if isinstance(outcomes_by_task, dict) else list(outcomes_by_task)
    several = [{bool(x) for x in g} for g in groups if len(g) >= 2]
    flipped = sum(len(outcomes) > 1 for outcomes in several)
    return FlipRate(flipped / len(several) if several else None, flipped, len(several))


# ------------------------------------------------------------------------------------ paired

@dataclass(frozen=True)
class MDE:
    """The minimum detectable difference of a paired comparison, and what it was computed from."""

    value: float
    """In success-rate units (0.1 = 10 points)."""
    sd: float
    """The standard deviation of a task's mean paired difference: observed, or assumed."""
    tasks: int
    source: str
    """"observed" (the spread of the paired tasks' differences) or "assumed" (`ASSUMED_VARIANCE`)."""
    alpha: float = ALPHA
    power: float = POWER

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mde_from_sd(sd: float, tasks: int, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """(z₁₋α/₂ + z_power) · sd / √tasks: the true mean difference that a two-sided test at level alpha
    finds with probability `power`, when a task's mean difference has standard deviation `sd`.

    The minimum-detectable-effect multiplier of Bloom 1995 ("Minimum Detectable Effects: A Simple Way
    to Report the Statistical Power of Experimental Designs", Evaluation Review 19(5):547-556) times
    the standard error of a paired mean (the normal approximation of the paired test; 2.80 at α = 0.05
    and power 0.8). Tasks are the unit, as in the bootstrap: seeds of a task are averaged first, so
    seed-to-seed noise is in `sd` and more seeds lower it only as far as that noise goes. Miller 2024
    ("Adding Error Bars to Evals", arXiv:2411.00640) argues the same paired, task-clustered view for
    model evals.
    """
    if tasks < 1:
        raise ValueError("the minimum detectable difference needs at least one task")
    z = NormalDist()
    return (z.inv_cdf(1 - alpha / 2) + z.inv_cdf(power)) * sd / sqrt(tasks)


def minimum_detectable_difference(task_differences: Sequence[float], *, tasks: int | None = None,
                                  alpha: float = ALPHA, power: float = POWER) -> MDE:
    """The MDE of a paired design, from the per-task mean differences (agent − baseline) when there are
    at least `MIN_TASKS_OBSERVED` of them and they vary; else from `ASSUMED_VARIANCE`, for `tasks`
    tasks (default: as many as there are differences) — which is also how to plan one before running.
    """
    count = len(task_differences) if tasks is None else tasks
    if count < 1:
        raise ValueError("the minimum detectable difference needs at least one task")
    if len(task_differences) >= MIN_TASKS_OBSERVED:
        sd = stdev(float(d) for d in task_differences)
        if sd > 0:
            return MDE(mde_from_sd(sd, count, alpha=alpha, power=power), sd, count, "observed", alpha, power)
    sd = sqrt(ASSUMED_VARIANCE)
    return MDE(mde_from_sd(sd, count, alpha=alpha, power=power), sd, count, "assumed", alpha, power)


@dataclass(frozen=True)
class PairedCI:
    """Mean paired difference in success (agent − baseline) over `pairs` pairs of `tasks` tasks, its
    paired bootstrap interval, and the minimum detectable difference of the design."""

    difference: float | None
    low: float | None
    high: float | None
    pairs: int
    tasks: int
    wins: int
    """Pairs the agent solved and the baseline did not."""
    losses: int
    """Pairs the baseline solved and the agent did not."""
    agent_rate: float | None
    baseline_rate: float | None
    mde: MDE | None
    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES

    @property
    def distinguishable(self) -> bool:
        """Whether the interval leaves out 0; a difference whose interval holds 0 is noise as far as
        this eval can tell."""
        return self.low is not None and (self.low > 0 or self.high < 0)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["distinguishable"] = self.distinguishable
        return data


def paired_difference(pairs_by_task: Sequence[Sequence[tuple[bool, bool]]] | dict[Any, Sequence[tuple[bool, bool]]],
                      *, resamples: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED) -> PairedCI:
    """Mean of (agent − baseline) over every (agent outcome, baseline outcome) pair, and its percentile
    bootstrap interval: each draw takes as many tasks as there are, with replacement, each with all of
    its pairs, and computes the mean difference of the draw. Tasks with no pair are ignored."""
    groups = list(pairs_by_task.values()) if isinstance(pairs_by_task, dict) else list(pairs_by_task)
    groups = [[(bool(a), bool(b)) for a, b in g] for g in groups if len(g)]
    if not groups:
        return PairedCI(None, None, None, 0, 0, 0, 0, None, None, None, confidence, resamples)
    sums = np.array([sum(a - b for a, b in g) for g in groups], dtype=np.int64)
    count = np.array([len(g) for g in groups], dtype=np.int64)
    pairs = int(count.sum())
    wins = sum(a and not b for g in groups for a, b in g)
    losses = sum(b and not a for g in groups for a, b in g)
    low, high = _cluster_bootstrap(sums, count, resamples=resamples, confidence=confidence, seed=seed)
    return PairedCI(int(sums.sum()) / pairs, low, high, pairs, len(groups), wins, losses,
                    sum(a for g in groups for a, _ in g) / pairs, sum(b for g in groups for _, b in g) / pairs,
                    minimum_detectable_difference(list(sums / count)), confidence, resamples)


def percentiles(values: Iterable[float], qs: Sequence[int] = PERCENTILES) -> dict[str, float | None]:
    """{"p50": ..., "p90": ..., "p99": ...}; None for each when there are no values."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return {f"p{q}": None for q in qs}
    return {f"p{q}": float(v) for q, v in zip(qs, np.percentile(data, qs))}
