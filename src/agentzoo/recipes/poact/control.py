"""PoAct's two controllers over one tool-calling loop (PAPERS.md #47).

- The policy controller is a `StageController` over three stages: Planning (the `plan` tool: the sub-goals),
  Thought (the `think` tool: how to reach the current sub-goal), Code (the environment's tools). A plan moves to
  Thought, a thought to Code; after a Code step the path reviewer decides: accept moves to the next sub-goal's
  Thought (or, after the last, to the answer), reject sends control back to Planning with the reviewer's reason.
- The action controller narrows the tools shown in the Code stage to the top k retrieved for the current sub-goal
  (`ToolRetriever`), and runs the path reviewer: one model call over the goal, the plan and the path taken for
  the current sub-goal, once per Code reply (before the next request, so a reply's parallel calls are reviewed
  together).

Every decision reads journaled results (the plan's arguments, tool outputs, the reviewer's reply, the embedder's
vectors), so a replay makes the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...agents.controllers import Stage, StageController, ToolRetriever
from ...agents.formats import Code, Observed
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import ModelRequest, ToolCall

PROMPTS = Path(__file__).parent / "prompts"
PLANNING, THOUGHT, CODE = "Planning", "Thought", "Code"
PLAN, THINK, REVIEW = "plan", "think", "review_path"
ACCEPT, REJECT = "accept", "reject"


def verdict_of(text: str) -> tuple[str, str]:
    """The reviewer's reply: `accept`, or `reject` and its reason; a reply that says neither accepts (the path
    goes on; a reviewer that cannot be read does not loop the agent back)."""
    words = text.strip().split(None, 1)
    first = words[0].strip(".:,!").lower() if words else ""
    return (REJECT, words[1].strip() if len(words) > 1 else "") if first == REJECT else (ACCEPT, "")


class PoActControl:
    """The policy and the action controller of one run (see the module doc)."""

    def __init__(self, retriever: ToolRetriever, reviewer: Model, *, sampling: dict[str, Any] | None = None) -> None:
        self.retriever, self.reviewer, self.sampling = retriever, reviewer, dict(sampling or {})
        self.env_tools = tuple(retriever.toolset.names)
        retriever.goal = lambda messages: self.subgoal or ""
        self.stages = StageController({
            PLANNING: Stage(render(PROMPTS / "planning.j2"), (PLAN,)),
            THOUGHT: Stage(render(PROMPTS / "thought.j2"), (THINK,)),
            CODE: Stage(render(PROMPTS / "code.j2"), self.env_tools),
        }, PLANNING, self._next_stage, name="poact")
        self.reset()

    def reset(self) -> None:
        self.stages.stage = PLANNING
        self.plan: list[str] = []
        self.index = 0
        self.path: list[dict[str, str]] = []   # the current sub-goal's thought and actions, for the reviewer
        self.pending = False                   # a Code reply not reviewed yet
        self.rejection = ""
        self.reviews: list[tuple[str, str]] = []
        """(sub-goal, verdict) for every review."""

    @property
    def stage(self) -> str:
        return self.stages.stage

    @property
    def subgoal(self) -> str | None:
        return self.plan[self.index] if self.index < len(self.plan) else None

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        if self.pending:
            await self._review(ctx, messages)
        if self.stage != CODE:
            return await self.stages.tools(ctx, messages)
        if self.subgoal is None:
            return []  # every sub-goal accepted: the answer, in text
        shown = await self.retriever.tools(ctx, messages)
        return list(self.env_tools if shown is None else shown)

    async def note(self, ctx: Context) -> str | None:
        return render(PROMPTS / "note.j2", stage=self.stage, instruction=await self.stages.note(ctx),
                      plan=self.plan, index=self.index, subgoal=self.subgoal, rejection=self.rejection)

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        return await self.stages.check(ctx, item)

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        if await self.stages.check(ctx, item) is not None:
            return  # refused: nothing happened
        assert isinstance(item, ToolCall)  # the stages name tools only
        arguments = _arguments(item)
        if item.name == PLAN and not observed.is_error:
            self.plan = [str(s) for s in arguments.get("subgoals") or [] if str(s).strip()]
            self.index, self.path, self.rejection = 0, [], ""
        elif item.name == THINK:
            self.path = [{"kind": "thought", "text": str(arguments.get("thought", ""))}]
        else:
            self.path.append({"kind": "action", "text": f"{item.name}({item.arguments})",
                              "result": observed.content})
            self.pending = True
        await self.stages.after(ctx, item, observed)

    def _next_stage(self, stage: str, item: ToolCall | Code, observed: Observed) -> str:
        name = item.name if isinstance(item, ToolCall) else ""
        if name == PLAN:
            return THOUGHT if self.plan else PLANNING
        if name == THINK:
            return CODE
        if name == REVIEW:
            verdict, _ = verdict_of(observed.content)
            if verdict == REJECT:
                return PLANNING
            return THOUGHT if self.subgoal is not None else CODE
        return stage

    async def _review(self, ctx: Context, messages: list[dict[str, Any]]) -> None:
        """The path reviewer: one journaled model call; its verdict moves the stage like an action's result."""
        self.pending = False
        goal = next((m["content"] for m in messages if m.get("role") == "user"), "")
        prompt = render(PROMPTS / "reviewer.j2", goal=goal, plan=self.plan, index=self.index,
                        subgoal=self.subgoal or "", steps=self.path)
        scope = ctx.child("review", len(self.reviews))
        response = await scope.model(self.reviewer, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                                 **self.sampling))
        verdict, reason = verdict_of(response.text or "")
        self.reviews.append((self.subgoal or "", verdict))
        if verdict == REJECT:
            self.rejection, self.plan, self.index = reason or "(no reason given)", [], 0
        else:
            self.index, self.rejection = self.index + 1, ""
        self.path = []
        review = ToolCall(id=f"poact-review-{len(self.reviews)}", name=REVIEW, arguments="{}")
        await self.stages.after(ctx, review, Observed(verdict))


def _arguments(item: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(item.arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
