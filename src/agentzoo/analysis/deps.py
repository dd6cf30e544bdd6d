"""The dependency check: third-party imports the agent's manifest does not declare.

The manifest is the file's own PEP 723 block (`# /// script` ... `dependencies = [...]`), else the nearest
`pyproject.toml` (dependencies, optional dependencies, dependency groups) or `requirements*.txt` in the file's folder
or above it. With no manifest the check says nothing: there is nothing to hold the imports against.
Imports under `try: ... except ImportError` are optional and not checked.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from .defects import Finding
from .guards import ancestors, parents
from .source import AgentSource

# Import names whose distribution is named differently (the common ones in agent code).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "yaml": ("pyyaml",), "bs4": ("beautifulsoup4",), "sklearn": ("scikit-learn",), "PIL": ("pillow",),
    "dotenv": ("python-dotenv",), "cv2": ("opencv-python", "opencv-python-headless"), "docx": ("python-docx",),
    "google.generativeai": ("google-generativeai",), "dateutil": ("python-dateutil",), "jwt": ("pyjwt",),
    "serpapi": ("google-search-results",), "duckduckgo_search": ("duckduckgo-search",), "faiss": ("faiss-cpu",),
    "opentelemetry": ("opentelemetry-api", "opentelemetry-sdk"),
}


@functools.cache
def _installed() -> dict[str, tuple[str, ...]]:
    """Import name -> distributions, as the packages installed here say (`packages_distributions`): a distribution
    that ships more than one top-level module (`mcp` ships `mcp_types`) is then known too."""
    try:
        return {k: tuple(v) for k, v in importlib.metadata.packages_distributions().items()}
    except Exception:  # a broken installed distribution's metadata must not stop the lint
        return {}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PEP723 = re.compile(r"^# /// script\s*$(.*?)^# ///\s*$", re.MULTILINE | re.DOTALL)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        match = _NAME.match(line.split("#", 1)[0])
        if match and not line.lstrip().startswith("-"):
            names.add(normalize(match.group(1)))
    return names


def declared(source: AgentSource) -> tuple[set[str], str] | None:
    """(declared distribution names, where they were read) or None when no manifest is found."""
    block = _PEP723.search(source.text)
    if block is not None:
        body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in block.group(1).splitlines())
        try:
            data = tomllib.loads(body)
        except tomllib.TOMLDecodeError:
            return set(), "its PEP 723 block (which does not parse)"
        return _requirement_names(list(data.get("dependencies", []))), "its PEP 723 block"
    path = Path(source.path)
    if not path.exists():
        return None
    for folder in [path.parent, *path.parent.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                return set(), f"{pyproject} (which does not parse)"
            project = data.get("project", {})
            reqs = list(project.get("dependencies", []))
            for extra in project.get("optional-dependencies", {}).values():
                reqs += extra
            for group in data.get("dependency-groups", {}).values():
                reqs += [r for r in group if isinstance(r, str)]
            names = _requirement_names(reqs)
            if project.get("name"):
                names.add(normalize(project["name"]))
            return names, str(pyproject)
        reqs = sorted(folder.glob("requirements*.txt"))
        if reqs:
            lines = [line for r in reqs for line in r.read_text(encoding="utf-8", errors="replace").splitlines()]
            return _requirement_names(lines), ", ".join(str(r) for r in reqs)
        if (folder / ".git").exists():
            return None
    return None


def _optional(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    for parent in ancestors(node, up):
        if isinstance(parent, ast.Try):
            for handler in parent.handlers:
                text = ast.unparse(handler.type) if handler.type is not None else "BaseException"
                if re.search(r"ImportError|ModuleNotFoundError|Exception", text):
                    return True
    return False


def _local(module: str, source: AgentSource) -> bool:
    path = Path(source.path)
    top = module.split(".")[0]
    return any((folder / f"{top}.py").exists() or (folder / top).is_dir() or (folder / "src" / top).is_dir()
               for folder in [path.parent, *list(path.parent.parents)[:3]])


def check_dependencies(source: AgentSource) -> list[Finding]:
    manifest = declared(source)
    if manifest is None:
        return []
    names, where = manifest
    up = parents(source.tree)
    found, seen = [], set()
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__" or top in seen or _optional(node, up):
                continue
            candidates = DISTRIBUTIONS.get(module) or DISTRIBUTIONS.get(top) or (top,)
            candidates = (*candidates, *_installed().get(top, ()))
            if any(normalize(c) in names for c in candidates) or normalize(top) in names or _local(module, source):
                continue
            seen.add(top)
            found.append(Finding(source.path, node.lineno, "dependency",
                                 f"imports {top!r} but {where} does not declare {candidates[0]!r}"))
    return found
