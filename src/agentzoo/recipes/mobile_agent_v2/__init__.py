"""Mobile-Agent-v2 (`mobile-agent-v2`): a decision agent, a memory unit, a reflection agent and a planning agent
operating a phone.

Wang et al. 2024, "Mobile-Agent-v2: Mobile Device Operation Assistant with Effective Navigation via
Multi-Agent Collaboration" (NeurIPS 2024, arXiv:2406.01014), checked against X-PLUG/MobileAgent
`Mobile-Agent-v2/run.py` and `MobileAgent/prompt.py`. The loop is `agent.MobileAgentV2`: the decision agent
writes Thought / Action / Operation; the memory unit keeps the task's "focus content"; the reflection agent
compares the screens before and after the action (A as expected, B a wrong page: go back, C no change); the
planning agent updates the "Completed contents" only after an A; B and C set an error flag shown as a hint in
the next decision prompt.

It acts in `screens` (`ACTS_IN`), our text-only phone: a screen is its elements as text, so the paper's
perception tools (OCR, icon detection and captioning on screenshots) have nothing to do, and the actions are
the screens grammar (`open_app`, `tap [id]`, `type`, `swipe`, `back`, `home`, `stop`) instead of coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import MobileAgentV2, read_decision, read_memory, read_verdict, sections

__all__ = ["ACTS_IN", "ANSWER_KINDS", "MobileAgentV2", "build", "read_decision", "read_memory", "read_verdict",
           "sections"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the phone's end state (and the `stop` answer) is what is scored."""
ACTS_IN = ("screens",)
MAX_ROUNDS = 30          # ours: run.py loops until Stop; screens' own rules end an episode at 30 actions
TEMPERATURE = 0.0        # ours: run.py's API calls set no temperature we rely on

PRESETS: dict[str, dict[str, Any]] = {
    "full": {"reflection": True, "memory": True},      # run.py: reflection_switch = True, memory_switch = True
    "no-reflection": {"reflection": False},            # the paper's ablation without the reflection agent
    "no-memory": {"memory": False},                    # the paper's ablation without the memory unit
}
DEFAULT_PRESET = "full"
OPTION_SOURCES: dict[str, str] = {
    "reflection": "run.py: reflection_switch (the reflection agent; off, every operation counts as done)",
    "memory": "run.py: memory_switch (the memory unit's focus content)",
    "hint": "run.py: add_info, extra operation knowledge shown in the decision prompt's Hint section",
    "max_rounds": "ours: run.py loops until the Stop action; screens ends an episode at 30 actions anyway",
    "temperature": "ours: greedy replies",
}
DEVIATIONS: list[str] = [
    ("a text-only phone (screens) instead of an Android device: screens are element lists with numbers, so there "
    "is no perception module (OCR, icon detection, captioning) and taps name elements, not (x, y)"),
    ("one model plays every role; the paper's code uses GPT-4o for decision and reflection and GPT-4-turbo for "
    "planning"),
    ("the prompts are ours, with the paper's sections and output headers (### Thought ### / ### Action ### / "
    "### Operation ###; ### Important content ###; ### Answer ###; ### Completed contents ###)"),
    ("the decision's Action is one screens action; the paper's Swipe takes two coordinates and Back is not offered "
    "to the decision agent (here `back` is an action of screens' grammar, shown with the others)"),
    "a reflection reply with no A, B or C counts as C (error flag set, nothing recorded as done)",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, reflection: bool = True,
          memory: bool = True, hint: str = "", max_rounds: int = MAX_ROUNDS,
          temperature: float | None = TEMPERATURE) -> MobileAgentV2:
    """Mobile-Agent-v2 on the harness's episode (a screens task); with none, an agent that replays a run from its
    journal. `tools` are not used: it acts by its decisions. `system` replaces the action description shown
    in the decision prompt's response requirements (by default the phone's action space)."""
    if max_rounds < 1:
        raise ConfigError(f"mobile-agent-v2: max_rounds must be at least 1, got {max_rounds}")
    return MobileAgentV2(model, _driver(episode), reflection=reflection, memory=memory, max_rounds=max_rounds,
                         hint=hint, actions=system, sampling=request_fields(sampling, temperature=temperature))


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"mobile-agent-v2 operates a phone step by step: "
                                  f"it needs an episode of {', '.join(ACTS_IN)}")
