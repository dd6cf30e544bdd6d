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
from ..sandbox import Limits
from ..teams.group_chat import Participant
from ..teams.orchestrator import JSON_OBJECT, BoundedReplans, LedgerPrompts, Orchestrator
from ..tools import ApprovalPolicy
from . import magentic_one
from .magentic_one import ASSISTANT_MAX_STEPS, CODER_MAX_TURNS
from .magentic_one import ANSWER_KINDS, MAX_JSON_RETRIES, PROMPTS, default_team  # noqa: F401

MAX_ROUNDS = 20  # LedgerOrchestrator(max_rounds=20)
MAX_STALLS_BEFORE_REPLAN = 3  # LedgerOrchestrator(max_stalls_before_replan=3)
MAX_REPLANS = 3  # LedgerOrchestrator(max_replans=3)

OPTION_SOURCES: dict[str, str] = {
    "max_rounds": "code: LedgerOrchestrator(max_rounds=20) member turns (its agbench scenarios ran with 30)",
    "max_stalls_before_replan": "code: LedgerOrchestrator(max_stalls_before_replan=3): re-plan on the 4th stall",
    "max_replans": "code: LedgerOrchestrator(max_replans=3): a 4th re-plan stops the run",
    "max_json_retries": "code: update_ledger's local max_json_retries = 10",
    **{k: v for k, v in magentic_one.OPTION_SOURCES.items() if k not in ("max_turns", "max_stalls")},
}
DEVIATIONS: list[str] = [
    "max_time (inf by default) is not modelled",
    "the final answer is always asked; the class asks it only when the request is satisfied and "
    "return_final_answer=True (default False), and its benchmark scenarios asked a separate prompt",
    "a next_speaker outside the team is asked again, counting against the retries (the package ends the run: "
    "'No agent selected')",
    *[d for d in magentic_one.DEVIATIONS if "agentchat" not in d and "stall threshold" not in d],
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_rounds: int = MAX_ROUNDS,
          max_stalls_before_replan: int = MAX_STALLS_BEFORE_REPLAN, max_replans: int = MAX_REPLANS,
          max_json_retries: int = MAX_JSON_RETRIES, participants: Sequence[Participant] | None = None,
          response_format: dict[str, Any] | None = JSON_OBJECT, coder_max_turns: int = CODER_MAX_TURNS,
          assistant_max_steps: int = ASSISTANT_MAX_STEPS, approval: ApprovalPolicy | None = None,
          tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> Orchestrator:
    """Magentic-One with the legacy package's stall counting; the team options are `magentic-one`'s."""
    members = list(participants) if participants is not None else default_team(
        model, tools, system=system, sampling=sampling, coder_max_turns=coder_max_turns,
        assistant_max_steps=assistant_max_steps, approval=approval, tier=tier, limits=limits,
        allow_unsafe=allow_unsafe)
    policy = BoundedReplans(max_rounds=max_rounds, max_stalls_before_replan=max_stalls_before_replan,
                            max_replans=max_replans)
    return Orchestrator(model, members, LedgerPrompts.from_dir(PROMPTS), policy=policy,
                        max_json_retries=max_json_retries, retry_feedback=True, thread_starts_with_task=True,
                        system=system, sampling=sampling, response_format=response_format)
