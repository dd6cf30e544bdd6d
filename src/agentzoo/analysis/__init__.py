"""Static analysis of LLM-agent code: Agentable's eight defect types (PAPERS.md #29) as checks.

    from agentzoo.analysis import lint_paths, DEFECT_TYPES
    findings, errors = lint_paths(["my_agent.py"])       # AST checks; `agentzoo lint-agents PATH...`

The natural-language checks need a model and a run context (`model_checks(ctx, model, source)`); the `agentable`
recipe runs both on an agent's code given as its task.
"""

from .defects import DEFECT_TYPES, TYPE_IDS, TYPES_BY_ID, AgentSourceError, DefectType, Finding
from .lint import lint_paths, lint_source, lint_text, python_files
from .model_checks import ModelCheckResult, model_checks, verdict
from .source import AgentSource, ToolDef, parse_source, read_source

__all__ = ["DEFECT_TYPES", "TYPES_BY_ID", "TYPE_IDS", "AgentSource", "AgentSourceError", "DefectType", "Finding",
           "ModelCheckResult", "ToolDef", "lint_paths", "lint_source", "lint_text", "model_checks", "parse_source",
           "python_files", "read_source", "verdict"]
