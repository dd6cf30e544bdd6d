"""The measure of a population run: how far its curve lies from the scenario's reference series.

The answer is the closing record the simulation recipe's own code wrote (JSON; never model text). Its curve
for the scenario's measure (new cases per 100,000 a step; the unemployment rate in percent) is compared with
the reference series step by step, over the steps both have:

    nrmse = sqrt(mean((curve - reference)²)) / mean(reference)

the root-mean-square error in units of the reference's own mean level, so that a scenario of 3% unemployment
and one of 900 cases per 100k are read on one scale. `success` when nrmse ≤ the scenario's tolerance, which
is set above the seed-to-seed spread of the behaviour the reference was written under (`reference.behaviour`:
another draw of the same people behaving the same way lands within it). `reward` is 1 within the tolerance
(closer than chance cannot be told apart) and `tolerance / nrmse` beyond it, so that runs far off are still
ordered (a population that ignores the news can miss by ten times the reference, and comparing two such runs
is the point).

This is what AgentTorch does with its NYC runs (a simulated series against a reported one); our reference
series are written by us for made-up places (see each scenario's `reference.note`), so a score says how close
a population's behaviour brings the world to the stated course of events, not how well it forecasts a real
city.
"""

from __future__ import annotations

import math
from typing import Any

from ... import _json
from ..base import Score
from .scenario import Scenario

SUMMARY_KEYS = ("scenario", "dynamics", "mode", "population", "groups", "n_arch", "model_calls", "intervention",
                "summary")
"""What the score's details copy from the answer besides the curve (the curves' peaks and ends, the run's size)."""


def nrmse(curve: list[float], reference: list[float]) -> float:
    """Root-mean-square error of `curve` against `reference`, over the steps both have, over the reference's mean."""
    n = min(len(curve), len(reference))
    if n == 0:
        raise ValueError("no step to compare")
    error = math.sqrt(sum((curve[i] - reference[i]) ** 2 for i in range(n)) / n)
    level = sum(reference[:n]) / n
    return error / level if level > 0 else (0.0 if error == 0 else math.inf)


def score_answer(scenario: Scenario, answer: str | None) -> Score:
    """The scenario's verdict on a run's closing record (see the module)."""
    record, problem = _read(answer, scenario)
    if problem:
        hours = record.get("simulated_hours") if isinstance(record, dict) else None
        return Score(0.0, False, {"simulated_hours": float(hours) if isinstance(hours, (int, float)) else 0.0,
                                  "error": problem, "scenario": scenario.name})
    curve = [float(v) for v in record["curves"][scenario.measure]]
    reference = list(scenario.reference.series)
    error = nrmse(curve, reference)
    details: dict[str, Any] = {
        "simulated_hours": float(record["simulated_hours"]), "measure": scenario.measure, "nrmse": round(error, 6),
        "tolerance": scenario.reference.tolerance, "compared_steps": min(len(curve), len(reference)),
        "curve": curve, "reference": reference,
        **{key: record[key] for key in SUMMARY_KEYS if key in record}}
    tolerance = scenario.reference.tolerance
    reward = 1.0 if error <= tolerance else tolerance / error if math.isfinite(error) else 0.0
    return Score(round(reward, 6), error <= tolerance, details)


def _read(answer: str | None, scenario: Scenario) -> tuple[Any, str]:
    """The answer as the closing record, or what is wrong with it."""
    if answer is None:
        return {}, "the run gave no answer (no closing record)"
    try:
        record = _json.loads(answer)
    except ValueError:
        return {}, "the answer is not a simulation's closing record (not JSON)"
    if not isinstance(record, dict):
        return {}, "the answer is not a simulation's closing record (not a JSON object)"
    if record.get("scenario") != scenario.name:
        return record, f"the record is of scenario {record.get('scenario')!r}, not {scenario.name!r}"
    hours = record.get("simulated_hours")
    if not isinstance(hours, (int, float)) or isinstance(hours, bool):
        return record, "the record has no simulated_hours"
    curves = record.get("curves")
    curve = curves.get(scenario.measure) if isinstance(curves, dict) else None
    if not isinstance(curve, list) or not curve or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in curve):
        return record, f"the record has no {scenario.measure} curve"
    return record, ""
