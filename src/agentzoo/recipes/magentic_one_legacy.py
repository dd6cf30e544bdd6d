"""Magentic-One as first released (`magentic-one-legacy`, #34): the stall counting of the
original `autogen_magentic_one` package.

Checked against microsoft/autogen@cd9dca4740:python/packages/autogen-magentic-one/src/
autogen_magentic_one/agents/{orchestrator,base_orchestrator,orchestrator_prompts}.py
(`LedgerOrchestrator`; the package was removed in commit 088a50faa). Its prompts are word for
word the ones agentchat kept, so both presets share `prompts/magentic_one/`, the team and the
orchestrator; they differ where the two codes differ:

| | `magentic-one` (agentchat) | `magentic-one-legacy` |
|---|---|---|
| stall count | +1 if stalled, else `max(0, n-1)` | +1 if stalled, never decremented |
| re-plan when | `n >= 3` | `n > 3` (the 4th stall), then `n = 0` |
| after a re-plan | `n` kept, so one more stall re-plans again | counting starts over |
| re-plan limit | none | a 4th re-plan (`replan_counter > 3`) stops the run |
| run limit | `n_rounds > 20` before a round (21 ledgers) | `num_rounds >= 20` member turns |
| invalid ledger | the same request again | the reply and the problem sent back (`KeyError: '<key>'`) |
| thread | starts at the task ledger | the task message stays first (`chat_history[0]`) |

Constants (the defaults of `build`), from `LedgerOrchestrator.__init__` and `update_ledger`:
`max_rounds=20`, `max_stalls_before_replan=3`, `max_replans=3`, `max_json_retries=10` (a local
in `update_ledger`). `max_time=inf` is not modelled. The package's benchmark scenarios (agbench
GAIA, AssistantBench, WebArena templates) ran it with `max_rounds=30` and `max_time=25*60`, and
prepared the final answer with a separate prompt over the transcript; the class defaults are the
preset's, and the final answer is always asked here (the class only asks it when the request is
satisfied and `return_final_answer=True`, default False).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..protocols import Model
from ..teams.group_chat import Participant
from ..teams.orchestrator import JSON_OBJECT, BoundedReplans, LedgerPrompts, Orchestrator
from .magentic_one import MAX_JSON_RETRIES, PROMPTS, default_team

MAX_ROUNDS = 20  # LedgerOrchestrator(max_rounds=20)
MAX_STALLS_BEFORE_REPLAN = 3  # LedgerOrchestrator(max_stalls_before_replan=3)
MAX_REPLANS = 3  # LedgerOrchestrator(max_replans=3)


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_rounds: int = MAX_ROUNDS,
          max_stalls_before_replan: int = MAX_STALLS_BEFORE_REPLAN, max_replans: int = MAX_REPLANS,
          max_json_retries: int = MAX_JSON_RETRIES, participants: Sequence[Participant] | None = None,
          response_format: dict[str, Any] | None = JSON_OBJECT, **team_options: Any) -> Orchestrator:
    """Magentic-One with the legacy package's stall counting; `team_options` go to `default_team`."""
    members = list(participants) if participants is not None else default_team(
        model, tools, system=system, sampling=sampling, **team_options)
    policy = BoundedReplans(max_rounds=max_rounds, max_stalls_before_replan=max_stalls_before_replan,
                            max_replans=max_replans)
    return Orchestrator(model, members, LedgerPrompts.from_dir(PROMPTS), policy=policy,
                        max_json_retries=max_json_retries, retry_feedback=True, thread_starts_with_task=True,
                        system=system, sampling=sampling, response_format=response_format)
