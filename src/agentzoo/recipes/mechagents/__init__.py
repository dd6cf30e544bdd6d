"""MechAgents (`mechagents`), PAPERS.md #23: a group chat that writes, runs and corrects code for mechanics problems.

Ni & Buehler, "MechAgents" (lamm-mit/MechAgents, Colab notebooks on AutoGen's group chat): a planner, a
scientist (formulator), an engineer (coder), an executor and a critic share one thread; the engineer's code is
run by the executor and errors go back to the engineer until the critic accepts the result. The paper's
problems are FEniCS elasticity simulations; here the sandbox's Python has the standard library only (no
numpy, scipy or FEniCS on this machine), so the engineer is told to write plain Python (`plain=True`) and the
recipe runs on number-answer environments: `numeric-problems` (six closed-form mechanics problems: a beam's
deflection, springs in series, an ODE's value at t, …) and gsm8k.

Built on `agentzoo.teams.group_chat.GroupChat`: speakers by a rule (planner → scientist → engineer → executor
→ critic → engineer …; preset `auto`: a model picks, as AutoGen's default), a traceback hands over to the
engineer (`HANDOFF: engineer`), the critic ends the chat with `TERMINATE` and its message is the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...sandbox import Limits
from ...teams.group_chat import GroupChat, ModelSelector, Participant
from ..cot import text_only
from .team import (
    PROMPTS,
    ROLES,
    Executor,
    RoleMember,
    latest_code,
    rule_selector,
    sandbox_factory,
)

__all__ = ["ANSWER_KINDS", "ROLES", "MechAgents", "build", "latest_code", "rule_selector"]

ANSWER_KINDS = ("number",)
ROLES_SOURCE = "paper (#23): planner, scientist (formulator), engineer (coder), executor, critic"  # `ROLES`
MAX_TURNS = 15          # ours [unverified]: the notebooks' max_round is not recorded in PAPERS.md
EXEC_TIMEOUT = 60.0     # ours: seconds per code run
SELECTORS = ("rule", "auto")

PRESETS: dict[str, dict[str, Any]] = {"rule": {"selector": "rule"}, "auto": {"selector": "auto"}}
OPTION_SOURCES: dict[str, str] = {
    "selector": "notebooks use AutoGen group chat (model-picked speakers: preset `auto`); the rule is ours",
    "max_turns": "ours (15) [unverified]",
    "exec_timeout": "ours: 60 s of wall time per code run",
    "plain": "ours: the sandbox's Python has no numpy/scipy here; True tells the engineer to use `math`",
}
DEVIATIONS: list[str] = [
    "no FEniCS: closed-form mechanics problems (numeric-problems) and gsm8k in plain Python instead of finite-element elasticity problems",
    "prompts are ours; the executor is the sandbox, not an LLM, and a traceback always hands over to the engineer",
    "speakers by a fixed rule by default (AutoGen's default is a model's pick: preset `auto`)",
]


class MechAgents:
    name = "mechagents"

    def __init__(self, chat: GroupChat, executor: Executor) -> None:
        self.chat, self.executor = chat, executor

    async def run(self, task: str, ctx: Any):
        try:
            return await self.chat.run(task, ctx)
        finally:
            await self.executor.close()


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, selector: str = "rule", max_turns: int = MAX_TURNS,
          plain: bool = True, exec_timeout: float = EXEC_TIMEOUT, tier: str = "auto", limits: Limits | None = None,
          allow_unsafe: bool = False) -> MechAgents:
    """The five-member group chat. `system` is prepended to every model member's role prompt."""
    text_only("mechagents", tools)
    if selector not in SELECTORS:
        raise ConfigError(f"mechagents: selector must be one of {', '.join(SELECTORS)}, got {selector!r}")
    executor = Executor(sandbox_factory(tier, limits, allow_unsafe), exec_timeout)
    descriptions = {"planner": "plans the solution", "scientist": "formulates the equations and values",
                    "engineer": "writes the Python code", "executor": "runs the engineer's code and reports",
                    "critic": "checks the result and gives the final answer"}
    members = []
    for role in ROLES:
        if role == "executor":
            agent: Any = executor
        else:
            prompt = render(PROMPTS / f"{role}.j2", plain=plain)
            agent = RoleMember(model, f"{system}\n\n{prompt}" if system else prompt, sampling)
        members.append(Participant(role, agent, descriptions[role]))
    pick = rule_selector if selector == "rule" else ModelSelector(model, sampling=sampling)
    return MechAgents(GroupChat(members, selector=pick, max_turns=max_turns, name="mechagents"), executor)
