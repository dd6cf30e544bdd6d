"""The multi-branch agent: decompose, then answer each sub-task with k concurrent branches and pick one.

Scopes, created in program order so a run replays with no model call: `decompose`, then per sub-task
`subtask#i` holding `branch#1` … `branch#k` (named before they run concurrently) and, with the
selector, `select`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError, UnexpectedModelBehavior
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...teams.parallel import branch_sampling, gather
from ...types import AgentResult, ModelRequest
from .._answers import final_answer, majority

PROMPTS = Path(__file__).parent / "prompts"
SELECTIONS = ("vote", "selector")
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.+?)\s*$")
_CHOICE = re.compile(r"choice\s*:\s*(\d+)", re.IGNORECASE)


def parse_subtasks(text: str, limit: int) -> list[str]:
    """The numbered lines of the decomposer's reply, in order, at most `limit`; none when it numbered nothing."""
    found = [m.group(2) for m in (_NUMBERED.match(line) for line in (text or "").splitlines()) if m]
    return found[:limit]


@dataclass(frozen=True)
class Step:
    subtask: str
    answer: str
    """The chosen branch's whole reply (what later sub-tasks are shown)."""
    candidates: tuple[str, ...]
    chosen: int
    """0-based index of the chosen branch."""


class MultiBranch:
    """A decomposer, then k branches per sub-task in order, the pick carried forward; the last pick is the answer."""

    name = "multi-branch"

    def __init__(self, model: Model, *, k: int, selection: str, max_subtasks: int, system: str | None = None,
                 sampling: dict[str, Any] | None = None, temperature: float | None = None,
                 answer: Callable[[str | None], str | None] = final_answer) -> None:
        if k < 1:
            raise ConfigError(f"multi-branch: k (branches per sub-task) must be at least 1, got {k}")
        if selection not in SELECTIONS:
            raise ConfigError(f"multi-branch: selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
        if max_subtasks < 1:
            raise ConfigError(f"multi-branch: max_subtasks must be at least 1, got {max_subtasks}")
        self.model, self.k, self.selection, self.max_subtasks = model, k, selection, max_subtasks
        self.system, self.answer = system, answer
        self.sampling = dict(sampling or {})
        self.temperature = temperature
        self.steps: list[Step] = []

    def _fields(self, index: int | None = None) -> dict[str, Any]:
        fields = branch_sampling(self.sampling, index) if index is not None else dict(self.sampling)
        fields = dict(fields or {})
        if index is not None and self.temperature is not None:
            fields["temperature"] = self.temperature  # branches sample; the decomposer and selector keep the caller's
        elif index is None:
            fields.setdefault("temperature", 0.0)  # ... or, with none given, decompose and select greedily (ours)
        return fields

    async def _ask(self, ctx: Context, messages: list[dict[str, Any]], index: int | None = None) -> str:
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self._fields(index)))
        return response.text or ""

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages: list[dict[str, Any]] = []
        plan = await self._ask(ctx.child("decompose"), [
            {"role": "system", "content": render(PROMPTS / "decompose.j2", max_subtasks=self.max_subtasks)},
            {"role": "user", "content": task}])
        # An unreadable plan is not fatal: the whole task becomes the one sub-task (the paper's method without
        # decomposition), so a weak decomposer costs nothing but its call.
        subtasks = parse_subtasks(plan, self.max_subtasks) or [task]
        messages.append({"role": "assistant", "name": "decomposer", "content": plan})
        steps: list[Step] = []
        for i, subtask in enumerate(subtasks, start=1):
            step_ctx = ctx.child("subtask", i)
            prompt = render(PROMPTS / "branch.j2", task=task, subtask=subtask, final=i == len(subtasks),
                            done=[{"subtask": s.subtask, "answer": s.answer} for s in steps])
            base = [{"role": "system", "content": self.system}] if self.system else []
            scopes = [step_ctx.child("branch", b) for b in range(1, self.k + 1)]  # named before they run
            candidates = await gather([self._ask(scope, base + [{"role": "user", "content": prompt}], b)
                                       for b, scope in enumerate(scopes)])
            chosen = await self._pick(task, subtask, candidates, step_ctx)
            steps.append(Step(subtask, candidates[chosen], tuple(candidates), chosen))
            messages.append({"role": "assistant", "name": f"subtask{i}", "content": candidates[chosen]})
        self.steps = steps
        return AgentResult(steps[-1].answer, messages, 1 + len(steps) * self.k)

    async def _pick(self, task: str, subtask: str, candidates: list[str], ctx: Context) -> int:
        if self.selection == "vote" or len(candidates) == 1:
            return majority([self.answer(c) for c in candidates]).winner
        prompt = render(PROMPTS / "select.j2", task=task, subtask=subtask, answers=candidates)
        reply = await self._ask(ctx.child("select"), [{"role": "user", "content": prompt}])
        found = _CHOICE.findall(reply)
        if not found or not 1 <= int(found[-1]) <= len(candidates):
            raise UnexpectedModelBehavior(f"multi-branch selector: expected 'Choice: <1..{len(candidates)}>', "
                                          f"got {reply.strip()[:200]!r}")
        return int(found[-1]) - 1
