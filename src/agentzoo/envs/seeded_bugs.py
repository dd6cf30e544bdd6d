"""Seeded bugs: small Python repositories, each with one planted bug, an issue report and pytest.

A SWE-bench in miniature that runs offline and in seconds: SWE-bench itself needs Docker
images of real repositories. Each task is a folder of `data/seeded_bugs/`:

- `repo/`: the repository at the buggy commit: a package, a README and `tests/` (the visible
  suite; every test in it passes before and after the fix);
- `issue.md`: the issue as a user reported it (the task's prompt);
- `gold.patch`: the fix, a `git diff` of the repository;
- `hidden/`: files laid over the repository only when scoring (`tests/test_issue.py`, the tests
  the bug fails and the fix passes, as SWE-bench's test patch);
- `task.json`: `fail_to_pass` and `pass_to_pass` test ids, as SWE-bench names them.

The agent sees the repository through four tools (`list_files`, `read_file`, `run_tests`,
`run_script`); `run_tests` and `run_script` apply a patch to a fresh copy and run the visible
tests or a script in the sandbox. Its final answer is a unified diff (in a ```diff block, or
bare). The scorer applies it, lays the hidden tests over the result (after the agent's patch,
so editing them changes nothing) and runs the suite in the sandbox: success iff the patch
applies and every `fail_to_pass` and `pass_to_pass` test passes (SWE-bench's "resolved").
Tests run under pytest when the sandbox's Python has it, else under the small pytest-compatible
runner of `data/seeded_bugs/_runner.py` (the suites here use plain asserts and `pytest.raises`;
`tests/envs/test_seeded_bugs.py` checks that both runners agree on every task).

Patches are applied here on the host, by `apply_patch` (hunks must match exactly; a hunk may
sit at another line than its header says, as GNU patch allows, but no fuzz), and the patched
files are sent to the sandbox: only the tests run there. The oracle answers with the gold patch.

It is a step environment too (`agentzoo.envs.step`), for agents that act step by step and for tree
searches that stand at any state: `step_episode(task)` works on an in-memory copy of the repository
with a small grammar (`list`, `view`, `search`, `edit` with a SEARCH/REPLACE block, `run_tests`,
`run_script`, `finish`: `envs.seeded_bugs_actions`), its state the edits as JSON
(`envs.seeded_bugs_steps`). `finish` submits the copy's diff, which the scorer takes when the final
answer holds none. With the default `interface="tools"` an episode has the four tools and a step
driver (`stepping.driver_of(episode)`: it starts nothing until stepped), so a tool agent and a
stepping agent (`agentzoo.agents.stepper:build`, a tree search) run on the same episode;
`interface="steps"` gives the grammar to tool agents too, through `act` and `observe`
(`stepping.episode_for`). The oracle of the text loop (`oracle(task, "stepper")`) applies the gold
patch with `edit` actions, then takes `finish`.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import replies
from ..errors import ConfigError
from ..sandbox import ExecResult, Limits, Sandbox
from . import stepping
from .base import Episode, Score, ScoringContext, Task
from .step import ActionSpace, EpisodeRules, StepEpisode

DATA = Path(__file__).parent / "data" / "seeded_bugs"
RUNNER = DATA / "_runner.py"
RESULT = "@@seeded-bugs-result@@ "  # the runner's marker before its JSON result line
TEST_TIMEOUT = 20.0       # seconds for one run of a suite or a script (each takes well under 1 s)
MAX_OUTPUT_CHARS = 10_000  # what run_script returns of a script's output
INTERFACES = ("tools", "steps")
STEPS_ANSWER = "I fixed the issue and submitted the fix with finish."
"""The final reply of the oracle of a tool agent on `interface="steps"`: no diff, so the scorer takes finish's."""
SYSTEM = ("You are fixing an issue in a Python repository. Use the tools to list and read its files and to "
          "run its tests or a script on a patched copy. When you are done, reply with your fix as a unified "
          "diff (the output of `git diff`, paths relative to the repository root) in one ```diff block.")


class PatchError(ValueError):
    """A patch that does not parse or does not apply; the message says where."""


# --- patches -------------------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class _Hunk:
    old_start: int
    old: list[str]
    new: list[str]


@dataclass
class _FilePatch:
    old_path: str | None  # None: the file is created
    new_path: str | None  # None: the file is deleted
    hunks: list[_Hunk]


