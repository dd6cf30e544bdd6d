"""Seeded bugs as a step environment: a repository worked on one action at a time, its working state plain JSON.

`RepoEpisode` (a `StepEpisode`) holds a task's repository in memory (path -> text) and a working copy of it.
Each action (the grammar: `envs.seeded_bugs_actions`, `prompts/seeded_bugs/actions.md`) reads the copy
(`list`, `view`, `search`), changes it (`edit`, one SEARCH/REPLACE block), runs code on it in the sandbox as
the `run_tests` and `run_script` tools do (`run_tests`, `run_script`: the files are sent, nothing comes back
but the output), or submits it (`finish`: `info["answer"]` is the unified diff of the copy against the
repository, which the scorer applies as it would a tool agent's answer).

The snapshot is what differs from the repository, `{"edits": {path: text, or None for a deleted file}}`
(and `"finished": true` once `finish` was taken), so a tree search stands at any node for the price of the
files it changed; `restore` works on a fresh episode. Every reward is 0: the hidden tests are the scorer's
and never reach a search. A sandbox run starts from the copy and leaves nothing behind, so a step reaches
nothing outside the snapshot (the environment has no `side_effects`). An action that does not follow the
grammar changes nothing and is flagged `info["parse_error"]` (the episode rules count those).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..prompts import render
from .seeded_bugs import make_patch, parse_test_result, run_program, runner_program
from .seeded_bugs_actions import (DIVIDER, REPLACE_MARK, SEARCH_MARK, VERBS, Action, ActionError, make_edit,
                                  parse_action, split_lines)
from .step import ActionSpace, Observation, StepOutcome

PROMPTS = Path(__file__).parent / "prompts" / "seeded_bugs"
VIEW_LINES = 200          # lines one `view` shows (SWE-agent's file viewer shows 100; these files are short)
SEARCH_HITS = 50          # matching lines one `search` shows
LINE_CHARS = 1_000        # characters of one line shown by `view` and `search`
EDIT_CONTEXT = 3          # lines shown around an edit, as a diff's context
FAILED_IDS = 20           # failing test ids named by `run_tests`
FAILURE_CHARS = 2_000     # characters of the first failure's output shown by `run_tests`
SCRIPT_OUTPUT_CHARS = 4_000  # characters of a script's output shown (its end: a traceback is at the end)
DIFF_CHARS = 4_000        # characters of the submitted diff shown by `finish` (info["answer"] has all of it)


@lru_cache(maxsize=1)
def action_space() -> ActionSpace:
    description = render(PROMPTS / "actions.md", view_lines=VIEW_LINES, search_hits=SEARCH_HITS,
                         search_mark=SEARCH_MARK, divider=DIVIDER, replace_mark=REPLACE_MARK)
    return ActionSpace(description, VERBS)


def first_observation(repository: dict[str, str]) -> Observation:
    """What `reset` shows: the repository's files (told without starting an episode)."""
    return Observation(render(PROMPTS / "reset.j2", paths=sorted(repository)), {"changed": []})


