"""The action grammar of seeded bugs as a step environment: reading an action, and writing the gold as actions.

One action is a text: a verb and its arguments on the first line, and, for `edit` and `run_script`, more lines
after it (`prompts/seeded_bugs/actions.md` is the grammar as the agent reads it):

    list [<folder>]
    view <path> [<start>-<end>]
    search <text>
    edit <path>                      then one block:  <<<<<<< SEARCH / lines of the file / ======= /
                                                      the lines to put in their place / >>>>>>> REPLACE
    run_tests [<test id> ...]
    run_script                       then the Python code
    finish

`parse_action` reads one into an `Action`, or raises `ActionError` saying what is wrong (the episode turns it
into an observation and `info["parse_error"]`). `Action.key` is the action as the episode rules compare it
(`info["action"]`): the verb and its arguments normalised, the lines of an edit or a script as a short hash.
`gold_actions` writes a gold patch as `edit` actions and `finish` (the stepper's oracle), and `read_action`
finds an action in a model's reply, keeping the lines of a multi-line one (the stepper's own reader keeps
one line).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import replies
from ..errors import ConfigError

VERBS = ("list", "view", "search", "edit", "run_tests", "run_script", "finish")
MULTILINE = ("edit", "run_script")
"""The verbs whose action goes on after its first line."""
SEARCH_MARK, DIVIDER, REPLACE_MARK = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"
_SEARCH = re.compile(r"^<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_REPLACE = re.compile(r"^>{5,9} ?REPLACE\s*$")
_RANGE = re.compile(r"^(\d+)-(\d+)$")
_LOOKS_LIKE_RANGE = re.compile(r"^[\d-]+$")
_FENCE = re.compile(r"^\s*```")
CONTEXT_LINES = 3
"""Lines of context around a change in the gold's SEARCH blocks (as many as a unified diff has)."""


class ActionError(ValueError):
    """An action that does not follow the grammar; the message says what is wrong, for the agent."""


@dataclass(frozen=True)
class Action:
    """One parsed action."""

    verb: str
    path: str = ""
    """view, edit: the file; list: the folder ("" for all)."""
    start: int | None = None
    end: int | None = None
    """view: the lines shown, 1-based and inclusive (None: from the top, to the end)."""
    text: str = ""
    """search: the text looked for; run_script: the code."""
    search: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    """edit: the lines of the block's two halves, without their newlines."""
    tests: tuple[str, ...] = ()
    """run_tests: the test ids named (none: every test)."""

    @property
    def key(self) -> str:
        """The action as the episode rules compare actions (`info["action"]`)."""
        if self.verb == "view":
            return f"view {self.path}" + (f" {self.start}-{self.end}" if self.start is not None else "")
        if self.verb == "search":
            return "search " + " ".join(self.text.split())
        if self.verb == "edit":
            return f"edit {self.path} {_digest(chr(10).join(self.search) + chr(0) + chr(10).join(self.replace))}"
        if self.verb == "run_script":
            return f"run_script {_digest(self.text)}"
        return " ".join([self.verb, *([self.path] if self.path else []), *self.tests])


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_action(action: str) -> Action:
    """The action written in `action`; raises `ActionError` saying what is wrong."""
    text = (action or "").replace("\r\n", "\n").strip("\n")
    head, _, rest = text.partition("\n")
    words = head.split(None, 1)
    verb, args = (words[0].lower() if words else ""), (words[1].strip() if len(words) > 1 else "")
    lines = rest.split("\n") if rest.strip() else []
    if not verb:
        raise ActionError("the action is empty")
    if verb not in VERBS:
        raise ActionError(f"'{verb[:40]}' is not an action")
    if verb not in MULTILINE and lines:
        raise ActionError(f"`{verb}` is one line; put nothing on the lines after it (one action per reply)")
    if verb == "list":
        return Action("list", path=_path(args, "list", required=False).rstrip("/"))
    if verb == "view":
        return _view(args)
    if verb == "search":
        if not args:
            raise ActionError("`search` needs the text to look for: `search <text>`")
        return Action("search", text=args)
    if verb == "edit":
        search, replace = _block(lines)
        return Action("edit", path=_path(args, "edit"), search=search, replace=replace)
    if verb == "run_tests":
        return Action("run_tests", tests=tuple(args.split()))
    if verb == "run_script":
        code = "\n".join(_unfenced([args, *lines] if args else lines)).strip("\n")
        if not code.strip():
            raise ActionError("`run_script` needs Python code on the lines after it")
        return Action("run_script", text=code + "\n")
    if args:
        raise ActionError("`finish` takes nothing after it")
    return Action("finish")


