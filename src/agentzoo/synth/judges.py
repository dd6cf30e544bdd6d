"""Judges as reusable pipeline parts: a rubric judge (a score on a scale, with reasons) and a committee of
judges that vote.

- `RubricJudge(model, rubric, scale=(1, 5))`: one call, `{reasons, score}` in JSON; a reply that is not that
  is sent back once with the problem, and a second bad one is no score (`Verdict.score is None`, the
  problem as its reasons): a filter then drops the item, so nothing unjudged passes.
- `Committee(judges, threshold, rule)`: k judges (or one judge asked k times: `Committee.of(judge, k)`),
  each in its own scope `judge#i`, concurrently; each votes pass when its score reaches `threshold`; the rule
  (`majority`, `all`, `any`, or `mean` of the scores against the threshold) decides.
- `judge_stage(judge, text, threshold)`: a per-item pipeline stage that keeps the items a judge passes and
  notes the verdict in their provenance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, FormatError
from ..prompts import render
from ..protocols import Model
from ..replies import json_format, json_object, object_schema
from ..runtime.context import Context
from ..types import ModelRequest
from .pipeline import Drop, Item

PROMPTS = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class Verdict:
    score: float | None
    reasons: str
    passed: bool
    votes: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"score": self.score, "reasons": self.reasons, "passed": self.passed}
        if self.votes:
            out["votes"] = list(self.votes)
        return out


def parse_score(text: str, low: int, high: int) -> tuple[int, str]:
    """(score, reasons) from a judge's reply; `FormatError` naming what is wrong."""
    data = json_object(text)
    score = data.get("score")
    if isinstance(score, str) and score.strip().lstrip("-").isdigit():
        score = int(score.strip())
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise FormatError(f"`score` must be a whole number from {low} to {high}, got {score!r}")
    reasons = data.get("reasons")
    return score, reasons if isinstance(reasons, str) else ""


@dataclass
class RubricJudge:
    model: Model
    rubric: str
    scale: tuple[int, int] = (1, 5)
    threshold: float | None = None
    """The score an example needs to pass; default the top of the scale's upper half."""
    sampling: dict[str, Any] = field(default_factory=dict)
    system: str | Path = PROMPTS / "rubric_system.j2"
    prompt: str | Path = PROMPTS / "rubric.j2"
    retry: str | Path = PROMPTS / "rubric_retry.j2"

    def __post_init__(self) -> None:
        low, high = self.scale
        if not isinstance(low, int) or not isinstance(high, int) or low >= high:
            raise ConfigError(f"rubric judge: scale must be two whole numbers, low < high, got {self.scale!r}")
        if self.threshold is None:
            self.threshold = (low + high) / 2
        if not low <= self.threshold <= high:
            raise ConfigError(f"rubric judge: threshold {self.threshold} is outside the scale {low}–{high}")
        if not self.rubric.strip():
            raise ConfigError("rubric judge: the rubric is empty")

    async def judge(self, example: str, ctx: Context) -> Verdict:
        low, high = self.scale
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render(self.system, low=low, high=high)},
            {"role": "user", "content": render(self.prompt, rubric=self.rubric, example=example, low=low, high=high)}]
        # the verdict's shape as a strict schema: a server that constrains decoding (llama.cpp) then makes even a
        # small model give a readable {reasons, score} on the scale, reasons first (they come before the score)
        verdict = object_schema(reasons={"type": "string", "maxLength": 600},
                                score={"type": "integer", "enum": list(range(low, high + 1))})
        sampling = {"response_format": json_format(verdict, "verdict"), **self.sampling}
        problem = ""
        for attempt in range(2):
            response = await ctx.model(self.model, ModelRequest(messages=messages, **sampling))
            text = response.text or ""
            try:
                score, reasons = parse_score(text, low, high)
            except FormatError as exc:
                problem = str(exc)
            else:
                assert self.threshold is not None
                return Verdict(float(score), reasons, score >= self.threshold)
            if attempt == 0:
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": render(self.retry, problem=problem, low=low, high=high)}]
        return Verdict(None, f"the judge's reply could not be read: {problem}", False)


Rule = Literal["majority", "all", "any", "mean"]


@dataclass
class Committee:
    judges: Sequence[RubricJudge]
    rule: Rule = "majority"

    def __post_init__(self) -> None:
        if not self.judges:
            raise ConfigError("committee: no judges")
        if self.rule not in ("majority", "all", "any", "mean"):
            raise ConfigError(f"committee: rule must be majority, all, any or mean, not {self.rule!r}")

    @classmethod
    def of(cls, judge: RubricJudge, k: int, rule: Rule = "majority") -> Committee:
        """One judge asked k times (each in its own scope: with sampling at a temperature, k opinions)."""
        if k < 1:
            raise ConfigError(f"committee: k must be at least 1, not {k}")
        return cls([judge] * k, rule)

    async def judge(self, example: str, ctx: Context) -> Verdict:
        scopes = [ctx.child("judge", i) for i in range(len(self.judges))]
        verdicts = await asyncio.gather(*(j.judge(example, s) for j, s in zip(self.judges, scopes)))
        passes = [v.passed for v in verdicts]
        scores = [v.score for v in verdicts if v.score is not None]
        mean = sum(scores) / len(scores) if scores else None
        if self.rule == "majority":
            passed = sum(passes) * 2 > len(passes)
        elif self.rule == "all":
            passed = all(passes)
        elif self.rule == "any":
            passed = any(passes)
        else:
            threshold = self.judges[0].threshold
            passed = mean is not None and threshold is not None and mean >= threshold
        votes = tuple(v.to_json() for v in verdicts)
        return Verdict(mean, f"{sum(passes)} of {len(passes)} judges passed it ({self.rule})", passed, votes)


Judge = RubricJudge | Committee


def judge_stage(judge: Judge, text: Callable[[Item], str], *, key: str = "judge"):
    """A per-item stage fn: the item passes on (with the verdict noted under `key`) when the judge passes it."""
    async def fn(item: Item, ctx: Context) -> list[Item] | Drop:
        verdict = await judge.judge(text(item), ctx)
        if not verdict.passed:
            return Drop(f"{key}: below threshold" if verdict.score is not None else f"{key}: unreadable")
        return [{**item, key: verdict.to_json(), "note": {key: verdict.to_json()}}]
    return fn
