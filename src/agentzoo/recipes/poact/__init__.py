"""PoAct (`poact`, PAPERS.md #47): a ReAct agent steered by a policy controller and an action controller.

Yuan et al. 2025, "PoAct: Policy and Action Dual-Control Agent for Generalized Applications". One tool-calling
loop (`ToolCallingAgent`) with `control.PoActControl` as its controller:

- policy controller (`StageController`): Planning (`plan`: the sub-goals) → Thought (`think`: how to reach the
  current one) → Code (the environment's tools), the note of each request naming the stage and the sub-goal;
- action controller: the Code stage shows only the top-k tools retrieved for the current sub-goal
  (`ToolRetriever`, cosine over the tools' descriptions), and the path reviewer judges each Code step: accept
  moves to the next sub-goal, reject sends control back to Planning with its reason.

It acts in `m3tooleval`: every task needs 1–6 rounds of calls over a domain of 4–9 tools, so there is a plan of
several sub-goals to make and a tool list worth narrowing per sub-goal; BFCL's tasks are mostly one call
chosen among a few functions, where neither controller has much to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...agents.controllers import ToolRetriever
from ...agents.tool_calling import ToolCallingAgent
from ...errors import ConfigError
from ...memory.hashing import HashingEmbedder
from ...prompts import render
from ...protocols import Model
from ...tools import ToolSet, tool
from .control import PLAN, PROMPTS, THINK, PoActControl

__all__ = ["ACTS_IN", "ANSWER_KINDS", "PoActControl", "build"]

ANSWER_KINDS = ("tool-calls",)
ACTS_IN = ("m3tooleval",)
TOP_K = 3        # ours: tools shown per sub-goal (the paper's retrieval depth is not given where we could check)
MAX_STEPS = 30   # ours: replies of the loop, every stage counted (plan, thought, code, answer)
OPTION_SOURCES: dict[str, str] = {
    "k": "ours: 3 tools shown per sub-goal, under the 4-9 of an M3ToolEval domain",
    "max_steps": "ours: the loop's reply budget across all stages",
    "embedder": "ours: feature hashing (HashingEmbedder, no model); the paper's RAG selector uses a text embedder",
}
DEVIATIONS: list[str] = [
    ("actions are tool calls (ReAct with the provider's tool calling), not CodeAct code: a code action lists every "
     "tool in its system prompt, so retrieval could not narrow what is shown"),
    "the stages are entered by calling `plan` and `think` tools, so that a text reply stays the final answer",
    ("the path reviewer is the same model, once per Code reply; the paper's reviewer prompt and schedule are not "
     "reproduced"),
    "tool retrieval embeds with feature hashing by default (pass `embedder=` for a real one)",
]


def plan(subgoals: list[str]) -> str:
    """Record the plan: the task's sub-goals, in order.

    Args:
        subgoals: one short sentence per sub-goal, e.g. "convert the hex string to ASCII"
    """
    return f"Plan recorded: {len(subgoals)} sub-goal(s)."


def think(thought: str) -> str:
    """Record how you will reach the current sub-goal.

    Args:
        thought: which tool you will call, with which arguments, and why
    """
    return "Thought recorded."


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, k: int = TOP_K, max_steps: int = MAX_STEPS,
          embedder: Any = None) -> ToolCallingAgent:
    """PoAct over the environment's tools. `system` is added after PoAct's own system prompt (the stages);
    `embedder` ranks the tools (feature hashing by default)."""
    del episode
    env_tools = tools if isinstance(tools, ToolSet) else ToolSet(tools)
    clash = [n for n in (PLAN, THINK) if n in env_tools]
    if clash:
        raise ConfigError(f"poact's stage tools {', '.join(clash)} clash with the environment's tools of that name")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ConfigError(f"poact: max_steps must be a whole number ≥ 1, got {max_steps!r}")
    retriever = ToolRetriever(env_tools, embedder if embedder is not None else HashingEmbedder(), k=k)
    control = PoActControl(retriever, model, sampling=sampling)
    own = render(PROMPTS / "system.j2")
    return ToolCallingAgent(model, [*env_tools, tool(plan), tool(think)], system=f"{own}\n\n{system}" if system else own,
                            max_steps=max_steps, name="poact", sampling=sampling, controller=control)