def _path(text: str, verb: str, required: bool = True) -> str:
    path = text.strip().strip("`'\"")
    path = path[2:] if path.startswith("./") else path
    if not path and required:
        raise ActionError(f"`{verb}` needs a path: `{verb} <path>`, relative to the repository root")
    if path.startswith("/") or ".." in path.split("/") or "\\" in path or any(c.isspace() for c in path):
        raise ActionError(f"'{path[:80]}' is not a path in the repository (relative to its root, no '..', "
                          "no spaces)")
    return path


def _view(args: str) -> Action:
    path, _, last = args.rpartition(" ")
    if path and _LOOKS_LIKE_RANGE.match(last):
        found = _RANGE.match(last)
        start, end = (int(found.group(1)), int(found.group(2))) if found else (0, -1)
        if not found or start < 1 or end < start:
            raise ActionError(f"'{last}' is not a range of lines: write `<start>-<end>`, e.g. `view {path.strip()} "
                              "10-40` (1-based, start <= end)")
        return Action("view", path=_path(path, "view"), start=start, end=end)
    return Action("view", path=_path(args, "view"))


def _block(lines: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    body = _unfenced(lines)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    if not body:
        raise ActionError("`edit <path>` needs a SEARCH/REPLACE block on the lines after it")
    if not _SEARCH.match(body[0]):
        raise ActionError(f"the block must start with a line `{SEARCH_MARK}`, not '{body[0].strip()[:60]}'")
    middle = next((i for i in range(1, len(body)) if _DIVIDER.match(body[i])), None)
    if middle is None:
        raise ActionError(f"the block has no line `{DIVIDER}` between the SEARCH lines and the REPLACE lines")
    end = next((i for i in range(middle + 1, len(body)) if _REPLACE.match(body[i])), None)
    if end is None:
        raise ActionError(f"the block does not end with a line `{REPLACE_MARK}`")
    if end != len(body) - 1:
        raise ActionError(f"there is text after `{REPLACE_MARK}`: one block per edit action, nothing after it")
    return tuple(body[1:middle]), tuple(body[middle + 1:end])


def _unfenced(lines: list[str]) -> list[str]:
    """`lines` without a ``` fence around them (models fence code out of habit)."""
    kept = [i for i, line in enumerate(lines) if line.strip()]
    if len(kept) >= 2 and _FENCE.match(lines[kept[0]]) and lines[kept[-1]].strip() == "```":
        return lines[kept[0] + 1:kept[-1]]
    return list(lines)


def read_action(reply: str | None) -> str:
    """The action in a model's reply: from its last `Action:` marker on (to the end of the reply when the
    action's verb takes lines, else to the end of its line); with no marker, the whole reply stripped.
    For a text policy or loop acting in this grammar (`agents.stepper.read_action` keeps one line)."""
    text = (reply or "").replace("\r\n", "\n")
    whole = replies.final_answer(text, ("Action:",), until="end")
    if whole is None:
        return text.strip()
    verb = whole.split(None, 1)[0].lower() if whole.split() else ""
    return whole if verb in MULTILINE else whole.split("\n", 1)[0].strip()


# --- the gold as actions -------------------------------------------------------------------------------


def edit_text(path: str, search: list[str] | tuple[str, ...], replace: list[str] | tuple[str, ...]) -> str:
    """The text of an `edit` action."""
    return "\n".join([f"edit {path}", SEARCH_MARK, *search, DIVIDER, *replace, REPLACE_MARK])


def gold_actions(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """`edit` actions that take the repository `before` to `after` (path -> text), each block one change with
    its context (widened until its SEARCH lines occur once in the file), then `finish`. Raises `ConfigError`
    for a change the grammar cannot make (a deleted file, a file's last newline added or taken away)."""
    actions = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if new is None:
            raise ConfigError(f"the gold deletes {path}, which no action of the step grammar does")
        target = split_lines(new)[0]
        text = old
        if old is None:
            actions.append(edit_text(path, [], target))
            text = make_edit(None, (), tuple(target)).text
        lines = split_lines(text or "")[0]
        while lines != target:
            search, replace, lines = _first_change(lines, target)
            actions.append(edit_text(path, search, replace))
            text = make_edit(text, tuple(search), tuple(replace)).text
        if text != new:  # the lines are right, the last newline is not
            raise ConfigError(f"the gold changes whether {path} ends with a newline, which no edit action does")
    return [*actions, "finish"]


def _first_change(lines: list[str], target: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The first change from `lines` to `target` as (SEARCH lines, REPLACE lines, the lines after the edit).
    Only that change is made: the context around it, whatever it holds, is kept as it is, so a later change
    inside the context comes in a later edit."""
    matcher = difflib.SequenceMatcher(None, lines, target, autojunk=False)
    _, i1, i2, j1, j2 = next(op for op in matcher.get_opcodes() if op[0] != "equal")
    start, stop = max(i1 - CONTEXT_LINES, 0), min(i2 + CONTEXT_LINES, len(lines))
    while len(occurrences(lines, lines[start:stop])) != 1 and (start > 0 or stop < len(lines)):
        start, stop = max(start - 1, 0), min(stop + 1, len(lines))
    search = lines[start:stop]
    replace = lines[start:i1] + target[j1:j2] + lines[i2:stop]
    return search, replace, lines[:start] + replace + lines[stop:]


def split_lines(text: str) -> tuple[list[str], bool]:
    """A file's text as its lines (without newlines) and whether it ends with a newline."""
    if not text:
        return [], False
    ends = text.endswith("\n")
    return (text[:-1] if ends else text).split("\n"), ends


def join_lines(lines: list[str], ends: bool) -> str:
    return "\n".join(lines) + ("\n" if ends and lines else "")


def occurrences(lines: list[str], run: list[str] | tuple[str, ...]) -> list[int]:
    """Where the lines `run` stand in `lines` (0-based starts); none for an empty run."""
    n = len(run)
    if not n:
        return []
    first = run[0]
    return [i for i in range(len(lines) - n + 1) if lines[i] == first and tuple(lines[i:i + n]) == tuple(run)]


# --- what an edit does -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """What an `edit` does to one file: its new text, or why nothing changed."""

    text: str | None
    """The file after the edit; None when the edit was refused (nothing changed)."""
    at: int = 0
    """The 0-based line where the replaced lines stood."""
    problem: str = ""
    """Why it was refused: `no-file` (SEARCH lines for a file that does not exist), `exists` (an empty SEARCH
    for a file that exists and is not empty), `count` (the SEARCH lines occur 0 or 2+ times)."""
    found: tuple[int, ...] = ()
    """`count`: the 1-based lines where the SEARCH lines start."""
    near: tuple[int, ...] = ()
    """`count` with none found: the 1-based lines where they would start if white space at the ends of each
    line did not count."""


def make_edit(old: str | None, search: tuple[str, ...], replace: tuple[str, ...]) -> Edit:
    """Replace the one run of lines `search` in the text `old` (None: no such file) by the lines `replace`.
    An empty `search` creates a missing file (or fills an empty one). Line by line: the file keeps whether it
    ends with a newline; a new file ends with one."""
    if old is None or not old:
        if search:
            return Edit(None, problem="no-file") if old is None else _refused(split_lines(old)[0], search)
        return Edit(join_lines(list(replace), True))
    if not search:
        return Edit(None, problem="exists")
    lines, ends = split_lines(old)
    found = occurrences(lines, search)
    if len(found) != 1:
        return _refused(lines, search)
    at = found[0]
    return Edit(join_lines(lines[:at] + list(replace) + lines[at + len(search):], ends), at=at)


def _refused(lines: list[str], search: tuple[str, ...]) -> Edit:
    found = occurrences(lines, search)
    near = () if found else tuple(i + 1 for i in occurrences([line.strip() for line in lines],
                                                             tuple(line.strip() for line in search)))
    return Edit(None, problem="count", found=tuple(i + 1 for i in found), near=near)
