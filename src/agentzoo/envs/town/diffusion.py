"""The paper's information-diffusion measure (Park et al. 2023, §7.1): at the end of the simulation, the
share of residents other than the one the news started with who know of it.

The simulation recipe decides who knows and writes it in its answer (`knew`: residents whose interview
names the event and who, by its dialogue log, were in fact told — the paper, too, counts an agent only
when its memory shows it heard the news, not when it makes it up). This module reads that answer: it
checks the names, recomputes the share over the residents the run simulated, and says whether it
reaches the scenario's `success_share`.
"""

from __future__ import annotations

import re
from typing import Any

from ... import _json
from ..base import Score
from .scenario import Event, Scenario


def mentions(text: str | None, event: Event) -> bool:
    """Whether `text` speaks of the event: one of its keywords as a word (case-insensitive)."""
    if not text:
        return False
    return any(re.search(rf"(?<!\w){re.escape(k.lower())}", text.lower()) for k in event.keywords)


def read_answer(answer: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The recipe's closing record as an object, or (None, why not)."""
    if answer is None:
        return None, "the run gave no answer"
    try:
        data = _json.loads(answer)
    except ValueError as exc:
        return None, f"the answer is not JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"the answer is JSON {type(data).__name__}, not an object"
    return data, None


def score(scenario: Scenario, answer: str | None) -> Score:
    data, problem = read_answer(answer)
    hours = data.get("simulated_hours") if data else None
    details: dict[str, Any] = {"simulated_hours": float(hours) if isinstance(hours, (int, float)) else 0.0,
                               "host": scenario.event.host, "event": scenario.event.name}
    if data is None:
        return Score(0.0, False, {**details, "error": problem})
    everyone = [r.name for r in scenario.residents]
    simulated = data.get("residents")
    if not isinstance(simulated, list) or not simulated or not set(simulated) <= set(everyone) \
            or scenario.event.host not in simulated:
        return Score(0.0, False, {**details, "error": "the answer's `residents` is not a list of this scenario's "
                                                     "residents that includes the host"})
    knew = data.get("knew")
    if not isinstance(knew, list) or not all(isinstance(n, str) for n in knew):
        return Score(0.0, False, {**details, "error": "the answer's `knew` is not a list of names"})
    strangers = sorted(set(knew) - set(simulated))
    if strangers:
        return Score(0.0, False, {**details, "error": f"`knew` names who was not simulated: {', '.join(strangers)}"})
    others = [n for n in simulated if n != scenario.event.host]
    known = [n for n in others if n in knew]
    share = len(known) / len(others) if others else 0.0
    details.update({"diffusion": share, "knew": known, "residents": len(simulated),
                    "told": sorted(data.get("told") or {}), "hallucinated": data.get("hallucinated") or [],
                    "attended": data.get("attended"), "conversations": data.get("conversations")})
    return Score(share, share >= scenario.success_share, details)
