"""CORE-Bench's scorer: a report (question -> answer) against the answers of repeated ground-truth runs.

The rule is `eval_result_json` of siegelz/core-bench benchmark/evaluations.py (read for facts):

- a question's kind is that of its first ground-truth run's answer: a number, a list, or a string;
- a number is correct inside the 95 % prediction interval of the runs' answers,
  mean ± t.ppf(0.975, n − 1) · sd · sqrt(1 + 1/n) (sd with n − 1, scipy's Student t);
- a reported answer has every '%' taken out, then is cast to a float where it can be ("51%" -> 51.0);
- a list is correct when it equals the first run's list exactly;
- a string is correct when its text equals the first run's, ignoring case;
- a question whose text contains "fig" is a vision question, counted apart from the written ones;
- a task is solved only when every question, written and vision, is correct (`correct_tasks` in `score_results`).

Two differences, on purpose. Each question is judged on its own: upstream judges the questions in one `try`, so an
answer that cannot be compared (a word for a number) stops the judging and the questions after it count wrong even
when right. And a string question compares the answer as reported: upstream casts every answer first, so a
reported "5" becomes "5.0" and can never equal a string answer "5".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import fmean, stdev
from typing import Any

from ...errors import ConfigError

CONFIDENCE_QUANTILE = 0.975
"""evaluations.py: `t.ppf(0.975, sample_size - 1)`, a two-sided 95 % interval."""
VISION_MARK = "fig"
"""evaluations.py: a key containing "fig" is a vision question (`'fig' in key`)."""
KINDS = ("number", "list", "string")


def kind_of(value: Any) -> str:
    """The kind of a ground-truth answer (a bool is not a number here: no capsule asks a yes/no as 1/0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    raise ConfigError(f"a CORE-Bench ground-truth answer is a number, a list or a string, not {value!r}")


def is_vision(question: str) -> bool:
    return VISION_MARK in question


def prediction_interval(values: list[float]) -> tuple[float, float]:
    """The 95 % prediction interval of one more run, from the runs' `values` (at least two)."""
    if len(values) < 2:
        raise ConfigError(f"a prediction interval needs at least two ground-truth runs, not {len(values)}")
    try:
        from scipy.stats import t
    except ImportError:
        raise ConfigError("the core-bench scorer uses scipy's Student t: pip install scipy "
                          "(it comes with 'agentzoo[mlagentbench]')") from None
    if min(values) == max(values):  # runs that agree: the interval is their value (a float mean of equal values
        return values[0], values[0]  # can miss it by one unit in the last place, as 5 x 0.0065 / 5 does)
    n = len(values)
    half = float(t.ppf(CONFIDENCE_QUANTILE, n - 1)) * stdev(values) * math.sqrt(1 + 1 / n)
    mean = fmean(values)
    return mean - half, mean + half


def normalise(answer: Any) -> Any:
    """A reported answer as the scorer compares it: '%' taken out of a string, then cast to float if it can be."""
    if isinstance(answer, str):
        answer = answer.replace("%", "")
    if isinstance(answer, bool) or isinstance(answer, (list, dict)) or answer is None:
        return answer
    try:
        return float(answer)
    except (TypeError, ValueError):
        return answer


@dataclass(frozen=True)
class Verdict:
    """One question judged."""

    question: str
    kind: str
    vision: bool
    expected: Any
    """A number's interval [low, high]; a list's or a string's first-run answer."""
    got: Any
    """The answer as reported (None when the report does not answer the question)."""
    correct: bool


def judge(question: str, runs: list[dict[str, Any]], answered: bool, answer: Any) -> Verdict:
    """One question of a report against the ground-truth runs."""
    first = runs[0][question]
    kind = kind_of(first)
    expected: Any = first
    correct = False
    if kind == "number":
        low, high = prediction_interval([float(run[question]) for run in runs])
        expected = [low, high]
        value = normalise(answer)
        correct = answered and isinstance(value, float) and low <= value <= high
    elif kind == "list":
        correct = answered and answer == first
    else:
        correct = answered and str(answer).lower() == str(first).lower()
    return Verdict(question, kind, is_vision(question), expected, answer if answered else None, bool(correct))


@dataclass(frozen=True)
class ReportScore:
    """A report judged: every question, and the counts CORE-Bench reports, written and vision apart."""

    verdicts: list[Verdict]

    def count(self, vision: bool, correct: bool | None = None) -> int:
        return sum(v.vision == vision and (correct is None or v.correct == correct) for v in self.verdicts)

    @property
    def solved(self) -> bool:
        """CORE-Bench's task success: every question, written and vision, is correct."""
        return bool(self.verdicts) and all(v.correct for v in self.verdicts)

    def details(self) -> dict[str, Any]:
        return {"correct_written_answers": self.count(False, True), "total_written_questions": self.count(False),
                "correct_vision_answers": self.count(True, True), "total_vision_questions": self.count(True),
                "questions": [asdict(v) for v in self.verdicts]}


def score_report(runs: list[dict[str, Any]], report: dict[str, Any]) -> ReportScore:
    """`report` (question -> answer) against `runs` (one dict question -> answer per ground-truth run). A question
    the report does not answer is wrong; answers to questions not asked are ignored (as upstream)."""
    if not runs:
        raise ConfigError("a CORE-Bench task needs at least one ground-truth run")
    return ReportScore([judge(q, runs, q in report, report.get(q)) for q in runs[0]])
