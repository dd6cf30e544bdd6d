"""The workspace episode: a task folder worked on one MLAgentBench action at a time, its state plain JSON.

`WorkspaceEpisode` (a `StepEpisode`) holds the workspace's files (path -> text) and the backups that
Undo Edit Script restores. Each step is one env action of `actions.yaml`: List Files, Read File, Write File,
Append File, Copy File, Undo Edit Script, Execute Script (in the sandbox: `execute.run_script`), Inspect
Script Lines, Append Summary to Research Log, Final Answer, and the internal Save Edited Script (the write
half of the AI edits: the script is backed up, the edit saved, the diff returned). A failed action changes
nothing and answers `EnvError: ...` (MLAgentBench's prefix), flagged `info["error"]`; a step whose text
cannot be read is flagged `info["parse_error"]`.

The snapshot is content-addressed: `files` maps each path to the hash of its text, `backups` each script to
the hashes of its backups (oldest first), and `blobs` holds the texts whose hash is not one of the task's own
files, each once. A workspace that kept the task's 100 kB of data costs a few hashes per step in the journal;
only what the agent wrote is carried, once however often it is backed up. `restore` works on a fresh episode.
"""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from ...errors import UserError
from ...prompts import render
from ..file_tree import entries as tree_entries
from ..file_tree import tree_path
from ..step import ActionSpace, Observation, StepOutcome
from .actions import (FINAL_ANSWER, RESEARCH_LOG, ActionInputError, action_infos, names, parse_action)
from .execute import SCRIPT_SECONDS, run_script

PROMPTS = Path(__file__).parent / "prompts"
OBSERVATIONS = PROMPTS / "observations.j2"
MAX_INSPECT_LINES = 100  # high_level_actions.py inspect_script_lines: "limited to 100 lines"