class RepoEpisode:
    """One task's repository, worked on step by step. `sandbox`: `run_program`'s tier, limits, allow_unsafe."""

    def __init__(self, repository: dict[str, str], sandbox: dict[str, Any] | None = None) -> None:
        self.action_space = action_space()
        self.original = dict(repository)
        self.files = dict(repository)
        """The working copy."""
        self.finished = False
        self.sandbox = dict(sandbox or {})

    @property
    def changed(self) -> list[str]:
        """The paths whose text differs from the repository's (created and deleted files too)."""
        return sorted(p for p in set(self.files) | set(self.original) if self.files.get(p) != self.original.get(p))

    def diff(self) -> str:
        """The working copy's changes as a unified diff (`git diff`'s form; `apply_patch` takes it)."""
        return make_patch(self.original, self.files)

    # --- the protocol ---

    async def reset(self, seed: int | None = None) -> Observation:
        self.files, self.finished = dict(self.original), False
        return first_observation(self.original)

    async def step(self, action: str) -> StepOutcome:
        if self.finished:
            return StepOutcome(self._seen(render(PROMPTS / "ended.j2")), done=True, info={"ended": True})
        try:
            parsed = parse_action(action)
        except ActionError as exc:
            text = render(PROMPTS / "parse_error.j2", problem=str(exc), actions=self.action_space.description)
            return StepOutcome(self._seen(text), info={"parse_error": str(exc)})
        handler = getattr(self, f"_{parsed.verb}")
        text, data = await handler(parsed)
        info: dict[str, Any] = {"action": parsed.key}
        if parsed.verb == "finish":
            info["answer"] = data.pop("answer")
        return StepOutcome(self._seen(text, data), 0.0, parsed.verb == "finish", info)

    def snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {"edits": {p: self.files.get(p) for p in self.changed}}
        if self.finished:
            state["finished"] = True
        return state

    def restore(self, state: dict[str, Any]) -> None:
        edits = state.get("edits") if isinstance(state, dict) else None
        if not isinstance(edits, dict) or not all(isinstance(p, str) and p and not p.startswith("/")
                                                  and ".." not in p.split("/") and (t is None or isinstance(t, str))
                                                  for p, t in edits.items()):
            raise UserError("a seeded-bugs snapshot is {\"edits\": {path in the repository: its text, or null when "
                            f"deleted}}, got {str(state)[:200]}")
        files = dict(self.original)
        for path, text in edits.items():
            if text is None:
                files.pop(path, None)
            else:
                files[path] = text
        self.files, self.finished = files, bool(state.get("finished"))

    async def close(self) -> None:
        pass  # nothing is held: the files are in memory, each sandbox run is its own

    def _seen(self, text: str, data: dict[str, Any] | None = None) -> Observation:
        return Observation(text, {**(data or {}), "changed": self.changed})

    # --- the actions: each returns the observation's text and data ---

    async def _list(self, action: Action) -> tuple[str, dict[str, Any]]:
        folder = action.path
        paths = sorted(p for p in self.files if not folder or p.startswith(folder + "/"))
        return render(PROMPTS / "list.j2", paths=paths, folder=folder), {}

    async def _view(self, action: Action) -> tuple[str, dict[str, Any]]:
        path, text = action.path, self.files.get(action.path)
        if text is None:
            under = sorted(p for p in self.files if p.startswith(path.rstrip("/") + "/"))
            return render(PROMPTS / "view.j2", missing=True, file=path, under=under), {}
        lines = split_lines(text)[0]
        total, first = len(lines), action.start or 1
        wanted = min(action.end or total, total)
        last = min(wanted, first + VIEW_LINES - 1)
        return render(PROMPTS / "view.j2", missing=False, file=path, total=total, first=first, last=last,
                      numbered=_numbered(lines, first, last), more=last < wanted, wanted=wanted,
                      next_last=min(last + VIEW_LINES, wanted)), {}

    async def _search(self, action: Action) -> tuple[str, dict[str, Any]]:
        hits = [f"{path}:{n}: {_cut(line.rstrip())}" for path in sorted(self.files)
                for n, line in enumerate(split_lines(self.files[path])[0], 1) if action.text in line]
        return render(PROMPTS / "search.j2", text=f"`{action.text}`", hits=hits[:SEARCH_HITS], total=len(hits)), {}

    async def _edit(self, action: Action) -> tuple[str, dict[str, Any]]:
        path, old = action.path, self.files.get(action.path)
        clash = _clash(path, self.files) if old is None else None
        if clash is not None:  # a path cannot be a file and a folder: the sandbox could not write both
            return render(PROMPTS / "edit.j2", file=path, problem="clash", clash=clash), {}
        edit = make_edit(old, action.search, action.replace)
        if edit.text is None:
            return render(PROMPTS / "edit.j2", file=path, problem=edit.problem, found=edit.found, near=edit.near), {}
        self.files[path] = edit.text
        lines = split_lines(edit.text)[0]
        first = max(edit.at - EDIT_CONTEXT, 0) + 1
        last = min(edit.at + len(action.replace) + EDIT_CONTEXT, len(lines), first + VIEW_LINES - 1)
        return render(PROMPTS / "edit.j2", file=path, problem="", created=old is None, total=len(lines),
                      removed=len(action.search), added=len(action.replace), first=first, last=last,
                      numbered=_numbered(lines, first, last)), {}

    async def _run_tests(self, action: Action) -> tuple[str, dict[str, Any]]:
        program = runner_program({"mode": "tests", "files": self.files, "tests": list(action.tests) or None})
        outcome = parse_test_result(await run_program(program, **self.sandbox))
        failed = list(outcome["failed"])
        why = _cut(str(outcome["failed"][failed[0]]), FAILURE_CHARS) if failed else ""
        text = render(PROMPTS / "tests.j2", passed=len(outcome["passed"]), failed=failed, why=why,
                      max_ids=FAILED_IDS, wanted=bool(action.tests))
        return text, {"tests": {"passed": len(outcome["passed"]), "failed": failed}}

    async def _run_script(self, action: Action) -> tuple[str, dict[str, Any]]:
        result = await run_program(runner_program({"mode": "script", "files": self.files, "script": action.text}),
                                   **self.sandbox)
        output = result.stdout + result.stderr
        cut = max(len(output) - SCRIPT_OUTPUT_CHARS, 0)
        error = f"{result.error.get('type')}: {result.error.get('message')}" if result.error else None
        return render(PROMPTS / "script.j2", output=output[cut:], cut=cut, error=error), {}

    async def _finish(self, action: Action) -> tuple[str, dict[str, Any]]:
        self.finished = True
        diff = self.diff()
        text = render(PROMPTS / "finish.j2", changed=self.changed, diff=diff[:DIFF_CHARS].rstrip("\n"),
                      cut=max(len(diff) - DIFF_CHARS, 0))
        return text, {"answer": diff}


def _clash(path: str, files: dict[str, str]) -> str | None:
    """A file whose path makes a new file at `path` impossible: one under it (it is a folder) or one above it."""
    parts = path.split("/")
    above = next((prefix for prefix in ("/".join(parts[:i]) for i in range(1, len(parts))) if prefix in files), None)
    return above or next((p for p in sorted(files) if p.startswith(path + "/")), None)


def _numbered(lines: list[str], first: int, last: int) -> str:
    """Lines `first` to `last` (1-based) as `cat -n` shows them: the number, a tab, the line."""
    return "\n".join(f"{n:>6}\t{_cut(line)}" for n, line in enumerate(lines[first - 1:last], first))


def _cut(text: str, limit: int = LINE_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit} more characters]"
