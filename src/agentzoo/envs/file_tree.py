"""A file tree held as a mapping of relative paths, as the workspace environments keep one (MLAgentBench's
workspace, a repository copy of repo-install): the paths an agent may name, and a folder's listing."""

from __future__ import annotations

from collections.abc import Iterable


def tree_path(name: object, *, where: str, error: type[Exception], folder: bool = False, quotes: bool = False) -> str:
    """`name` as a path in the tree, normalised (`./a//b` -> `a/b`); "" is the top folder when `folder`. A path
    that leaves the tree (absolute, `..`) or names nothing raises `error`, whose message the agent reads; `where`
    names the tree in it ("workspace", "repository"). `quotes`: strip the quotes and backticks models put around
    a name."""
    text = str(name).strip()
    text = (text.strip("`'\"") if quotes else text).replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or ".." in parts:
        raise error(f"cannot use {text}: it is not in the {where}")
    if not parts and not folder:
        raise error("a file name is needed")
    return "/".join(parts)


def entries(paths: Iterable[str], folder: str) -> list[str]:
    """The names in `folder` ("" for the top) among the tree's file `paths`, folders with a trailing "/" (as
    `ls -F` shows them)."""
    prefix = folder + "/" if folder else ""
    found = set()
    for path in paths:
        if path.startswith(prefix):
            head, sep, _ = path[len(prefix):].partition("/")
            found.add(head + sep)
    return sorted(found)
