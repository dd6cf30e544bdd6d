"""The command line in a process of its own, as a user runs it: the one way tests start `agentzoo …`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def agentzoo(*args: Any, cwd: str | Path | None = None, env: dict[str, str] | None = None, check: bool = True,
             timeout: float = 180, columns: int = 200, unset: Iterable[str] = ()) -> subprocess.CompletedProcess:
    """Run `agentzoo ARGS` (this interpreter's, `python -m agentzoo.cli.main`) and capture its output as text.

    The environment is this process's without `unset`, with `COLUMNS=columns` (so that tables and wrapped
    lines do not depend on the terminal the tests run in) and `env` over it. With `check`, a nonzero exit
    fails the test and shows both streams."""
    skip = set(unset)
    full = {name: value for name, value in os.environ.items() if name not in skip}
    full.update(COLUMNS=str(columns), **(env or {}))
    done = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", *map(str, args)], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done
