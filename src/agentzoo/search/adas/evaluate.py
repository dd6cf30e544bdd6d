"""Evaluating a candidate agent: what an evaluator gives back, and ADAS's rules for reading it.

The evaluator runs a candidate's code on the validation slice (`agentzoo.eval.adas.HarnessEvaluator`
runs it through the eval harness, each task a sandboxed run). Its `Evaluation` says, per task,
whether the answer was right, and the first failure of the code if any task had one. ADAS's rules
(ShengranHu/ADAS `_mgsm/search.py`, `search`): an exception on any task is an error of the
candidate, and so is a mean accuracy under 0.01 ("All 0 accuracy", checked for generated agents
only, not for the initial archive); an error goes back to the meta agent to debug.

Fitness is ADAS's `bootstrap_confidence_interval` (`_mgsm/utils.py`): 100,000 bootstrap resamples
of the per-task outcomes, the 95% percentile interval of their means and the median of those
means, kept as numbers and as ADAS's text (the meta agent reads the text).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

RESAMPLES = 100_000       # ADAS _mgsm/utils.py bootstrap_confidence_interval(num_bootstrap_samples=100000)
CONFIDENCE = 0.95         # ADAS _mgsm/utils.py bootstrap_confidence_interval(confidence_level=0.95)
MIN_ACCURACY = 0.01       # ADAS _mgsm/search.py: np.mean(acc_list) < 0.01 raises "All 0 accuracy"


@dataclass(frozen=True)
class Fitness:
    """The bootstrap median and interval of a candidate's accuracy on the validation slice (0..1)."""

    median: float
    low: float
    high: float
    correct: int
    total: int
    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES

    @property
    def text(self) -> str:
        """As ADAS writes it, in percent with one decimal: what the meta agent reads."""
        level = f"{self.confidence * 100:g}%"
        return (f"{level} Bootstrap Confidence Interval: ({self.low * 100:.1f}%, {self.high * 100:.1f}%), "
                f"Median: {self.median * 100:.1f}%")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fitness:
        return cls(**{k: data[k] for k in ("median", "low", "high", "correct", "total")},
                   confidence=data.get("confidence", CONFIDENCE), resamples=data.get("resamples", RESAMPLES))


@dataclass(frozen=True)
class Evaluation:
    """A candidate's run over the validation slice."""

    outcomes: list[int]
    """1 or 0 per task of the slice, in the slice's order."""
    fitness: Fitness
    error: str | None = None
    """The first failure of the code (the task, the exception and where), or None."""
    failed_tasks: int = 0
    """Tasks on which the code failed (raised, timed out, gave no answer)."""
    cost: dict[str, Any] = field(default_factory=dict)
    """What the evaluation spent: model calls, input and output tokens, USD."""
    where: str = ""
    """Where its runs are (the harness's results folder)."""

    @property
    def accuracy(self) -> float:
        return sum(self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"outcomes": list(self.outcomes), "fitness": self.fitness.to_json(), "error": self.error,
                "failed_tasks": self.failed_tasks, "cost": dict(self.cost), "where": self.where}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evaluation:
        return cls(list(data["outcomes"]), Fitness.from_json(data["fitness"]), data.get("error"),
                   int(data.get("failed_tasks", 0)), dict(data.get("cost") or {}), str(data.get("where", "")))


@dataclass(frozen=True)
class Candidate:
    """An agent to evaluate: its name and its `forward` code."""

    name: str
    code: str


class Evaluator(Protocol):
    """Runs a candidate on the validation slice. Called inside a journaled effect of the search run, so
    a replay of the search serves its result and never calls it."""

    def describe(self) -> dict[str, Any]:
        """What it evaluates on (environment, task ids, model): part of each evaluation's journaled request."""
        ...

    async def __call__(self, candidate: Candidate) -> Evaluation:
        ...


def candidate_error(evaluation: Evaluation, *, generated: bool) -> str | None:
    """Why ADAS would reject this evaluation (the text for the meta agent), or None when it passes.

    The code's own failure always counts; a mean accuracy under `MIN_ACCURACY` counts for generated
    agents only (ADAS checks it in the search loop, not when it scores the initial archive)."""
    if evaluation.error:
        return evaluation.error
    if generated and evaluation.accuracy < MIN_ACCURACY:
        return (f"the agent answered {sum(evaluation.outcomes)} of {len(evaluation.outcomes)} validation tasks "
                f"correctly: a mean accuracy under {MIN_ACCURACY}, as if it never worked")
    return None
