"""The install episode: a repository read one action at a time, install scripts tried in the sandbox, one submitted.

`InstallEpisode` (a `StepEpisode`) answers the actions of `action_space.j2`: `ls`, `cat`, `exists` read the
repository (Installamatic's get_directory_contents, get_file_contents, check_presence); `try` runs a script and
the verification in the sandbox (`run.attempt`; the Dockerfile build-and-test step) and shows both logs;
`submit` records the script as the answer and ends the episode. The repository is never changed by an action
(every attempt runs on a fresh copy), so the state is only the scripts: `snapshot()` is tiny and plain JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import UserError
from ...prompts import render
from ..file_tree import entries as tree_entries
from ..file_tree import tree_path
from ..step import ActionSpace, Observation, StepOutcome
from .run import attempt

PROMPTS = Path(__file__).parent / "prompts"
READERS = ("ls", "cat", "exists")
SCRIPTED = ("try", "submit")
ACTIONS = READERS + SCRIPTED
MAX_FILE_CHARS = 8_000  # a longer file is shown cut, with a note (ours; these repositories' files are short)


def action_space() -> ActionSpace:
    return ActionSpace(render(PROMPTS / "action_space.j2"), ACTIONS)


def action_text(name: str, argument: str = "") -> str:
    """An action as the episode reads it: `cat README.md`, or `try`/`submit` with the script on the next lines."""
    return f"{name}\n{argument}" if name in SCRIPTED else f"{name} {argument}".strip()


class ActionError(Exception):
    """An action the episode cannot read or perform; its message is what the agent reads after `Error: `."""


def parse(action: str) -> tuple[str, str]:
    """(name, argument): the first word of the first line, and the rest of that line (a path) or, for `try` and
    `submit`, every line after the first (the script)."""
    text = action.strip("\n")
    first, _, rest = text.partition("\n")
    name, _, argument = first.strip().partition(" ")
    name = name.strip().lower()
    if name not in ACTIONS:
        raise ActionError(f"unknown action {name!r}: the actions are {', '.join(ACTIONS)}")
    if name in SCRIPTED:
        script = (argument.strip() + "\n" if argument.strip() else "") + rest
        if not script.strip():
            raise ActionError(f"`{name}` takes the install script on the lines after it; none was given")
        return name, script.strip("\n") + "\n"
    return name, argument.strip()


class InstallEpisode:
    """One repository's install task. `files`: the repository; `verify`: its test command; `sandbox`: `tier`,
    `allow_unsafe`, `memory_mb` for the attempts."""

    def __init__(self, files: dict[str, str], verify: str, *, sandbox: dict[str, Any] | None = None) -> None:
        self.action_space = action_space()
        self.files = dict(files)
        self.verify = verify
        self.sandbox = dict(sandbox or {})
        self.script: str | None = None
        self.submitted = False
        self.tries = 0

    # --- the protocol ---

    async def reset(self, seed: int | None = None) -> Observation:
        self.script, self.submitted, self.tries = None, False, 0
        return Observation(self._render("reset", entries=self.entries("")),
                           {"files": sorted(self.files), "verify": self.verify})

    async def step(self, action: str) -> StepOutcome:
        if self.submitted:
            return StepOutcome(Observation(self._render("ended")), done=True, info={"ended": True})
        try:
            name, argument = parse(action)
        except ActionError as exc:
            return StepOutcome(Observation(self._render("error", message=str(exc))), info={"parse_error": str(exc)})
        info: dict[str, Any] = {"action": action_text(name, argument)}
        try:
            text = await getattr(self, "_" + name)(argument, info)
        except ActionError as exc:
            text, info["error"] = self._render("error", message=str(exc)), str(exc)
        if self.submitted:
            info["answer"] = self.script
        return StepOutcome(Observation(text, {"action": name}), 0.0, self.submitted, info)

    def snapshot(self) -> dict[str, Any]:
        return {"script": self.script, "submitted": self.submitted, "tries": self.tries}

    def restore(self, state: dict[str, Any]) -> None:
        try:
            script, submitted, tries = state["script"], bool(state["submitted"]), int(state["tries"])
            if script is not None and not isinstance(script, str):
                raise TypeError("script")
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError("an install episode's snapshot is {\"script\": text or null, \"submitted\": bool, "
                            f"\"tries\": int}}; this one fails at {exc!r}: {str(state)[:200]}") from None
        self.script, self.submitted, self.tries = script, submitted, tries

    async def close(self) -> None:
        pass  # nothing is held: each attempt has its own sandbox

    # --- the actions ---

    async def _ls(self, folder: str, info: dict[str, Any]) -> str:
        path = _path(folder or ".", folder=True)
        entries = self.entries(path)
        if path and not entries:
            raise ActionError(f"cannot list {folder}: there is no such folder in the repository")
        return self._render("listing", entries=entries)

    async def _cat(self, name: str, info: dict[str, Any]) -> str:
        path = _path(name)
        if path not in self.files:
            hint = " (it is a folder: use ls)" if self.entries(path) else ""
            raise ActionError(f"cannot show {name or '(no file named)'}: there is no such file{hint}")
        text = self.files[path]
        if len(text) > MAX_FILE_CHARS:
            text = text[:MAX_FILE_CHARS] + f"\n[... {len(self.files[path]) - MAX_FILE_CHARS} more characters]"
        return self._render("file", name=path, content=text.rstrip("\n"))

    async def _exists(self, name: str, info: dict[str, Any]) -> str:
        path = _path(name, folder=True)
        folder = not path or bool(self.entries(path))
        info.update(found=path in self.files or folder, folder=folder)
        return self._render("exists", name=name, found=info["found"], folder=folder)

    async def _try(self, script: str, info: dict[str, Any]) -> str:
        self.script, self.tries = script, self.tries + 1
        result = await attempt(self.files, script, self.verify, **self.sandbox)
        info["attempt"] = result.to_json()
        return self._render("attempt", verify=self.verify, error=result.error, install_exit=result.install_exit,
                            install_log=result.install_log.rstrip("\n"), verify_exit=result.verify_exit,
                            verify_log=result.verify_log.rstrip("\n"))

    async def _submit(self, script: str, info: dict[str, Any]) -> str:
        self.script, self.submitted = script, True
        return self._render("submitted", lines=len(script.splitlines()))

    # --- helpers ---

    def entries(self, folder: str) -> list[str]:
        """The names in `folder` ("" for the top), folders with a trailing "/"."""
        return tree_entries(self.files, folder)

    def _render(self, kind: str, **values: Any) -> str:
        return render(PROMPTS / "observations.j2", kind=kind, **values).strip("\n")


def _path(name: str, folder: bool = False) -> str:
    """A repository path (`file_tree.tree_path`, quotes around it stripped); one that leaves the repository is an
    `ActionError`."""
    return tree_path(name, where="repository", error=ActionError, folder=folder, quotes=True)
