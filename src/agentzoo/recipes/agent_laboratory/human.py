"""Optional human feedback after each phase, through agentzoo's approval mechanism (`tools.ApprovalPolicy`).

Agent Laboratory's co-pilot mode (ai_lab_repo.py `human_in_loop_flag`) asks the human after a phase whether
they are content with its result; if not, their notes are given to the agents and the phase runs again. Here
the question is put to an `ApprovalPolicy` as a call of the pseudo-tool `approve_phase` (it touches `write`:
the phase's result is written into the lab's state), with the phase and its result as arguments. The policy's
approver answers True to go on; False runs the phase again with the notes `notes(phase, result)` gives (when a
notes function is configured) or the policy's reason. The decision is a journaled `human/approve_phase` effect
in the phase's scope, so a replay asks nobody and a resumed run does not ask again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...runtime.context import Context
from ...tools import ApprovalPolicy

Notes = Callable[[str, str], str]
"""Asked `(phase, result)` after a refusal: the human's notes for the agents."""


@dataclass(frozen=True)
class PhaseApproval:
    """What the approval policy is asked about: never called, only approved or not."""

    name: str = "approve_phase"
    description: str = "Accept the result of an Agent Laboratory phase, or send the phase back with notes."
    parameters: dict[str, Any] = field(default_factory=lambda: {
        "type": "object", "properties": {"phase": {"type": "string"}, "result": {"type": "string"}},
        "required": ["phase", "result"]})
    touches: frozenset[str] = frozenset({"write"})

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        raise RuntimeError("approve_phase is asked about, never called")


APPROVE_PHASE = PhaseApproval()


@dataclass(frozen=True)
class Feedback:
    """An approval policy with notes: `notes(phase, result)` is asked after the policy refuses a phase (the
    recipe's `approval` option takes this or a bare `ApprovalPolicy`, whose refusal reason is the note)."""

    policy: ApprovalPolicy
    notes: Notes | None = None


@dataclass(frozen=True)
class Human:
    """The approval hook: `policy` decides, `notes` (optional) says why; `phases` the phases asked about."""

    policy: ApprovalPolicy
    phases: frozenset[str]
    notes: Notes | None = None

    async def review(self, ctx: Context, phase: str, result: str) -> tuple[bool, str]:
        """(approved, notes for the agents when not), journaled as `human/approve_phase`."""
        if phase not in self.phases or not self.policy.needs_approval(APPROVE_PHASE):
            return True, ""

        async def ask() -> dict[str, Any]:
            allowed, reason = await self.policy.check(APPROVE_PHASE, {"phase": phase, "result": result})
            notes = "" if allowed else (self.notes(phase, result) if self.notes else (reason or ""))
            return {"allowed": allowed, "notes": notes}

        decision = await ctx.effect("human", "approve_phase", {"phase": phase, "result": result}, ask)
        return bool(decision["allowed"]), str(decision["notes"])
