"""AEGIS (`aegis`, PAPERS.md #9): concise context construction, then a code agent under a state machine that
writes, runs and refines a reproduction script and keeps the patch its F→P check accepts.

Wang et al. 2024, "AEGIS: An Agent-based Framework for General Bug Reproduction from Issue Descriptions". Two
parts, as the paper has them:

1. Context: one model call pulls structured facts out of the issue (summary, expected, actual, identifiers);
   the repository is searched for the identifiers (journaled tool calls); both are merged into the code agent's
   task.
2. The code agent (`ToolCallingAgent`) runs under `ActionFSM` (`fsm.py`): in each state only some tools may be
   used (`explore` → `reproduced` → `verified`); a refused action is returned with the allowed set and never
   performed, and only execution feedback (a run of the script, a check of a patch) moves the state. In
   `verified` the agent's patch has passed the F→P check of its own script (fails before, passes after) and
   the repository's tests; that patch is the answer.

It acts in `seeded-bugs` (its repository tools), beside `agentless` on the same repositories.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ... import replies
from ..._json import dumps_str
from ...agents.tool_calling import ToolCallingAgent
from ...errors import ConfigError, FormatError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...tools import ToolSet
from ...tools.calling import call_tool
from ...types import AgentResult, ModelRequest, ToolCall
from .fsm import SEARCH, VERIFIED, Reproduction
from .toolkit import NEEDED, agent_tools

__all__ = ["ACTS_IN", "ANSWER_KINDS", "Aegis", "build"]

PROMPTS = Path(__file__).parent / "prompts"
ANSWER_KINDS = ("patch",)
ACTS_IN = ("seeded-bugs",)
MAX_STEPS = 30          # ours: the code agent's replies; the paper bounds its loop but we could not verify by what
MAX_KEYWORDS = 5        # ours: identifiers taken from the issue for the context search
HITS_PER_KEYWORD = 3    # ours: lines of related code per identifier in the context
OPTION_SOURCES: dict[str, str] = {
    "max_steps": "ours: the code agent's reply budget (the paper's loop bound is not stated where we could check)",
    "max_keywords": "ours: identifiers from the issue searched for the context",
    "hits_per_keyword": "ours: related lines per identifier merged into the context",
}
DEVIATIONS: list[str] = [
    ("the FSM's states (explore, reproduced, verified) are ours: the paper names an FSM over the agent's actions "
     "but we could not verify its states"),
    ("related code comes from a line search for the issue's identifiers; the paper's retrieval also has a model "
     "explain each piece of code"),
    ("the reproduction script's F→P check accepts the agent's own patch (the code agent fixes as well as "
     "reproduces); in the paper the scripts are the product and feed other tools such as Agentless"),
    "a final reply given before the state is verified is taken as the answer as it is",
]
_IDENTIFIER = re.compile(r"`([A-Za-z_][\w.]*)|\b([A-Za-z_]\w*_\w+|[a-z]+[A-Z]\w*)\b")


class Aegis:
    """Context construction, then the code agent under the FSM; the answer is the verified patch."""

    name = "aegis"

    def __init__(self, model: Model, tools: Sequence[Any], *, sampling: dict[str, Any] | None = None,
                 max_steps: int = MAX_STEPS, max_keywords: int = MAX_KEYWORDS,
                 hits_per_keyword: int = HITS_PER_KEYWORD) -> None:
        repo = tools if isinstance(tools, ToolSet) else ToolSet(tools, max_result_chars=200_000)
        missing = [n for n in NEEDED if n not in repo]
        if missing:
            raise ConfigError(f"aegis works on a repository and needs the tools {', '.join(NEEDED)} (as the "
                              f"seeded-bugs environment gives them); missing: {', '.join(missing)}")
        for key, value in (("max_steps", max_steps), ("max_keywords", max_keywords),
                           ("hits_per_keyword", hits_per_keyword)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"aegis: {key} must be a whole number ≥ 1, got {value!r}")
        self.model, self.sampling = model, dict(sampling or {})
        self.max_keywords, self.hits_per_keyword = max_keywords, hits_per_keyword
        self.control = Reproduction()
        self.toolset = ToolSet(agent_tools(repo, self.control))
        self.coder = ToolCallingAgent(model, self.toolset, system=render(PROMPTS / "system.j2", verified=VERIFIED),
                                      max_steps=max_steps, name="aegis-coder", sampling=sampling,
                                      controller=self.control)

    async def run(self, task: str, ctx: Context) -> AgentResult:
        info = await self._extract(task, ctx.child("extract"))
        hits = await self._related(info, task, ctx.child("context"))
        prompt = render(PROMPTS / "task.j2", issue=task, info=info, hits=hits)
        result = await self.coder.run(prompt, ctx.child("coder"))
        if self.control.state == VERIFIED and self.control.patch:
            return AgentResult(f"```diff\n{self.control.patch.rstrip(chr(10))}\n```", result.messages, result.steps + 1)
        return AgentResult(result.answer, result.messages, result.steps + 1)

    async def _extract(self, issue: str, ctx: Context) -> dict[str, Any]:
        """The issue's facts as the model reads them; an unreadable reply leaves them blank (the context is then
        the issue and the identifiers it quotes)."""
        prompt = render(PROMPTS / "extract.j2", issue=issue, max_keywords=self.max_keywords)
        response = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                            **self.sampling))
        try:
            data = replies.json_object(response.text)
        except (FormatError, ValueError):
            data = {}
        info = {key: str(data.get(key) or "") for key in ("summary", "expected", "actual")}
        said = data.get("keywords")
        info["keywords"] = [str(k) for k in said if str(k).strip()] if isinstance(said, list) else []
        return info

    async def _related(self, info: dict[str, Any], issue: str, ctx: Context) -> list[dict[str, Any]]:
        keywords = list(dict.fromkeys([*info["keywords"], *quoted_identifiers(issue)]))[: self.max_keywords]
        hits: list[dict[str, Any]] = []
        for index, keyword in enumerate(keywords):
            call = ToolCall(id=f"aegis-context-{index}", name=SEARCH, arguments=dumps_str({"query": keyword}))
            outcome = await call_tool(ctx, self.toolset, call, keep_value=True)
            if not outcome.is_error:
                hits += [{**hit, "keyword": keyword} for hit in (outcome.value or [])[: self.hits_per_keyword]]
        return hits


def quoted_identifiers(issue: str) -> list[str]:
    """Identifiers in the issue: a name opening a backtick span (`slugify(x)`), snake_case or camelCase words."""
    return [a or b for a, b in _IDENTIFIER.findall(issue)]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, max_steps: int = MAX_STEPS,
          max_keywords: int = MAX_KEYWORDS, hits_per_keyword: int = HITS_PER_KEYWORD) -> Aegis:
    """AEGIS over a repository's tools (`seeded-bugs`). `system` is not used: the environment's speaks to an
    agent that answers with a diff directly, and the code agent's own (prompts/system.j2) teaches the FSM."""
    del system, episode
    return Aegis(model, tools, sampling=sampling, max_steps=max_steps, max_keywords=max_keywords,
                 hits_per_keyword=hits_per_keyword)
