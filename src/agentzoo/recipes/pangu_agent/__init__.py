"""Pangu-Agent (`pangu-agent`): a reasoning structure of intrinsic functions over a memory, then the action.

Christianos et al. 2023, "Pangu-Agent: A Fine-Tunable Generalist Agent with Structured Reasoning"
(arXiv:2312.14878; PAPERS.md #5). The policy is a nest of functions: **intrinsic** ones (think, plan,
reflect, use a tool, communicate) transform the agent's memory, and the **extrinsic** one maps the final
memory to the action sent to the environment; composite methods (chain of thought, ReAct, reflection,
self-consistency, SwiftSage-style fast/slow switching, least-to-most) are particular nestings [paper].

Here a structure is data (`structure.py`): a spec string such as `think -> plan -> act`, `vote(3, think ->
act)` or `swiftsage(act | think -> plan -> act)`, or a YAML file, parsed and checked with errors that name
the bad part. At every step of a step environment (`gridworld`, `textworld`; `ACTS_IN`) the structure runs
over the memory (`memory.py`): each function is one model call in its own scope (`functions.py`), and only
the extrinsic `act`'s output is sent to `env.step` (`agent.py`). `think -> plan -> act` is exactly three
model calls per step, in that order. The presets are the composite methods the paper compares.

The paper's training (SFT, then RL fine-tuning with PPO on the trajectories) needs GPUs and is not here; the
run's trajectory (each function's output, named after it, and the environment's answers) is what it would
train on, and the journal exports it like any run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, recipe_driver
from ...envs.step import EpisodeRules
from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...tools import ToolSet
from ..cot import request_fields
from .agent import PanguAgent
from .functions import PROMPTS
from .structure import StructureError, functions_in, parse, parse_yaml, spec

__all__ = ["ACTS_IN", "ANSWER_KINDS", "PanguAgent", "StructureError", "build", "parse", "parse_yaml", "spec"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the environment scores where the episode ended."""
ACTS_IN = ("gridworld", "textworld")
STRUCTURE = "think -> plan -> act"   # the protocol structure (PAPERS.md #5): three calls per step
WINDOW = 5                           # ours: past steps the memory state shows
VOTES_TEMPERATURE = 0.7              # self-consistency's sampling temperature (Wang et al. 2023 §3.1, as cot-sc)
SAGE_PATIENCE = 5                    # ours [unverified]: SwiftSage hands over to Sage after steps with no reward
STEP_TOOLS = ("act", "observe")
"""The episode's own step tools (`envs.stepping.episode_for`): the extrinsic function is the only way to act, so
the `tool` function never gets them."""

PRESETS: dict[str, dict[str, Any]] = {
    "think-plan-act": {},                                                    # the protocol structure, the default
    "direct": {"structure": "act"},                                          # first-order: the action alone
    "cot": {"structure": "think -> act"},                                    # a thought per step, not kept
    "react": {"structure": "think -> act", "keep_thoughts": True},           # thoughts kept in the trajectory
    "reflect": {"structure": "reflect -> think -> act", "keep_thoughts": True},
    "least-to-most": {"structure": "plan -> think -> act"},                  # sub-goals first, then the next one
    "cot-sc": {"structure": "vote(3, think -> act)"},                        # self-consistency over 3 samples
    "swiftsage": {"structure": "swiftsage(act | think -> plan -> act)"},     # fast, or slow when stuck
}
DEFAULT_PRESET = "think-plan-act"
OPTION_SOURCES: dict[str, str] = {
    "structure": "paper: the policy as a nest of intrinsic functions and one extrinsic function; the spec language "
                 "is ours, the presets are the composite methods the paper compares (Direct, CoT, ReAct, Reflect, "
                 "Least-to-Most, CoT-SC, SwiftSage) [paper]; the default is the issue's think -> plan -> act",
    "keep_thoughts": "ours: ReAct keeps thoughts in the trajectory, chain of thought uses them for its own step",
    "window": "ours: the last 5 steps are shown in the memory state",
    "vote_temperature": "Wang et al. 2023 §3.1 (self-consistency): samples at temperature 0.7, as cot-sc",
    "sage_patience": "ours [unverified]: SwiftSage switches to its slow module when the fast one makes no progress; "
                     "5 steps without reward here",
    "max_steps": "ours: none, the episode's rules end it (30 steps by default)",
}
DEVIATIONS: list[str] = [
    "no fine-tuning: SFT and RL fine-tuning (PPO) of the model on the trajectories need GPUs; the run's trajectory "
    "and journal are what they would use",
    "the prompts are ours and zero-shot: the paper's few-shot examples per environment are not shipped",
    "each intrinsic function is a separate model call; the paper may generate some nestings in one completion",
    "communicate asks a peer for advice (the `communicate` role's model, by default the same model), as one "
    "message; the paper's multi-agent communication between several acting agents is not built",
    "the tool function calls the tools the agent is given besides the episode's own act/observe; gridworld and "
    "textworld give none, so a structure with `tool` needs tools passed in Python",
    "SwiftSage's switch is ours: the slow branch runs at the first step, after an unreadable or twice-repeated "
    "action, or after sage_patience steps with no reward; SwiftSage also has a separately trained small Swift "
    "model, here both branches use the model given (or the models per role `swift`/`sage`)",
    "self-consistency samples run one after another, each with its own seed, and vote on the normalised action text",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, structure: str = STRUCTURE,
          keep_thoughts: bool = False, window: int = WINDOW, vote_temperature: float | None = VOTES_TEMPERATURE,
          sage_patience: int = SAGE_PATIENCE, max_steps: int | None = None) -> PanguAgent:
    """The structure `structure` (a spec string or a YAML file) acting in the harness's `episode` (a step
    environment's); with none, an agent that replays a run from its journal. `tools`: those the `tool` function
    may call (the episode's act/observe are left out). `system` replaces the system prompt."""
    parsed = parse(structure)
    if window < 1:
        raise ConfigError(f"pangu-agent: window must be at least 1 (past steps shown), got {window}")
    if sage_patience < 1:
        raise ConfigError(f"pangu-agent: sage_patience must be at least 1 (steps), got {sage_patience}")
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"pangu-agent: max_steps must be at least 1, got {max_steps}")
    toolset = ToolSet([t for t in tools if getattr(t, "name", getattr(t, "__name__", None)) not in STEP_TOOLS])
    if "tool" in functions_in(parsed) and not toolset.names:
        raise StructureError(f"pangu-agent structure {structure!r}: 'tool' needs tools to call, and this agent has "
                             "none besides the episode's own act/observe (pass tools in Python)")
    driver = _driver(episode)
    if max_steps is not None:
        driver.rules = EpisodeRules(max_steps, driver.rules.max_parse_failures, driver.rules.max_repeated_actions)
    goal = getattr(getattr(episode, "task", None), "prompt", None)
    return PanguAgent(model, driver, parsed, goal=goal, tools=toolset,
                      system=system if system is not None else render(PROMPTS / "system.j2"),
                      sampling={"temperature": 0.0, **request_fields(sampling)}, window=window,
                      keep_thoughts=keep_thoughts,
                      max_steps=max_steps, vote_temperature=vote_temperature, sage_patience=sage_patience)


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"pangu-agent acts in step environments: "
                                  f"it needs an episode of one ({', '.join(ACTS_IN)})")