def extract_patch(answer: str | None) -> str:
    """The diff in an answer: its last ```diff (or ```patch) block, else its last fenced block that
    holds a diff, else the text from its first `diff --git` or `--- ` line on; "" if none."""
    return replies.unified_diff(answer) or ""


def apply_patch(files: Mapping[str, str], patch: str) -> dict[str, str]:
    """`files` (path -> text) with the unified diff `patch` applied; raises `PatchError`.

    Paths may carry git's `a/` and `b/` prefixes. A hunk must match the file exactly (context and
    removed lines, `\\ No newline at end of file` honoured, a blank hunk line read as an empty
    context line) but may sit at another line than its header says; the nearest match wins.
    """
    parsed = _parse_patch(patch)
    if not parsed:
        raise PatchError("no file changes found (expected `--- a/path`, `+++ b/path` and `@@` hunks)")
    out = dict(files)
    for fp in parsed:
        name = fp.old_path or fp.new_path or ""
        if fp.old_path is None:
            if out.get(fp.new_path or ""):
                raise PatchError(f"{fp.new_path}: the patch creates it, but it exists")
            lines: list[str] = []
        else:
            if fp.old_path not in out:
                raise PatchError(f"{fp.old_path}: no such file in the repository")
            lines = _lines(out[fp.old_path])
        floor, offset = 0, 0
        for number, hunk in enumerate(fp.hunks, 1):
            at = _locate(lines, hunk, max(hunk.old_start - 1, 0) + offset, floor)
            if at is None:
                raise PatchError(f"{name}: hunk {number} (@@ -{hunk.old_start}) does not match the file")
            lines[at:at + len(hunk.old)] = hunk.new
            floor = at + len(hunk.new)
            offset += len(hunk.new) - len(hunk.old)
        if fp.new_path is None and lines:
            raise PatchError(f"{name}: the patch deletes it, but {len(lines)} line(s) would remain")
        if fp.old_path is not None and fp.old_path != fp.new_path:
            del out[fp.old_path]
        if fp.new_path is not None:
            out[fp.new_path] = "".join(lines)
    return out


