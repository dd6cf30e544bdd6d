"""ProAgent (#20): a cooperative planner that infers its teammate's intention, checks its skill and explains failures.

Zhang et al. 2024, "ProAgent: Building Proactive Cooperative Agents with Large Language Models" (AAAI 2024,
arXiv:2308.11339), checked against PKU-Alignment/ProAgent@8aa0e6563b (`src/proagent/proagent.py`,
`modules.py`, `main.py`, the planner and explainer prompts). It plays Player 0 of the `kitchen` environment
(`agentzoo.envs.kitchen`, an Overcooked-style kitchen written for the project) beside a scripted teammate.

Per time step (`agent.py`):
1. When there is no skill in progress, or the one in progress is finished (by what Player 0 holds), the
   **planner** (a model call) reads the knowledge (rules, the kitchen's objects, the skill library with its
   conditions), the recent dialogue (**memory**, the last K = 10 messages), with belief revision what it
   expected of the teammate and what the teammate did (**belief correction**: the last expectation compared
   with the first skill the teammate finished after it), and the scene; it answers with an analysis, the
   **teammate's intention** and ONE skill (`pickup(onion)`, `put_onion_in_pot()`, …). A finished skill adds
   "Player 0 succeeded at …" to the dialogue.
2. The **verificator** checks the skill's conditions (`skills.yaml`, checks in Python over the kitchen's
   state), every step, so a skill that the teammate made impossible is caught too. On a failed condition the
   **explainer** (a model call) is asked why; its answer goes into the planner's dialogue and the planner is
   asked again, told to plan again from the explanation. After 3 such retries fail too, Player 0 waits a step.
3. The **controller** turns the skill into the next low-level action: breadth-first search to the nearest
   pose from which `interact` does it, around the teammate (`controller.py`).

Presets are the planner's prompt levels: `l3-aip` (analysis, intention, plan; with belief revision: the
whole system, the default), `l2-ap` (analysis, plan: the code's default), `l1-p` (plan only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import ProAgent, Settings
from .controller import BFSController, Controller
from .memory import Beliefs, Dialogue
from .skills import SKILLS, Call, failed_condition, finished, read_call

__all__ = ["ACTS_IN", "ANSWER_KINDS", "BFSController", "Beliefs", "Call", "Controller", "Dialogue", "ProAgent",
           "SKILLS", "build", "failed_condition", "finished", "read_call"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the kitchen's soups are what is scored."""
ACTS_IN = ("kitchen",)
"""It reads the kitchen's state (`Observation.data`) and names its skills."""

K = 10                   # PAPERS.md #20, ProAgent `create_gptmodule(..., retrival_method='recent_k', K=10)`
MAX_RETRIES = 3          # proagent.py action(): `count += 1; if count > 3: current_ml_action = "wait(1)"`
TEMPERATURE = 0.0        # modules.py Module.query(temperature=0.0)
MAX_TOKENS = 256         # modules.py: ChatCompletion.create(..., max_tokens=256)
STOP = ("Scene",)        # proagent.py generate_ml_action(): planner.query(stop='Scene')

