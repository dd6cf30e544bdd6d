"""Magentic-One (`magentic-one`, #34): an orchestrator with a task ledger and a progress ledger,
with the stall counting of the current AutoGen code (agentchat).

Fourney et al., "Magentic-One: A Generalist Multi-Agent System for Solving Complex Tasks"
(arXiv:2411.04468). Checked against microsoft/autogen@027ecf0a37:
python/packages/autogen-agentchat/src/autogen_agentchat/teams/_group_chat/_magentic_one/
{_magentic_one_orchestrator,_magentic_one_group_chat,_prompts}.py and
python/packages/autogen-ext/src/autogen_ext/teams/magentic_one.py. The control loop is
`agentzoo.teams.orchestrator.Orchestrator` (read its docstring for the loop and where it departs
from the code); this module gives it the paper's prompts (our own wording, in
`prompts/magentic_one/`), its constants and a team.

Constants (the defaults of `build`), all from the code:
- `max_turns=20`, `max_stalls=3`: `MagenticOneGroupChat.__init__` defaults. The round limit is
  checked as `n_rounds > max_turns` before a round, so up to 21 progress ledgers are asked.
- stall count: +1 when `is_progress_being_made` is false or `is_in_loop` is true, else
  `max(0, n - 1)`; re-plan when `n >= max_stalls`; the count is not reset by a re-plan
  (`_reenter_outer_loop` leaves `_n_stalls` as it is), so after the first re-plan every further
  stalled round re-plans again; no limit on re-plans.
- `max_json_retries=10`: `MagenticOneOrchestrator._max_json_retries`; the same request is sent
  again after an invalid ledger (no feedback).
The paper's text describes a stall threshold too; we did not have its full text here to compare
[unverified], so the code's values are the defaults. The other preset, `magentic-one-legacy`,
has the legacy package's counting.

The team. Magentic-One's is WebSurfer (Chromium, screenshots, a multimodal model), FileSurfer
(local files as markdown), Coder and ComputerTerminal (runs the Coder's code, Docker or local).
Here, without a browser, the default team is:
- `Coder`: a CodeAct agent in code mode, writing Python and running it in our sandbox, so it is
  the Coder and the ComputerTerminal in one;
- `Assistant`: a tool-calling agent with the task's tools.
Pass `participants=[Participant(name, agent, description), ...]` for another team.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..agents.codeact import CodeActAgent
from ..agents.tool_calling import ToolCallingAgent
from ..prompts import render
from ..protocols import Model
from ..sandbox import Limits
from ..teams.group_chat import Participant
from ..teams.orchestrator import JSON_OBJECT, DecayingStalls, LedgerPrompts, Orchestrator
from ..tools import ToolSet

PROMPTS = Path(__file__).parent / "prompts" / "magentic_one"
MAX_TURNS = 20  # MagenticOneGroupChat(max_turns=20)
MAX_STALLS = 3  # MagenticOneGroupChat(max_stalls=3)
MAX_JSON_RETRIES = 10  # MagenticOneOrchestrator._max_json_retries


def default_team(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
                 sampling: dict[str, Any] | None = None, coder_max_turns: int = 10, assistant_max_steps: int = 20,
                 tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> list[Participant]:
    """The Coder (CodeAct in the sandbox) and the Assistant (tool calling with the task's tools).
    `coder_max_turns` is CodeAct's own default (M3ToolEval's 10), `assistant_max_steps` the
    tool-calling agent's (20); Magentic-One's Coder has no such bound of its own."""
    toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)
    coder = CodeActAgent(model, (), action_mode="code", max_turns=coder_max_turns,
                         system=render(PROMPTS / "coder.j2", system=system), tier=tier, limits=limits,
                         allow_unsafe=allow_unsafe, name="Coder", sampling=sampling)
    assistant = ToolCallingAgent(model, toolset, system=render(PROMPTS / "assistant.j2", system=system),
                                 max_steps=assistant_max_steps, name="Assistant", sampling=sampling)
    return [Participant("Coder", coder, render(PROMPTS / "coder_description.j2")),
            Participant("Assistant", assistant, render(PROMPTS / "assistant_description.j2",
                                                       tools=list(toolset.names)))]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_turns: int | None = MAX_TURNS, max_stalls: int = MAX_STALLS,
          max_json_retries: int = MAX_JSON_RETRIES, participants: Sequence[Participant] | None = None,
          response_format: dict[str, Any] | None = JSON_OBJECT, **team_options: Any) -> Orchestrator:
    """Magentic-One with agentchat's stall counting; `team_options` go to `default_team`."""
    members = list(participants) if participants is not None else default_team(
        model, tools, system=system, sampling=sampling, **team_options)
    return Orchestrator(model, members, LedgerPrompts.from_dir(PROMPTS),
                        policy=DecayingStalls(max_stalls=max_stalls, max_turns=max_turns),
                        max_json_retries=max_json_retries, retry_feedback=False, thread_starts_with_task=False,
                        system=system, sampling=sampling, response_format=response_format)
