"""The model checks: a model reads the natural-language parts of an agent that no pattern can judge.

Agentable hands tool descriptions to an LLM [paper]; here two questions, each one journaled model call in its own
scope (`describe#i`, `conflict#k`, created in program order so a run replays): does a tool's description say what
its function does (a `tool-metadata` finding when not), and do two tools' descriptions overlap so that a request
triggers either (a `tool-trigger` finding on the second tool when they do). A reply without a verdict gives no
finding; it is counted as undecided.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from ..prompts import render
from ..types import ModelRequest
from .defects import Finding
from .source import AgentSource, ToolDef

PROMPTS = Path(__file__).parent / "prompts"
MAX_TOOLS = 8        # ours: at most 8 tools described and 28 pairs compared per file
MAX_CODE_CHARS = 3000
_VERDICT = re.compile(r"verdict\s*[:=]?\s*\**\s*(consistent|inconsistent|distinct|overlap)", re.IGNORECASE)
_REASON = re.compile(r"reason\s*[:=]\s*(.+)", re.IGNORECASE)


@dataclass
class ModelCheckResult:
    findings: list[Finding] = field(default_factory=list)
    asked: int = 0
    undecided: int = 0


def verdict(reply: str) -> tuple[str | None, str]:
    """The last verdict word in `reply` (lower case) and its reason line; (None, "") when there is none."""
    found = _VERDICT.findall(reply or "")
    reason = _REASON.search(reply or "")
    return (found[-1].lower() if found else None), (reason.group(1).strip()[:200] if reason else "")


def _described(tool: ToolDef) -> bool:
    return bool(tool.description and tool.description.strip() and tool.description != "(computed)")


async def model_checks(ctx: Any, model: Any, source: AgentSource, *, sampling: dict[str, Any] | None = None,
                       max_tools: int = MAX_TOOLS, describe: bool = True, conflicts: bool = True) -> ModelCheckResult:
    fields = {"temperature": 0.0, **(sampling or {})}  # a judgement, not a sample: greedy unless told otherwise
    result = ModelCheckResult()
    tools = [t for t in source.tools if _described(t)][:max_tools]

    async def ask(scope: Any, prompt: str) -> str:
        result.asked += 1
        response = await scope.model(model, ModelRequest(messages=[{"role": "user", "content": prompt}], **fields))
        return response.text or ""

    if describe:
        for i, tool in enumerate([t for t in tools if t.func is not None], 1):
            code = ast.get_source_segment(source.text, tool.func) or ""
            reply = await ask(ctx.child("describe", i), render(
                PROMPTS / "describe.j2", name=tool.name, line=tool.line, description=tool.description,
                code=code[:MAX_CODE_CHARS]))
            word, reason = verdict(reply)
            if word not in ("consistent", "inconsistent"):
                result.undecided += 1
            elif word == "inconsistent":
                result.findings.append(Finding(source.path, tool.line, "tool-metadata",
                                               f"description of {tool.name!r} does not match its code: {reason}",
                                               "model"))
    if conflicts:
        for k, (a, b) in enumerate(combinations(tools, 2), 1):
            reply = await ask(ctx.child("conflict", k), render(
                PROMPTS / "conflict.j2", a_name=a.name, a_line=a.line, a_description=a.description,
                b_name=b.name, b_line=b.line, b_description=b.description))
            word, reason = verdict(reply)
            if word not in ("distinct", "overlap"):
                result.undecided += 1
            elif word == "overlap":
                result.findings.append(Finding(source.path, b.line, "tool-trigger",
                                               f"{b.name!r} overlaps {a.name!r} (line {a.line}): {reason}", "model"))
    return result
