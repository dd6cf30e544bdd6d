"""A scripted model that plays every Agentless role on the seeded-bugs tasks, from each task's gold patch.

    agentzoo eval --env seeded-bugs --agent agentless --model scripted:tests/recipes/agentless_script.py:play

It finds the task by the issue text in the prompt and answers as a model that knows the fix would:
the gold patch's files, the functions and lines it changes, SEARCH/REPLACE edits that make it,
no regression test to drop, and a reproduction program built from the hidden tests. Sampled
repair replies (temperature > 0) alternate between the gold edit with a comment added (which
normalises to the same patch) and the gold edit itself, so the vote has something to count.

Run as a program it is the crash-test driver: `python agentless_script.py JOURNAL TASK_ID
KILL_AFTER_N_MODEL_CALLS` runs the recipe on one task and SIGKILLs itself once that many model
calls are in the journal (a listener runs after each entry is committed).
"""

from __future__ import annotations

import ast
import difflib
import functools
import os
import signal
import sys
from typing import Any

from agentzoo.envs.seeded_bugs import SeededBugs, apply_patch
from agentzoo.types import ModelRequest


@functools.cache
def _env() -> SeededBugs:
    return SeededBugs()


def _task_of(prompt: str):
    for task in _env().tasks():
        if task.prompt in prompt:
            return task
    raise LookupError("no seeded-bugs task's issue is in this prompt")


@functools.cache
def gold_edits(task_id: str) -> dict[str, list[tuple[str, str, int, int]]]:
    """Per file: (search, replace, first changed line, last changed line) for each block the gold patch changes."""
    env = _env()
    task = next(t for t in env.tasks() if t.id == task_id)
    old_files = env.repository(task)
    new_files = apply_patch(old_files, task.gold)
    edits: dict[str, list[tuple[str, str, int, int]]] = {}
    for path in sorted(new_files):
        if new_files[path] == old_files.get(path):
            continue
        old, new = old_files[path].splitlines(), new_files[path].splitlines()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
            if tag == "equal":
                continue
            lo, hi = max(i1 - 1, 0), min(i2 + 1, len(old))  # one line of context each side
            search = "\n".join(old[lo:hi])
            replace = "\n".join(old[lo:i1] + new[j1:j2] + old[i2:hi])
            edits.setdefault(path, []).append((search, replace, i1 + 1, max(i2, i1 + 1)))
    return edits


def _enclosing(code: str, line: int) -> str | None:
    """`Class.method` or `function` around `line`."""
    best = None
    for node in ast.parse(code).body:
        if not (node.lineno <= line <= (node.end_lineno or node.lineno)):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            best = node.name
        elif isinstance(node, ast.ClassDef):
            best = next((f"{node.name}.{m.name}" for m in node.body if isinstance(m, ast.FunctionDef)
                         and m.lineno <= line <= (m.end_lineno or m.lineno)), f"class:{node.name}")
    return best


def _locations(task_id: str, with_lines: bool) -> str:
    env = _env()
    repo = env.repository(next(t for t in env.tasks() if t.id == task_id))
    out = []
    for path, edits in gold_edits(task_id).items():
        out.append(path)
        for _, _, first, last in edits:
            name = _enclosing(repo[path], first)
            if name:
                out.append(f"class: {name[6:]}" if name.startswith("class:") else f"function: {name}")
            if with_lines:
                out += [f"line: {n}" for n in range(first, last + 1)]
        out.append("")
    return "```\n" + "\n".join(out).strip() + "\n```"


def repair_reply(task_id: str, comment: str | None = None) -> str:
    blocks = []
    for path, edits in gold_edits(task_id).items():
        for search, replace, _, _ in edits:
            if comment:
                last = replace.split("\n")
                indent = last[0][:len(last[0]) - len(last[0].lstrip())]
                replace = "\n".join([f"{indent}# {comment}", *last])
            blocks.append(f"```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```")
    return "The bug is in the code below; here is the fix.\n\n" + "\n\n".join(blocks)


def reproduction_reply(task_id: str) -> str:
    env = _env()
    task = next(t for t in env.tasks() if t.id == task_id)
    source = env.hidden_tests(task)["tests/test_issue.py"]
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    program = (f"{source}\n\ndef test_issue_reproduction():\n    try:\n"
               + "".join(f"        {name}()\n" for name in names)
               + "    except Exception:\n        print(\"Issue reproduced\")\n        return\n"
               + "    print(\"Issue resolved\")\n\n\ntest_issue_reproduction()\n")
    return f"```python\n{program}```"


def play(request: ModelRequest) -> str:
    prompt = request.messages[-1]["content"]
    task = _task_of(prompt)
    if "### Repository structure ###" in prompt and "Which files" in prompt:
        return "```\n" + "\n".join(gold_edits(task.id)) + "\n```"
    if "Which folders are irrelevant" in prompt:
        return "```\n```"
    if "### File skeletons ###" in prompt:
        return _locations(task.id, with_lines=False)
    if "Which places have to be edited" in prompt:
        return _locations(task.id, with_lines=True)
    if "SEARCH/REPLACE" in prompt:
        sampled = (request.temperature or 0) > 0
        odd = (request.seed or 0) % 2 == 1
        return repair_reply(task.id, "the fix for the issue" if sampled and odd else None)
    if "### Passing tests ###" in prompt:
        return "None of them.\n```\n```"
    if "reproduces the issue" in prompt:
        return reproduction_reply(task.id)
    raise LookupError(f"agentless_script: no role matches this prompt: {prompt[:200]!r}")


def main(argv: list[str]) -> None:
    """The crash driver (see the module docstring)."""
    import asyncio

    from agentzoo import Journal
    from agentzoo.models.scripted import ScriptedModel
    from agentzoo.recipes import build_recipe
    from agentzoo.runtime import runner

    journal_path, task_id, kill_after = argv[0], argv[1], int(argv[2])
    env = _env()
    task = next(t for t in env.tasks() if t.id == task_id)
    episode = env.episode(task)
    seen = 0

    def killer(entry: Any, served: bool) -> None:
        nonlocal seen
        if entry.kind == "model":
            seen += 1
            if seen == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    agent = build_recipe("agentless", ScriptedModel(play), episode.tools, sampling={"seed": 0})
    result = asyncio.run(runner.run(agent, task.prompt, journal=Journal(journal_path), listeners=[killer]))
    print(result.run_id, result.status, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
