"""CORE-Agent (`core-agent`, PAPERS.md #33): a general tool loop with CORE-Bench's instructions and report check.

Siegel et al. 2024 (CORE-Bench, arXiv:2409.11363) adapt AutoGPT into CORE-Agent (siegelz/core-bench
agents/AutoGPT-CORE, read for facts): the same loop, given a research-assistant role, best practices and
constraints by the `coreagent_*.sh` scripts, a command that asks a vision model about images, and, with
`--programmatic_key_check`, a `finish` command that refuses to end the run while report.json is missing or its
keys are not the task's questions, telling the agent what is wrong. The paper reports that these adaptations
raised accuracy most with the weaker model.

Here: `ToolCallingAgent` over the core-bench workspace (`act`, `observe`), a system prompt in our words with the
role and the practices that apply to this workspace (`prompts/system.j2`), and the report check (`key_check`,
on by default): a Final Answer action is looked at before it is taken: while the workspace has no report.json,
or it is not a JSON object, or its keys are not exactly the task's questions, the action is not taken and the
agent is told why (`prompts/key_check.j2`). The check reads the workspace as it stands (no action is spent), inside
the `act` call, so its answer is journaled with the call and a replay serves it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...agents.tool_calling import ToolCallingAgent
from ...envs import stepping
from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...tools import ToolSet, tool

__all__ = ["ACTS_IN", "ANSWER_KINDS", "build"]

PROMPTS = Path(__file__).parent / "prompts"
ANSWER_KINDS = ("tool-calls",)
ACTS_IN = ("core-bench",)
MAX_STEPS = 30
REPORT = "report.json"
FINAL_ANSWER = "Final Answer"
OPTION_SOURCES: dict[str, str] = {
    "max_steps": "ours: AutoGPT-CORE runs --continuous with no step cap, bounded by --openai_cost_budget (4 dollars a "
                 "task in coreagent_hard_gpt4o.sh); a reply budget bounds it here",
    "key_check": "coreagent_*.sh --programmatic_key_check: AutoGPT-CORE's finish refuses while report.json is missing "
                 "or its keys differ from the task's",
}
DEVIATIONS: list[str] = [
    "one tool loop with the provider's tool calls, not AutoGPT's one-shot JSON prompt strategy (thoughts, plan, "
    "criticism, command)",
    "no vision-model command: the figures here are SVG text, read like any file; no shell, PDF or browser commands "
    "(the workspace's actions are MLAgentBench's), so the practices about them are left out",
    "the report check compares the keys as a set and also refuses a report that is not a JSON object",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, max_steps: int = MAX_STEPS,
          key_check: bool = True) -> ToolCallingAgent:
    """CORE-Agent over a core-bench episode's tools. `system` is added after CORE-Agent's own."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ConfigError(f"core-agent: max_steps must be a whole number ≥ 1, got {max_steps!r}")
    env_tools = list(tools.tools.values()) if isinstance(tools, ToolSet) else list(tools)
    if key_check and episode is not None:
        env_tools = [_checked(t, episode) if getattr(t, "name", None) == "act" else t for t in env_tools]
    own = render(PROMPTS / "system.j2")
    return ToolCallingAgent(model, env_tools, system=f"{own}\n\n{system}" if system else own, max_steps=max_steps,
                            name="core-agent", sampling=sampling)


def _checked(act: Any, episode: Any) -> Any:
    """`act` whose Final Answer waits for a report whose keys are the task's questions."""
    questions = list(episode.task.data.get("questions") or [])
    driver = stepping.driver_of(episode)

    async def checked_act(action: str) -> str:
        if _is_final(action):
            if not driver.started:  # a Final Answer first: the workspace is opened (a journaled reset) to look
                await driver.observe()
            refusal = report_problem(await driver.live(), questions)
            if refusal is not None:
                return refusal
        return await act.fn(action=action)

    return tool(checked_act, name="act", description=act.description)


def _is_final(action: str) -> bool:
    return str(action or "").strip().partition("\n")[0].strip() == FINAL_ANSWER


def report_problem(workspace: Any, questions: list[str]) -> str | None:
    """What is wrong with the workspace's report.json for `questions` (None: nothing), as the agent is told it."""
    files = getattr(workspace, "files", {})
    text = files.get(REPORT)
    if text is None:
        tops = sorted({p.split("/")[0] + ("/" if "/" in p else "") for p in files})
        return render(PROMPTS / "key_check.j2", files=tops, error=None, missing=[], extra=[]).strip()
    try:
        report = json.loads(text)
        if not isinstance(report, dict):
            raise ValueError(f"it is a {type(report).__name__}")
    except ValueError as exc:
        return render(PROMPTS / "key_check.j2", files=None, error=str(exc)[:200], missing=[], extra=[]).strip()
    missing = [q for q in questions if q not in report]
    extra = [k for k in report if k not in questions]
    if not missing and not extra:
        return None
    return render(PROMPTS / "key_check.j2", files=None, error=None, missing=missing, extra=extra).strip()
