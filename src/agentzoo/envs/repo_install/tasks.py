"""The repositories: each folder of `repos/` is one task (`repo/` the files, `task.json`, `gold_install.sh`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConfigError

REPOS = Path(__file__).parent / "repos"


@dataclass(frozen=True)
class RepoTask:
    name: str
    files: dict[str, str]
    """The repository as the agent sees it, path -> text."""
    verify: str
    """The verification command: the repository's test run, in its top folder."""
    gold: str
    """An install script after which the verification passes."""
    kind: str
    """What makes the install procedure more than running the tests (a note for readers)."""
    docs: tuple[str, ...]
    """The install-relevant documents (Installamatic's ground truth for its search's recall)."""


def load(folder: Path) -> RepoTask:
    try:
        meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
        gold = (folder / "gold_install.sh").read_text(encoding="utf-8")
        verify, kind, docs = str(meta["verify"]), str(meta.get("kind", "")), tuple(meta.get("docs", ()))
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"repo-install task {folder}: needs task.json with \"verify\" and gold_install.sh "
                          f"({exc})") from None
    root = folder / "repo"
    if not root.is_dir():
        raise ConfigError(f"repo-install task {folder}: no repo/ folder")
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    missing = [d for d in docs if d not in files]
    if missing:
        raise ConfigError(f"repo-install task {folder}: task.json names documents the repository lacks: {missing}")
    return RepoTask(folder.name, files, verify, gold, kind, docs)


def load_all(root: Path) -> dict[str, RepoTask]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    return {folder.name: load(folder) for folder in folders}
