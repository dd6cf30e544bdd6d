"""Load a callable named `package.module:name` or `path/to/file.py:name` (tools, scripted models)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError


FILE_MODULE_PREFIX = "_agentzoo_tools_"
"""Modules loaded from a file named on the command line (`my_env.py:Capitals`) get this name prefix."""


def file_modules() -> dict[str, str]:
    """The modules loaded so far from files (name → path): another process loads them under the same
    names first, so that what they define can be sent to it (pickled by reference)."""
    return {name: str(module.__file__) for name, module in list(sys.modules.items())
            if name.startswith(FILE_MODULE_PREFIX) and getattr(module, "__file__", None)}


def load_file_module(name: str, path: str) -> None:
    """Load the file at `path` as module `name` (what `file_modules` listed in the process that loaded it)."""
    if name in sys.modules:
        return
    mod_spec = importlib.util.spec_from_file_location(name, path)
    if mod_spec is None or mod_spec.loader is None:
        raise ConfigError(f"cannot load {path} as module {name}")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[name] = module
    mod_spec.loader.exec_module(module)


def _file_hint(exc: ImportError, module_name: str, attr: str) -> str:
    """A module name is looked up on Python's path, which for the command line does not hold the current
    folder; when the module itself was not found there and its file is right here, say how to name it."""
    here = Path(*module_name.split(".")).with_suffix(".py")
    missing = isinstance(exc, ModuleNotFoundError) and exc.name is not None and \
        (module_name == exc.name or module_name.startswith(exc.name + "."))
    return f"; {here} is in this folder: name it by its file, {here}:{attr}" if missing and here.is_file() else ""


def load_callable(spec: str, what: str = "tool") -> Any:
    """`package.module:function` or `path/to/file.py:function`; `what` names it in errors."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{what} {spec!r}: expected module:function or file.py:function")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            if not path.exists():
                raise ConfigError(f"{what} {spec!r}: file {path} does not exist")
            mod_spec = importlib.util.spec_from_file_location(f"{FILE_MODULE_PREFIX}{path.stem}", path)
            module = importlib.util.module_from_spec(mod_spec)  # type: ignore[arg-type]
            sys.modules[mod_spec.name] = module  # type: ignore[union-attr]
            mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _file_hint(exc, module_name, attr)
        raise ConfigError(f"{what} {spec!r}: cannot import {module_name!r}: {exc}{hint}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{what} {spec!r}: module {module_name!r} has no {attr!r}") from None
