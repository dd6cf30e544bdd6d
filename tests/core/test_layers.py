"""The layers of DESIGN.md hold: no module imports from a layer above its own.

Each module's layer is read from its path; every `import`/`from ... import` in `src/agentzoo`
(including ones inside functions, which are still dependencies) is checked. Imports under
`if TYPE_CHECKING:` are skipped: they exist for type checkers only and never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "agentzoo"

# Lowest first. A module may import from its own layer and any layer below (DESIGN.md §2).
LAYERS: list[tuple[str, ...]] = [
    ("_version", "_json", "_loading", "_files", "_visible", "_records", "errors", "types", "protocols", "prompts",
     "replies", "runtime"),
    ("models",),
    ("tools", "sandbox", "envs", "memory", "net", "analysis"),
    ("agents",),
    ("teams", "search"),
    ("recipes",),
    ("catalog", "builder"),
    ("eval", "synth", "bundle", "export"),
    ("cli", "viewer", "server", "examples", "testing"),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def top_name(module: str) -> str:
    """`agentzoo.runtime.journal` → `runtime`; `agentzoo.errors` → `errors`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import that runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_of(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("agentzoo")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # `from .. import x`: each name may be a module, else a name of the package
                    found += [(node.lineno, f"{target}.{a.name}" if _is_module(target, a.name) else target)
                              for a in node.names]
                    continue
                found.append((node.lineno, target))
            elif node.module and node.module.startswith("agentzoo"):
                found.append((node.lineno, node.module))
    return found


def _is_module(package: str, name: str) -> bool:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def rank_of(module: str) -> int | None:
    """A module's layer; the package root (`from .. import __version__`) is above every layer: it
    re-exports them all."""
    if module == "agentzoo":
        return len(LAYERS)
    return RANK.get(top_name(module))


def test_every_module_has_a_layer():
    unplaced = sorted({top_name(module_of(p)) for p in PACKAGE.rglob("*.py")} - set(RANK) - {""})
    assert not unplaced, f"modules with no layer in this test's LAYERS (add them where DESIGN.md puts them): {unplaced}"


def test_no_module_imports_from_a_higher_layer():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_of(path)
        mine = rank_of(here)
        if mine is None:  # the package root: the public surface re-exports every layer lazily
            continue
        for line, target in imports(path):
            theirs = rank_of(target)
            if theirs is not None and theirs > mine:
                violations.append(f"{path.relative_to(PACKAGE)}:{line} ({top_name(here)}) imports {target} "
                                  f"({top_name(target)})")
    assert not violations, "imports from a higher layer:\n" + "\n".join(violations)


def test_the_checker_sees_a_violation(tmp_path):
    """The check can fail: an upward import written into a module of a low layer is found, and so is
    an import of a name from the package root (the root re-exports every layer)."""
    fake = PACKAGE / "runtime" / "_layer_probe_tmp.py"
    fake.write_text("from .. import __version__\ndef f():\n    from ..eval import harness\n")
    try:
        found = [t for _, t in imports(fake)]
        assert "agentzoo.eval" in found and rank_of("agentzoo.eval") > rank_of(module_of(fake))
        assert "agentzoo" in found and rank_of("agentzoo") > rank_of(module_of(fake))
    finally:
        fake.unlink()
