"""Proactive Agent (`proactive-agent`): at each event of a user's activity, propose a task or stay silent.

Lu et al. 2024, "Proactive Agent: Shifting LLM Agents from Reactive Responses to Active Assistance"
(arXiv:2410.12361; thunlp/ProactiveAgent): a proactive agent watches a stream of user activity events and at
each one either proposes a task or predicts None; a judge (there a reward model trained on human accept/reject
labels) accepts or rejects each proposal, and the turns are scored as TP/FP/TN/FN with Recall, Precision,
Accuracy, False-Alarm and F1 (`envs.proactive_events.metrics`, per `eval/calculate_agent_performance.py`).

The loop is `agent.ProactiveAgent`: one model call per event, a `Task:` line read as the proposal (`None` for
silence), sent to the environment as `propose [task]` or `none`. It acts in `proactive-events` (`ACTS_IN`), our
event gym, whose judge is the streams' labels unless a model is named. The paper's models are fine-tuned on
6,790 events of its gym and its judge is a trained reward model; neither is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import ProactiveAgent, action_for, read_task

__all__ = ["ACTS_IN", "ANSWER_KINDS", "ProactiveAgent", "action_for", "build", "read_task"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode: each decision is a step, and the judged turns are scored."""
ACTS_IN = ("proactive-events",)
MAX_EVENTS = 30          # ours: a bound on the replies of one stream (the shipped streams have 4-6 events)
TEMPERATURE = 0.0        # ours: one decision per event, read deterministically

OPTION_SOURCES: dict[str, str] = {
    "max_events": "ours: a bound on the decisions of one stream; ProactiveBench's gym stops when its events do",
    "temperature": "ours: greedy decisions (the paper's sampling for evaluation is not stated in the metric code)",
}
DEVIATIONS: list[str] = [
    ("the judge is the streams' labels (a proposal is accepted when the event needs help and it names one of the "
    "event's accept words) or a model asked for a strict JSON verdict; the paper's judge is a reward model "
    "trained on human labels (0.918 F1 against them)"),
    ("the events are 8 short streams written for agentzoo, not ProactiveBench's 6,790 generated events; an event "
    "is a sentence, not the gym's structured keyboard/app/browser records"),
    "the reply is two lines (Thought, Task) in our words; a reply with no `Task:` line counts as silence",
    "no fine-tuning: any model plays the agent",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, max_events: int = MAX_EVENTS,
          temperature: float | None = TEMPERATURE) -> ProactiveAgent:
    """The proactive agent on the harness's episode (a `proactive-events` stream); with none, an agent that
    replays a run from its journal. `tools` are not used: it acts by its decisions."""
    if max_events < 1:
        raise ConfigError(f"proactive-agent: max_events must be at least 1, got {max_events}")
    return ProactiveAgent(model, _driver(episode), max_events=max_events, system=system,
                          sampling=request_fields(sampling, temperature=temperature))


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"proactive-agent watches event streams step by step: "
                                  f"it needs an episode of {', '.join(ACTS_IN)}")
