"""Lint agent code: the structural checks (and the dependency check) over files, folders or text."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .checks import run_checks
from .defects import AgentSourceError, Finding
from .deps import check_dependencies
from .source import AgentSource, parse_source, read_source


def lint_source(source: AgentSource) -> list[Finding]:
    return sorted(set(run_checks(source)) | set(check_dependencies(source)))


def lint_text(text: str, path: str = "<agent>") -> list[Finding]:
    """The AST findings for `text` (raises `AgentSourceError` when it does not parse)."""
    return lint_source(parse_source(text, path))


def python_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.py") if "__pycache__" not in f.parts)
        elif p.exists():
            files.append(p)
        else:
            raise AgentSourceError(f"{p}: no such file or folder")
    return files


def lint_paths(paths: Iterable[str | Path]) -> tuple[list[Finding], list[AgentSourceError]]:
    """Findings over every Python file under `paths`, and the files that could not be analysed (each an
    `AgentSourceError` naming it): one bad file does not hide the others' findings."""
    findings: list[Finding] = []
    errors: list[AgentSourceError] = []
    for file in python_files(paths):
        try:
            findings += lint_source(read_source(file))
        except AgentSourceError as exc:
            errors.append(exc)
    return findings, errors
