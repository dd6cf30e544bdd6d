"""The code agent's tools, made from the repository tools of `seeded-bugs` (`list_files`, `read_file`,
`run_script`, `run_tests`): search, read, run a reproduction script, check a patch against it.

A script reproduces the bug when it fails (an uncaught exception, an assert, a non-zero exit) on the repository
as it is. `check_fix` is the F→P oracle: the kept script must fail without the patch and pass with it, and the
repository's own tests must pass with it (feedback from a second source).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ...tools import ToolSet, tool
from ...tools.function_tool import FunctionTool
from .fsm import CHECK, READ, RUN, SEARCH, Reproduction

MAX_HITS = 20          # ours: lines search_code returns at most
MAX_OUTPUT = 2_000     # ours: characters of a script's output shown to the model
NEEDED = ("list_files", "read_file", "run_script", "run_tests")
_FAILED = re.compile(r"^(Traceback \(most recent call last\):|SystemExit: )", re.MULTILINE)


def failed(run: dict[str, Any]) -> bool:
    """The seeded-bugs runner prints a traceback (or `SystemExit: n`) when a script fails."""
    return bool(_FAILED.search(str(run.get("output", ""))))


def is_source(path: str) -> bool:
    return path.endswith(".py") and not path.startswith("tests/") and "/tests/" not in path


def agent_tools(repo: ToolSet, state: Reproduction) -> list[FunctionTool]:
    async def call(name: str, **arguments: Any) -> Any:
        return await repo.get(name).invoke(arguments)

    async def search_code(query: str) -> list[dict[str, Any]]:
        """Lines of the repository's source files that contain `query` (case-insensitive), with their file and
        line number.

        Args:
            query: a word or identifier to look for, e.g. a function name from the issue
        """
        return await search(repo, query)

    async def read_file(path: str) -> str:
        """The text of one file of the repository.

        Args:
            path: the file's path relative to the repository root, e.g. `pkg/module.py`
        """
        return await call("read_file", path=path)

    async def run_reproduction(script: str) -> dict[str, Any]:
        """Run a Python script at the root of the unfixed repository. It reproduces the bug when it fails there
        (an assert or an exception); it should pass once the bug is fixed.

        Args:
            script: the program, e.g. imports from the package and an assert of the behaviour the issue expects
        """
        try:
            ast.parse(script)  # parsed, never run here: prose or a broken script fails on itself, not on the bug
        except SyntaxError as exc:
            return {"reproduced": False, "error": f"the script is not Python ({exc.msg}, line {exc.lineno}): a "
                                                  "reproduction must run and then fail on the bug; nothing was run"}
        run = await call("run_script", code=script)
        if not run.get("applied", True):
            return {"reproduced": False, "error": run.get("error")}
        return {"reproduced": failed(run), "output": str(run.get("output", ""))[-MAX_OUTPUT:]}

    async def check_fix(patch: str) -> dict[str, Any]:
        """Check a patch against the reproduction script (it must fail before the patch and pass after it) and
        the repository's tests (they must pass with it).

        Args:
            patch: a unified diff as `git diff` prints it, paths relative to the repository root
        """
        if state.script is None:
            raise ValueError("no reproduction script yet: run_reproduction must fail on the unfixed repository first")
        before = await call("run_script", code=state.script)
        after = await call("run_script", code=state.script, patch=patch)
        if not after.get("applied", True):
            return {"applied": False, "fail_to_pass": False, "error": after.get("error")}
        tests = await call("run_tests", patch=patch)
        still_failing = sorted(tests.get("failed") or {})
        return {"applied": True, "fail_to_pass": failed(before) and not failed(after) and not still_failing,
                "script_before": "failed" if failed(before) else "passed",
                "script_after": "failed" if failed(after) else "passed",
                "output_after": str(after.get("output", ""))[-MAX_OUTPUT:], "tests_failing": still_failing}

    made = {SEARCH: search_code, READ: read_file, RUN: run_reproduction, CHECK: check_fix}
    return [tool(fn, name=name) for name, fn in made.items()]


async def search(repo: ToolSet, query: str, limit: int = MAX_HITS) -> list[dict[str, Any]]:
    needle = query.strip().lower()
    if not needle:
        raise ValueError("search_code needs a non-empty query")
    hits: list[dict[str, Any]] = []
    for path in await repo.get("list_files").invoke({}):
        if not is_source(path):
            continue
        text = await repo.get("read_file").invoke({"path": path})
        for number, line in enumerate(text.splitlines(), 1):
            if needle in line.lower():
                hits.append({"path": path, "line": number, "text": line.strip()})
                if len(hits) >= limit:
                    return hits
    return hits
