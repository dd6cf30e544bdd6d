"""The eight defect types of LLM-agent code (Agentable, PAPERS.md #29) as data, and one finding.

Agentable (Ning et al., arXiv 2412.18371) derives eight defect types from 6,854 StackOverflow posts and detects
them with Code Property Graph patterns plus an LLM reading the natural-language parts (tool descriptions). The
eight come from the paper as its public summaries list them (wrong LLM choice, missing tool metadata, LLM output
parsing, tool return handling, trigger-word conflicts, missing fault tolerance, LLM API misuse, dependency issues)
[paper]; the ids, names, the one-line descriptions and where each type's boundary lies are ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..errors import UserError

SOURCE = "Agentable, arXiv 2412.18371 (the eight types) [paper]; wording and boundaries ours"


@dataclass(frozen=True)
class DefectType:
    id: str
    """Short stable id used in findings and reports (`output-parsing`)."""
    name: str
    description: str
    """What counts as this defect here: the checks implement exactly this."""
    source: str = SOURCE


DEFECT_TYPES: tuple[DefectType, ...] = (
    DefectType("model-selection", "LLM selection error",
               "the code names a model unfit for the call it makes: a retired model, a completion-only model in a "
               "chat call, a chat model in the legacy completions call, an embedding model asked to chat"),
    DefectType("tool-metadata", "Tool metadata missing or wrong",
               "a tool the model may call has no (or an empty) description, a parameter the description does not "
               "document, or a description that does not say what the function does (model check)"),
    DefectType("output-parsing", "LLM output parsing without handling",
               "a model reply is parsed (json.loads, int/float, literal_eval, a regex match's .group(), a split "
               "index) where a malformed reply raises and nothing handles it"),
    DefectType("tool-return", "Tool return not handled",
               "a tool returns nothing (or nothing on some paths), so the model reads None, or the result of a tool "
               "call is dropped"),
    DefectType("tool-trigger", "Trigger-word or tool conflict",
               "two tools share a name, a tool's name or description holds a word the agent loop reacts to (its "
               "stop or finish word), or two tools' descriptions overlap so the model cannot tell which one a "
               "request triggers (model check)"),
    DefectType("fault-tolerance", "Missing fault tolerance",
               "a model or network call with no timeout, no retry and no exception handling (a client without "
               "retries, requests without timeout=, the legacy openai module calls)"),
    DefectType("api-misuse", "LLM API misuse",
               "a removed or deprecated model-API call or parameter, or a parameter outside its range "
               "(temperature outside 0..2, top_p outside 0..1, a request field that does not exist)"),
    DefectType("dependency", "Dependency issue",
               "a third-party package the agent imports is not declared in its manifest (PEP 723 block, "
               "pyproject.toml or requirements.txt)"),
)
TYPES_BY_ID = {t.id: t for t in DEFECT_TYPES}
TYPE_IDS = tuple(TYPES_BY_ID)

CheckKind = Literal["ast", "model"]


@dataclass(frozen=True, order=True)
class Finding:
    """One defect found in one file."""

    file: str
    line: int
    defect: str
    """A `DefectType.id`."""
    evidence: str
    """What was seen: the code (or the model's reason) that shows the defect; plain text, never markup."""
    kind: CheckKind = "ast"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def location(self) -> str:
        return f"{self.file}:{self.line}"


class AgentSourceError(UserError):
    """An agent's source cannot be analysed: the file is missing, unreadable, not UTF-8, or not Python that parses.
    The message names the file (and the line of a syntax error)."""
