"""The oracle player for Agentless, from the task's gold patch and hidden tests.

Localisation names the files the gold patch changes, then the functions around its changed lines,
then those functions and lines; the repair writes the gold change as SEARCH/REPLACE edits (each
change with three unchanged lines of context, inside the windows the localisation showed); the
test selector keeps every test; a reproduction program runs the hidden tests that show the issue
and prints "Issue reproduced" while any fails, "Issue resolved" once all pass.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...types import ModelRequest
from .. import agentless as _agentless
from .gold import Gold, Marker, OracleError, last_user, not_recognised

Player = Callable[[ModelRequest], Any]
CONTEXT = 3  # unchanged lines around each SEARCH block, as in a unified diff


@dataclass(frozen=True)
class Change:
    """One changed block of a file: old lines `first`..`last` (1-based; an insertion has `last` = `first` - 1)."""

    path: str
    search: str
    replace: str
    first: int
    last: int


def agentless(gold: Gold) -> Player:
    prompts = _agentless.PROMPTS
    roles = {name: Marker.of(prompts / f"{name}.j2")
             for name in ("files", "irrelevant", "related", "lines", "repair", "select_tests", "reproduce")}
    changes = gold_changes(gold) if gold.kind == "patch" else []
    replies: dict[str, Callable[[], str]] = {
        "files": lambda: _block(list(dict.fromkeys(c.path for c in changes))),
        "irrelevant": lambda: _block([]),
        "related": lambda: _locations(gold, changes, lines=False),
        "lines": lambda: _locations(gold, changes, lines=True),
        "repair": lambda: _repair(changes),
        "select_tests": lambda: "Every one of them should still pass.\n" + _block([]),
        "reproduce": lambda: _reproduction(gold),
    }

    def play(request: ModelRequest) -> str:
        if gold.kind != "patch":  # the pair is refused before any call (`check_pair`); this is a backstop
            raise OracleError(f"agentless repairs repositories; the oracle has no patch for {gold.env!r}")
        prompt = last_user(request)
        for name, marker in roles.items():
            if marker.found_in(prompt):
                return replies[name]()
        raise not_recognised("agentless", request)

    return play


def gold_changes(gold: Gold) -> list[Change]:
    """The gold patch as changed blocks, each with up to `CONTEXT` unchanged lines either side."""
    changes = []
    for path in sorted(gold.fixed):
        if gold.fixed[path] == gold.repo.get(path):
            continue
        old, new = gold.repo.get(path, "").splitlines(), gold.fixed[path].splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            lo, hi = max(i1 - CONTEXT, 0), min(i2 + CONTEXT, len(old))
            changes.append(Change(path, "\n".join(old[lo:hi]), "\n".join(old[lo:i1] + new[j1:j2] + old[i2:hi]),
                                  i1 + 1, i2))
    return changes


def _block(lines: list[str]) -> str:
    return "```\n" + "".join(f"{line}\n" for line in lines) + "```"


def _locations(gold: Gold, changes: list[Change], *, lines: bool) -> str:
    out: list[str] = []
    for path in dict.fromkeys(c.path for c in changes):
        out.append(path)
        for change in (c for c in changes if c.path == path):
            around = _enclosing(gold.repo.get(path, ""), change.first)
            if around:
                out.append(around)
            if lines or not around:
                out += [f"line: {n}" for n in range(change.first, max(change.last, change.first) + 1)]
        out.append("")
    return _block(out[:-1])


def _enclosing(code: str, line: int) -> str | None:
    """`function: name`, `function: Class.method` or `class: Class` around `line` of `code`."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if not node.lineno <= line <= (node.end_lineno or node.lineno):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return f"function: {node.name}"
        if isinstance(node, ast.ClassDef):
            method = next((m.name for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                           and m.lineno <= line <= (m.end_lineno or m.lineno)), None)
            return f"function: {node.name}.{method}" if method else f"class: {node.name}"
    return None


def _repair(changes: list[Change]) -> str:
    edits = "\n\n".join(f"```python\n### {c.path}\n<<<<<<< SEARCH\n{c.search}\n=======\n{c.replace}\n"
                        ">>>>>>> REPLACE\n```" for c in changes)
    return f"The cause of the issue is in the code below; these edits fix it.\n\n{edits}"


def _reproduction(gold: Gold) -> str:
    """The hidden tests, then one function that runs those that fail before the fix."""
    sources = [text for path, text in sorted(gold.hidden.items()) if path.endswith(".py")]
    names = [node.name for text in sources for node in ast.parse(text).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]
    if not names:
        return "The issue's tests are not available, so I write no program."
    calls = "".join(f"        {name}()\n" for name in names)
    program = ("\n\n".join(sources) + "\n\n\ndef check_issue():\n    try:\n" + calls
               + '    except Exception:\n        print("Issue reproduced")\n        return\n'
               + '    print("Issue resolved")\n\n\ncheck_issue()\n')
    return f"```python\n{program}```"
