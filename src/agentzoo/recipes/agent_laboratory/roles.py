"""The laboratory's roles: who speaks in which phase, and how one of them is asked.

Agent Laboratory's agents (agents.py): the PhD student (literature review, plan, interpretation, the decision
after review), the postdoc (plan, interpretation), the ML engineer and the SW engineer (data preparation; the
ML engineer also drives the mle-solver), the professor (report writing), three reviewers, and the reward model
the solvers ask for a score. Each role's standing instructions are its template `prompts/role_<name>.j2`, sent
as the system message; the phase's own prompt is the user message. Every call is made in a journal scope named
after the role (`plan-formulation#0/postdoc#3`), so the eval report gives each role's cost and `models:` in an
agent spec can give a role its own model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"

PHD, POSTDOC, ML_ENGINEER, SW_ENGINEER, PROFESSOR, REVIEWER, REWARD = (
    "phd", "postdoc", "ml-engineer", "sw-engineer", "professor", "reviewer", "reward")
ROLES = (PHD, POSTDOC, ML_ENGINEER, SW_ENGINEER, PROFESSOR, REVIEWER, REWARD)
REVIEWER_KINDS = ("harsh but fair", "critical but fair, weighing the impact", "open-minded but rigorous")
"""agents.py ReviewersAgent: three reviewers, told three different characters (our wording)."""


@dataclass(frozen=True)
class Lab:
    """The model every role asks (a `RoleModels` routes roles to their own), and the request fields."""

    model: Model
    sampling: dict[str, Any]

    async def ask(self, ctx: Context, role: str, template: str, **variables: Any) -> str:
        """One call of `role` in `ctx` (a scope the caller named after the role): its system prompt, then
        `prompts/<template>.j2` rendered with `variables` (StrictUndefined: a missing one raises)."""
        system = render(PROMPTS / f"role_{role}.j2", **_role_vars(role, variables))
        prompt = render(PROMPTS / f"{template}.j2", **variables)
        request = ModelRequest(messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                               **self.sampling)
        return (await ctx.model(self.model, request)).text or ""


def _role_vars(role: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"kind": variables.get("reviewer_kind", "")} if role == REVIEWER else {}
