"""Agentable's defect detector (`agentable`), PAPERS.md #29.

Agentable (Ning et al., arXiv 2412.18371) finds eight defect types in LLM-agent code by matching patterns over a
Code Property Graph and asking an LLM about the natural-language parts [paper]. Here: the eight types as data and
checks over Python's `ast` (`agentzoo.analysis`), and two model questions per agent (does each tool's description
match its code; do two tools' descriptions overlap). The task is the agent's code; the answer is the report,
first line `Defects: <type> line <N>; ...` (or `Defects: none`).

It acts in `agent-defects` (`ACTS_IN`): twenty small agents written for this project, fifteen with labelled
defects, scored per (type, line) with per-type precision, recall and F1 (`agentzoo.envs.agent_defects.metrics`).
The command line runs the structural checks alone over files: `agentzoo lint-agents PATH...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError
from ...protocols import Model
from ..cot import text_only
from .agent import Agentable, code_of, merge, report

__all__ = ["ACTS_IN", "ANSWER_KINDS", "Agentable", "build", "code_of", "merge", "report"]

ANSWER_KINDS = ("text",)
ACTS_IN = ("agent-defects",)
MAX_TOOLS = 8   # ours: the model describes at most 8 tools (and compares their 28 pairs) per agent
PRESETS: dict[str, dict[str, Any]] = {
    "ast": {"model_checks": False},          # the structural checks alone, no model call
    "describe": {"conflicts": False},        # one model call per tool, no pairwise comparison
}
OPTION_SOURCES: dict[str, str] = {
    "model_checks": "paper: an LLM reads the natural-language parts (tool descriptions) the patterns cannot judge",
    "describe": "ours: the description-vs-code question, one call per tool",
    "conflicts": "ours: the pairwise overlap question, one call per pair of tools",
    "max_tools": "ours: a cap on model questions per agent (8 tools, 28 pairs)",
}
DEVIATIONS: list[str] = [
    "patterns over Python's ast (intra-procedural, plus helpers returning a model reply) instead of a Code "
    "Property Graph (Joern); Python only, one file at a time",
    "the eight types' ids, wording and boundaries are ours, from the paper's list of types [paper]",
    "model checks: two questions of ours (description matches code; two descriptions overlap); prompts are ours",
    "data: twenty agents written for this project (agent-defects), not AgentTest/AgentSet",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, model_checks: bool = True, describe: bool = True,
          conflicts: bool = True, max_tools: int = MAX_TOOLS) -> Agentable:
    """The structural checks, then (with `model_checks`) the model questions. `system` is not used: the model is
    asked questions whose wording is the recipe's."""
    text_only("agentable", tools)
    if system is not None:
        raise ConfigError("agentable: system= is not used (its model questions are templates of the recipe)")
    if max_tools < 0:
        raise ConfigError(f"agentable: max_tools must be 0 or more, got {max_tools}")
    return Agentable(model, sampling=sampling, model_checks=model_checks, describe=describe, conflicts=conflicts,
                     max_tools=max_tools)