class EnvError(Exception):
    """An action that could not be done; its message is what the agent reads after `EnvError: `."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def action_space() -> ActionSpace:
    """The env actions, as an agent that takes steps itself is told them (the model actions need a model)."""
    env_actions = names("env")
    return ActionSpace(render(PROMPTS / "action_space.j2", actions=[action_infos()[n] for n in env_actions]),
                       env_actions)


class WorkspaceEpisode:
    """One task's workspace. `read_only`: paths no action may write (the data); `research_problem`: told at
    the reset (in the observation's data, so an agent rebuilt for replay reads it from the journal);
    `sandbox`: `tier`, `allow_unsafe`, `memory_mb` for Execute Script; `seconds`: a script's wall clock."""

    def __init__(self, files: dict[str, str], *, read_only: tuple[str, ...] = (), research_problem: str = "",
                 sandbox: dict[str, Any] | None = None, seconds: float = SCRIPT_SECONDS) -> None:
        self.action_space = action_space()
        self.original = dict(files)
        self.known = {digest(text): text for text in files.values()}
        """The task's own texts by hash: a snapshot names them and does not carry them."""
        self.read_only = frozenset(read_only)
        self.research_problem = research_problem
        self.sandbox = dict(sandbox or {})
        self.seconds = seconds
        self.files: dict[str, str] = dict(files)
        self.backups: dict[str, list[str]] = {}
        self.answer: str | None = None

    @property
    def ended(self) -> bool:
        return self.answer is not None

    # --- the protocol ---

    async def reset(self, seed: int | None = None) -> Observation:
        self.files, self.backups, self.answer = dict(self.original), {}, None
        return Observation(self._render("reset", entries=self._entries("")),
                           {"research_problem": self.research_problem, "files": sorted(self.files)})

    async def step(self, action: str) -> StepOutcome:
        if self.ended:
            return StepOutcome(Observation(self._render("ended")), done=True, info={"ended": True})
        try:
            name, args = parse_action(action)
            if action_infos()[name].performer == "model":
                raise ActionInputError(f"{name} needs a model, so the agent performs it; the workspace takes "
                                       f"{', '.join(names('env'))}")
        except ActionInputError as exc:
            return StepOutcome(Observation(self._render("error", message=str(exc))), info={"parse_error": str(exc)})
        info: dict[str, Any] = {"action": action.strip()}
        try:
            text = await getattr(self, "_" + name.lower().replace(" ", "_").replace("(", "").replace(")", ""))(**args)
        except EnvError as exc:
            text, info["error"] = self._render("error", message=str(exc)), str(exc)
        if name == FINAL_ANSWER:
            info["answer"] = self.answer
        return StepOutcome(Observation(text, {"action": name}), 0.0, self.ended, info)

    def snapshot(self) -> dict[str, Any]:
        blobs: dict[str, str] = {}

        def address(text: str) -> str:
            key = digest(text)
            if key not in self.known:
                blobs[key] = text
            return key

        state: dict[str, Any] = {"files": {p: address(t) for p, t in sorted(self.files.items())},
                                 "backups": {s: [address(t) for t in b] for s, b in sorted(self.backups.items()) if b},
                                 "blobs": blobs}
        if self.answer is not None:
            state["answer"] = self.answer
        return state

    def restore(self, state: dict[str, Any]) -> None:
        try:
            blobs = {**self.known, **state["blobs"]}
            files = {_path(p): blobs[k] for p, k in state["files"].items()}
            backups = {_path(s): [blobs[k] for k in keys] for s, keys in state["backups"].items()}
            answer = state.get("answer")
            if answer is not None and not isinstance(answer, str):
                raise TypeError("answer")
        except (KeyError, TypeError, AttributeError, EnvError) as exc:
            raise UserError("a workspace snapshot is {\"files\": {path: hash}, \"backups\": {script: [hash, ...]}, "
                            "\"blobs\": {hash: text}} with every hash a task file's or a blob's; "
                            f"this one fails at {exc!r}: {str(state)[:200]}") from None
        self.files, self.backups, self.answer = files, backups, answer

    async def close(self) -> None:
        pass  # nothing is held: the files are in memory, each script run has its own sandbox

    # --- the env actions: each returns the observation's text, or raises EnvError ---

    async def _list_files(self, dir_path: str) -> str:
        folder = _path(dir_path, folder=True)
        entries = self._entries(folder)
        if folder and not entries:
            raise EnvError(f"cannot list {dir_path}: there is no such folder in the workspace")
        return self._render("listing", entries=entries)

    async def _read_file(self, file_name: str) -> str:
        return self._text(file_name)

    async def _write_file(self, file_name: str, content: str) -> str:
        path = self._writable(file_name)
        self.files[path] = str(content)
        return self._render("written", file=path)

    async def _append_file(self, file_name: str, content: str) -> str:
        path = self._writable(file_name)
        self.files[path] = self.files.get(path, "") + str(content)
        return self._render("appended", file=path)

    async def _copy_file(self, source: str, destination: str) -> str:
        text = self._text(source)
        path = self._writable(destination)
        self.files[path] = text
        return self._render("copied", source=_path(source), destination=path)

    async def _undo_edit_script(self, script_name: str) -> str:
        path = _path(script_name)
        if not self.backups.get(path):
            raise EnvError(f"there is no edit of {path} to undo")
        self.files[path] = self.backups[path].pop()
        return self._render("undone", file=path, content=self.files[path])

    async def _execute_script(self, script_name: str) -> str:
        path = _path(script_name)
        if path not in self.files:
            raise EnvError(f"the script {path} does not exist")
        run = await run_script(self.files, path, seconds=self.seconds, **self.sandbox)
        if run.files is not None:
            kept = {p: t for p, t in run.files.items() if p not in self.read_only}
            self.files = {**kept, **{p: self.files[p] for p in self.read_only if p in self.files}}
        if run.error is not None:
            raise EnvError(f"{path} could not be run to its end ({run.error})")
        # MLAgentBench shows stderr when the script failed, else stdout (stderr when stdout is empty); a failed or
        # stopped script shows its stdout too, before its stderr: what it printed before it failed helps to debug.
        failed = run.returncode != 0
        output = run.stdout + run.stderr if failed else (run.stdout or run.stderr)
        return self._render("executed", file=path, output=output.rstrip("\n"), timed_out=run.timed_out,
                            seconds=f"{self.seconds:g}", returncode=run.returncode, skipped=run.skipped)

    async def _inspect_script_lines(self, script_name: str, start_line_number: Any, end_line_number: Any) -> str:
        try:
            start, end = int(start_line_number), int(end_line_number)
        except (TypeError, ValueError):
            raise EnvError("start_line_number and end_line_number must be whole numbers") from None
        if end - start > MAX_INSPECT_LINES:
            raise EnvError(f"at most {MAX_INSPECT_LINES} lines can be shown at once")
        lines = self._text(script_name).split("\n")
        return self._render("lines", total=len(lines), content="\n".join(lines[max(start - 1, 0):end]))

    async def _append_summary_to_research_log(self, content: str) -> str:
        self.files[RESEARCH_LOG] = self.files.get(RESEARCH_LOG, "") + str(content) + "\n"
        return self._render("logged")

    async def _final_answer(self, final_answer: Any) -> str:
        self.answer = final_answer if isinstance(final_answer, str) else str(final_answer)
        return self._render("final")

    async def _save_edited_script(self, script_name: str, save_name: str, content: str) -> str:
        source, target = _path(script_name), self._writable(save_name)
        if source not in self.files:  # MLAgentBench makes an empty script to edit when there is none
            self.files[self._writable(source)] = ""
        before = self.files[source]
        self.backups.setdefault(source, []).append(before)  # what Undo Edit Script of the script puts back
        self.files[target] = str(content)
        diff = "".join(difflib.unified_diff(before.splitlines(keepends=True), str(content).splitlines(keepends=True)))
        return self._render("edited", file=target, diff=diff)

    # --- helpers ---

    def _text(self, name: str) -> str:
        path = _path(name)
        if path not in self.files:
            raise EnvError(f"cannot read {name}: there is no such file in the workspace")
        return self.files[path]

    def _writable(self, name: str) -> str:
        path = _path(name)
        if path in self.read_only:
            raise EnvError(f"cannot write {path}: it is a read-only file")
        if any(p.startswith(path + "/") for p in self.files) or any(path.startswith(p + "/") for p in self.files):
            raise EnvError(f"cannot write {path}: a file and a folder cannot share a path")
        return path

    def _entries(self, folder: str) -> list[str]:
        """The names in `folder` ("" for the top), folders with a trailing "/" (as `ls -F` shows them)."""
        return tree_entries(self.files, folder)

    def _render(self, kind: str, **values: Any) -> str:
        return render(OBSERVATIONS, kind=kind, **values)


def _path(name: Any, folder: bool = False) -> str:
    """A workspace path (`file_tree.tree_path`); one that leaves the workspace raises `EnvError` (MLAgentBench: "not
    in the work directory")."""
    return tree_path(name, where="workspace", error=EnvError, folder=folder)