PRESETS: dict[str, dict[str, Any]] = {
    "l3-aip": {"prompt_level": "l3-aip", "belief_revision": True},
    "l2-ap": {"prompt_level": "l2-ap", "belief_revision": False},
    "l1-p": {"prompt_level": "l1-p", "belief_revision": False},
}
DEFAULT_PRESET = "l3-aip"
OPTION_SOURCES: dict[str, str] = {
    "prompt_level": "main.py --prompt_level choices l1-p (plan), l2-ap (analysis, plan), l3-aip (analysis, intention, "
                    "plan); the paper's full ProAgent infers the teammate's intention, so l3-aip is the default here "
                    "(the code's default is l2-ap)",
    "belief_revision": "main.py --belief_revision; proagent.py generate_belief_prompt() (inferred intentions and real "
                       "behaviours, only with l3-aip); paper §3: belief correction. On by default here (the code's "
                       "default is off)",
    "k": "PAPERS.md #20 and proagent.py create_gptmodule(retrival_method='recent_k', K=10): the last K dialogue "
         "messages (modules.py Module.get_cache); main.py's own --K default is 1",
    "max_retries": "proagent.py action(): replans after a failed check until count > 3, then wait(1)",
    "temperature": "modules.py Module.query(temperature=0.0), planner and explainer",
    "max_tokens": "modules.py Module.query: max_tokens=256, planner and explainer",
    "stop": "proagent.py generate_ml_action(): the planner's query stops at 'Scene' (the next scene it would invent)",
}
DEVIATIONS: list[str] = [
    "the world is the project's text kitchen (agentzoo.envs.kitchen: onion soup only, pots cook by themselves as in "
    "Overcooked-AI 0.0.1), not Overcooked-AI; the teammate is the kitchen's scripted greedy or onion-fetching cook",
    "the recent-K dialogue is in every planner prompt, as the paper describes; ProAgent's code shows it only when it "
    "replans after a failure (Module.query sets K to 0 while `trace` is True)",
    "the dialogue records the planner's reply once (ProAgent adds the reply and then the parsed skill as a second "
    "assistant message), and leaves an exchange out when the parsed skill is a wait (ProAgent: when 'wait' occurs "
    "anywhere in the reply)",
    "the shown beliefs are the last K inferences and the last K behaviours, and a line compares the last inference "
    "with what the teammate did next (ProAgent prints both dictionaries whole and leaves the comparison to the model)",
    "the teammate's real behaviour is read from the kitchen's events (what each cook finished in a step), as "
    "ProAgent's patched Overcooked reports `state.ml_actions`",
    "the controller is deterministic: when the teammate blocks every way it walks the shortest path through it "
    "(ProAgent: stay or that path with probability 1/2 each); during wait(n) it steps out of the teammate's way, else "
    "stays (ProAgent: a random valid move each step)",
    "the first skill named on the plan line is taken (ProAgent tests its keywords in a fixed order, place, pick, put, "
    "fill, deliver, wait, so it reads 'wait(20) or pickup(dish)' as pickup); a reply with no plan line is searched "
    "whole; one that names no skill is wait(1), as in ProAgent; `put` always means put_onion_in_pot (onions only)",
    "the prompts are ours (the same knowledge: rules, skills with their conditions, the reply format, one example); "
    "ProAgent ships one hand-written planner prompt per layout and player",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None,
          prompt_level: Literal["l1-p", "l2-ap", "l3-aip"] = "l3-aip", belief_revision: bool = True, k: int = K,
          max_retries: int = MAX_RETRIES, temperature: float | None = TEMPERATURE, max_tokens: int | None = MAX_TOKENS,
          stop: tuple[str, ...] = STOP) -> ProAgent:
    """ProAgent on the harness's kitchen episode (`episode`); with none, an agent that replays a run from its
    journal. `tools` and `system` are not used: it acts by its controller, and its prompts are its own. The
    planner's and the explainer's calls are in scopes named `planner` and `explainer`, so a spec's `models:` can
    give each its own model."""
    if k < 0:
        raise ConfigError(f"proagent: k (dialogue messages the planner sees) must be 0 or more, got {k}")
    if max_retries < 0:
        raise ConfigError(f"proagent: max_retries must be 0 or more, got {max_retries}")
    if belief_revision and prompt_level != "l3-aip":
        raise ConfigError(f"proagent: belief_revision needs the teammate's inferred intention, which only prompt "
                          f"level l3-aip asks for (got {prompt_level}); use the preset l3-aip or belief_revision=false")
    fields = request_fields(sampling, temperature=temperature)
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    planner = dict(fields, **({"stop": list(stop)} if stop else {}))
    settings = Settings(prompt_level, belief_revision, k, max_retries, planner, fields)
    return ProAgent(model, model, _driver(episode), BFSController(), settings)


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"proagent plays the kitchen step by step: "
                                  f"it needs an episode of {', '.join(ACTS_IN)}")