def make_patch(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> str:
    """The unified diff that takes `before` to `after` (path -> text; a path missing or None: no such file), as
    `git diff` writes it: a `diff --git a/… b/…` header per changed file, `/dev/null` for a created or deleted
    one, 3 lines of context, and `\\ No newline at end of file` after a last line that has none.
    `apply_patch(before, make_patch(before, after))` gives `after` (`git apply` takes it too)."""
    out: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        out.append(f"diff --git a/{path} b/{path}\n")
        if old is None or new is None:
            out.append(f"{'new' if old is None else 'deleted'} file mode 100644\n")
        out.append(f"--- {'/dev/null' if old is None else 'a/' + path}\n")
        out.append(f"+++ {'/dev/null' if new is None else 'b/' + path}\n")
        hunks = difflib.unified_diff(_lines(old or ""), _lines(new or ""), n=3)
        for line in itertools.islice(hunks, 2, None):  # past difflib's own --- and +++ lines
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    """`text` as lines that keep their newline, split at `\\n` only (as a patch's lines are: `str.splitlines`
    would also split at a form feed or a `\\r`)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]  # the part after the last newline: "" when the text ends with one
    return lines if lines[-1] else lines[:-1]


def _locate(lines: list[str], hunk: _Hunk, expected: int, floor: int) -> int | None:
    size = len(hunk.old)
    if size == 0:
        return min(max(expected, floor), len(lines))
    starts = range(floor, len(lines) - size + 1)
    for start in sorted(starts, key=lambda s: (abs(s - expected), s)):
        if lines[start:start + size] == hunk.old:
            return start
    return None


def _parse_patch(patch: str) -> list[_FilePatch]:
    lines = patch.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    found: list[_FilePatch] = []
    i = 0
    while i < len(lines):
        if not (lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        fp = _FilePatch(_path(lines[i][4:]), _path(lines[i + 1][4:]), [])
        if fp.old_path is None and fp.new_path is None:
            raise PatchError(f"line {i + 1}: both sides are /dev/null")
        i += 2
        while i < len(lines) and lines[i].startswith("@@"):
            hunk, i = _parse_hunk(lines, i)
            fp.hunks.append(hunk)
        found.append(fp)
    return found


def _parse_hunk(lines: list[str], i: int) -> tuple[_Hunk, int]:
    header = _HUNK.match(lines[i])
    if header is None:
        raise PatchError(f"line {i + 1}: not a hunk header: {lines[i]!r}")
    old_count = int(header.group(2)) if header.group(2) is not None else 1
    new_count = int(header.group(4)) if header.group(4) is not None else 1
    hunk = _Hunk(int(header.group(1)), [], [])
    i += 1
    last = ""
    while i < len(lines) and (len(hunk.old) < old_count or len(hunk.new) < new_count
                              or lines[i].startswith("\\")):
        line = lines[i]
        if line.startswith("\\"):  # "\ No newline at end of file": the line before has no newline
            for side in ([hunk.old] if last == "-" else [hunk.new] if last == "+" else [hunk.old, hunk.new]):
                if side and side[-1].endswith("\n"):
                    side[-1] = side[-1][:-1]
            i += 1
            continue
        tag, text = (line[0], line[1:]) if line else (" ", "")
        if tag not in " -+":
            raise PatchError(f"line {i + 1}: a hunk line must start with ' ', '-' or '+': {line!r}")
        if tag in " -":
            hunk.old.append(text + "\n")
        if tag in " +":
            hunk.new.append(text + "\n")
        last = tag
        i += 1
    if len(hunk.old) != old_count or len(hunk.new) != new_count:
        raise PatchError(f"hunk at line {i}: its header promises -{old_count} +{new_count} lines, "
                         f"it has -{len(hunk.old)} +{len(hunk.new)}")
    return hunk, i


def _path(text: str) -> str | None:
    path = text.split("\t")[0].strip()
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        path = path[2:]
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise PatchError(f"bad path in patch: {text!r}")
    return path


# --- running tests in the sandbox ------------------------------------------------------------------


def runner_program(payload: dict[str, Any]) -> str:
    """The program the sandbox runs: the runner, then `main(payload)`."""
    return RUNNER.read_text(encoding="utf-8") + f"\nmain(json.loads({json.dumps(payload)!r}))\n"


def parse_test_result(result: ExecResult) -> dict[str, Any]:
    """The runner's `{"runner", "passed", "failed"}`; a run that died or timed out fails everything."""
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    error = result.error or {}
    why = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    return {"runner": None, "passed": [], "failed": {"<run>": why[:500]}}


async def run_program(program: str, *, tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False,
                      pool: Any = None, timeout: float = TEST_TIMEOUT) -> ExecResult:
    """Run `program` in its own process: in a sandbox lent by `pool`, else in a new sandbox."""
    if pool is not None:
        async with pool.sandbox() as sandbox:
            return await sandbox.execute(program, timeout=timeout, fresh=True)
    async with Sandbox(tier=tier, limits=limits or Limits(wall_seconds=TEST_TIMEOUT + 10),
                       allow_unsafe=allow_unsafe) as sandbox:
        return await sandbox.execute(program, timeout=timeout, fresh=True)


# --- the environment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededTask:
    """One task's files, as read from its folder."""

    repo: dict[str, str]
    hidden: dict[str, str]


class SeededBugs:
    """The seeded-bugs environment. `tasks_file`: a folder of task folders (default: the shipped six).

    `tier`, `limits` and `allow_unsafe` choose the sandbox the agent's `run_tests` and
    `run_script` (tools and actions) use (the scorer takes them from the harness's `ScoringContext`).
    `interface`: what `episode(task)` gives a tool agent: `tools` (the four repository tools, a diff
    as the final reply) or `steps` (the step grammar through `act` and `observe`; `finish` submits).
    """

    name = "seeded-bugs"
    answer_kind = "patch"
    rules = EpisodeRules()  # WebArena's 30 steps, 3 unparsable actions, 3 identical ones in a row

    def __init__(self, tasks_file: str | Path | None = None, *, tier: str = "auto", limits: Limits | None = None,
                 allow_unsafe: bool = False, interface: str = "tools") -> None:
        self.root = Path(tasks_file) if tasks_file else DATA
        if not self.root.is_dir():
            raise ConfigError(f"seeded-bugs tasks {self.root}: expected a folder of task folders")
        if interface not in INTERFACES:
            raise ConfigError(f"seeded-bugs: interface must be one of {', '.join(INTERFACES)}, got {interface!r}")
        self.interface = interface
        self.tier, self.limits, self.allow_unsafe = tier, limits, allow_unsafe
        self._tasks: list[Task] | None = None
        self._files: dict[str, SeededTask] = {}

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
            self._tasks = [self._load(folder) for folder in folders]
        return self._tasks

    def _load(self, folder: Path) -> Task:
        try:
            meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
            issue = (folder / "issue.md").read_text(encoding="utf-8").strip()
            gold = (folder / "gold.patch").read_text(encoding="utf-8")
            f2p, p2p = list(meta["fail_to_pass"]), list(meta["pass_to_pass"])
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"seeded-bugs task {folder}: needs task.json (fail_to_pass, pass_to_pass), issue.md "
                              f"and gold.patch ({type(exc).__name__}: {exc})") from None
        task_id = str(meta.get("id") or folder.name)
        self._files[task_id] = SeededTask(_read_tree(folder / "repo"), _read_tree(folder / "hidden"))
        return Task(self.name, task_id, issue, gold, {"fail_to_pass": f2p, "pass_to_pass": p2p})

    def repository(self, task: Task) -> dict[str, str]:
        """The task's repository at the buggy commit, path -> text (a copy)."""
        self.tasks()
        return dict(self._files[task.id].repo)

    def hidden_tests(self, task: Task) -> dict[str, str]:
        self.tasks()
        return dict(self._files[task.id].hidden)

    def _sandbox(self) -> dict[str, Any]:
        return {"tier": self.tier, "limits": self.limits, "allow_unsafe": self.allow_unsafe}

    # --- the step protocol (`envs.seeded_bugs_steps`; imported when asked for: it imports this module) ---

    def action_space(self, task: Task) -> ActionSpace:
        from .seeded_bugs_steps import action_space

        return action_space()

    def step_episode(self, task: Task) -> StepEpisode:
        """A fresh episode on a copy of the task's repository; cheap (files in memory, no sandbox until run)."""
        from .seeded_bugs_steps import RepoEpisode

        return RepoEpisode(self.repository(task), self._sandbox())

    def gold_actions(self, task: Task) -> list[str]:
        """The gold patch as actions: `edit`s, then `finish`."""
        from .seeded_bugs_actions import gold_actions

        repo = self.repository(task)
        return gold_actions(repo, apply_patch(repo, task.gold))

    # --- the Environment protocol ---

    def episode(self, task: Task) -> Episode:
        if self.interface == "steps":
            from .seeded_bugs_steps import first_observation

            return stepping.episode_for(self, task, first_observation=first_observation(self.repository(task)))
        return self._tools_episode(task)

    def _tools_episode(self, task: Task) -> Episode:
        """The four tools, and a step driver for an agent that steps (it starts nothing until stepped)."""
        from ..tools import tool

        repo = self.repository(task)
        sandbox = self._sandbox()

        async def list_files() -> list[str]:
            """Every file of the repository, as paths relative to its root."""
            return sorted(repo)

        async def read_file(path: str) -> str:
            """The text of one file of the repository.

            Args:
                path: the file's path relative to the repository root, e.g. `pkg/module.py`
            """
            if path not in repo:
                raise FileNotFoundError(f"no file {path!r} in the repository; list_files() names them all")
            return repo[path]

        async def run_tests(patch: str = "", tests: list[str] | None = None) -> dict[str, Any]:
            """Apply a patch to a fresh copy of the repository and run its tests (pytest).

            Args:
                patch: a unified diff as `git diff` prints it, paths relative to the repository root; empty runs
                    the repository as it is
                tests: the test ids to run, e.g. `tests/test_x.py::test_name`; all tests when omitted
            """
            try:
                files = apply_patch(repo, patch) if patch.strip() else repo
            except PatchError as exc:
                return {"applied": False, "error": str(exc)}
            result = await run_program(runner_program({"mode": "tests", "files": files, "tests": tests}), **sandbox)
            return {"applied": True, **parse_test_result(result)}

        async def run_script(code: str, patch: str = "") -> dict[str, Any]:
            """Apply a patch to a fresh copy of the repository, save `code` as reproduce_bug.py at its root and
            run it with python; returns what it printed (stdout, then stderr).

            Args:
                code: the Python program to run
                patch: a unified diff to apply first (empty: the repository as it is)
            """
            try:
                files = apply_patch(repo, patch) if patch.strip() else repo
            except PatchError as exc:
                return {"applied": False, "error": str(exc)}
            result = await run_program(runner_program({"mode": "script", "files": files, "script": code}), **sandbox)
            output = (result.stdout + result.stderr)[-MAX_OUTPUT_CHARS:]
            out: dict[str, Any] = {"applied": True, "output": output}
            if result.error:  # only the sandbox's own failures (a timeout); the script's are in the output
                out["error"] = f"{result.error.get('type')}: {result.error.get('message')}"
            return out

        tools = [tool(list_files), tool(read_file), tool(run_tests), tool(run_script)]
        driver = stepping.StepDriver(self, task, rules=self.rules)
        return Episode(task, tools, {stepping.DRIVER: driver}, system=SYSTEM, prompt=task.prompt)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None) -> Score:
        """Apply the answer's patch, lay the hidden tests over it, run the suite: resolved iff every
        fail-to-pass and pass-to-pass test passes. A broken sandbox raises (not the answer's fault).
        An answer with no diff in it is taken to be the diff the episode's `finish` submitted, if it
        finished so (a stepping agent's, or a tool agent's on `interface="steps"`)."""
        task = episode.task
        submitted = _submitted(episode)
        # The text loop's answer is finish's diff itself: taken whole (a file's own ``` lines do not confuse it).
        from_finish = submitted is not None and (answer or "").strip() == submitted.strip()
        patch = submitted if from_finish else extract_patch(answer)
        if not patch.strip() and submitted is not None:
            patch, from_finish = submitted, True
        if not patch.strip():
            return Score(0.0, False, {"applied": False, "error": "the answer holds no diff"})
        try:
            files = apply_patch(self.repository(task), patch)
        except PatchError as exc:
            return Score(0.0, False, {"applied": False, "error": str(exc)})
        files.update(self.hidden_tests(task))
        f2p, p2p = task.data["fail_to_pass"], task.data["pass_to_pass"]
        scoring = scoring or ScoringContext()
        result = await run_program(runner_program({"mode": "tests", "files": files, "tests": f2p + p2p}),
                                   tier=scoring.tier, limits=scoring.limits, allow_unsafe=scoring.allow_unsafe,
                                   pool=scoring.pool)
        outcome = parse_test_result(result)
        failed = outcome["failed"]
        details = {"applied": True, "runner": outcome["runner"], "tier": result.tier,
                   "fail_to_pass": {"passed": sum(t not in failed for t in f2p), "total": len(f2p),
                                    "failed": {t: failed[t] for t in f2p if t in failed}},
                   "pass_to_pass": {"passed": sum(t not in failed for t in p2p), "total": len(p2p),
                                    "failed": {t: failed[t] for t in p2p if t in failed}}}
        if from_finish:
            details["answer_from"] = "finish"
        resolved = set(outcome["passed"]) >= set(f2p + p2p)
        return Score(1.0 if resolved else 0.0, resolved, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold patch in a ```diff block, as the final reply; for the text loop (`stepper`, or
        `agentzoo.agents.stepper:build`) and for tool agents on `interface="steps"`, the gold as actions:
        `edit`s, then `finish`. A one-line action is replied `Action: …`; an `edit` is its text alone (the
        text loop reads one line after `Action:`, and the whole reply when it has no marker)."""
        name = agent.partition("@")[0]
        if name == "stepper" or name.endswith("stepper:build"):
            return [action if "\n" in action else f"Action: {action}" for action in self.gold_actions(task)]
        if self.interface == "steps":
            return stepping.oracle_replies(self.gold_actions(task), name, answer=STEPS_ANSWER)
        reply = f"```diff\n{task.gold}```"
        return [f"Answer:\n{reply}" if agent == "codeact" else f"Here is the fix.\n\n{reply}"]


def _submitted(episode: Episode) -> str | None:
    """The diff the episode's `finish` submitted; None when it has no driver or did not end with `finish`."""
    if not isinstance(episode.state.get(stepping.DRIVER), stepping.StepDriver):
        return None
    record = stepping.driver_of(episode).record
    answer = record.outcome.info.get("answer") if record is not None else None
    return answer if stepping.progress_of(episode).done and isinstance(answer, str) else None


def _read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
