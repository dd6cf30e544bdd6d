"""The Agentable agent: the structural checks over an agent's code, then the model checks, then one report.

The code is the task: the first fenced block of it (or the whole task when there is none), named by a
`File: <name>` line when the task has one. The structural checks are a pure function of that text; the model
checks are journaled calls in scopes `describe#i` and `conflict#k` (`agentzoo.analysis.model_checks`). The
report's first line lists every finding as `<type> line <N>`; one line of evidence per finding follows.
"""

from __future__ import annotations

import re
from typing import Any

from ...analysis import Finding, lint_source, model_checks, parse_source
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult

_FENCE = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL)
_FILE = re.compile(r"^File:\s*(\S+)\s*$", re.MULTILINE)
_LINE_WORD = re.compile(r"\bline\b", re.IGNORECASE)


def code_of(task: str) -> tuple[str, str]:
    """(code, file name) from a task: its first fenced block and `File:` line, else the whole task."""
    fence = _FENCE.search(task)
    named = _FILE.search(task)
    return (fence.group(1) if fence else task), (named.group(1) if named else "agent.py")


def merge(structural: list[Finding], semantic: list[Finding]) -> list[Finding]:
    """One finding per (type, line): the structural one wins (it names the code that shows the defect)."""
    seen = {(f.defect, f.line) for f in structural}
    return sorted([*structural, *(f for f in semantic if (f.defect, f.line) not in seen)],
                  key=lambda f: (f.line, f.defect))


def report(name: str, findings: list[Finding], asked: int = 0, undecided: int = 0) -> str:
    # How many model questions went unanswered: a report with none flagged by the model may just mean no verdicts.
    tail = [f"(model questions: {asked} asked, {undecided} without a verdict)"] if asked else []
    if not findings:
        return "\n".join([f"Defects: none\n(in {name})", *tail])
    head = "Defects: " + "; ".join(f"{f.defect} line {f.line}" for f in findings)
    # Evidence quotes code and model reasons: the word "line" in it is rewritten so that nothing quoted reads as a
    # finding to a scorer that looks for `<type> line <N>`.
    body = [f"- {f.defect} at {name}:{f.line} ({f.kind}): {_LINE_WORD.sub('ln', f.evidence)}" for f in findings]
    return "\n".join([head, *body, *tail])


class Agentable:
    name = "agentable"

    def __init__(self, model: Model, *, sampling: dict[str, Any] | None = None, model_checks: bool = True,
                 describe: bool = True, conflicts: bool = True, max_tools: int = 8) -> None:
        self.model, self.sampling = model, dict(sampling or {})
        self.use_model, self.describe, self.conflicts, self.max_tools = model_checks, describe, conflicts, max_tools
        self.findings: list[Finding] = []
        self.undecided = 0

    async def run(self, task: str, ctx: Context) -> AgentResult:
        code, name = code_of(task)
        # A path that names no real file: the code is the task's, and no manifest on this disk is read for it.
        source = parse_source(code, f"<task>/{name}")
        structural = lint_source(source)
        semantic, asked = [], 0
        if self.use_model:
            checked = await model_checks(ctx, self.model, source, sampling=self.sampling, max_tools=self.max_tools,
                                         describe=self.describe, conflicts=self.conflicts)
            semantic, asked, self.undecided = checked.findings, checked.asked, checked.undecided
        self.findings = [Finding(name, f.line, f.defect, f.evidence, f.kind) for f in merge(structural, semantic)]
        answer = report(name, self.findings, asked, self.undecided)
        return AgentResult(answer, [{"role": "assistant", "content": answer}], asked)
