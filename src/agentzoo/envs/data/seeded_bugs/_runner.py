"""Runs inside the sandbox: write a repository into the working directory, then run its tests
or a script. `agentzoo.envs.seeded_bugs` sends this file's text followed by `main(payload)`;
nothing on the host imports it.

Tests run under pytest when the sandbox's Python has it. Otherwise a small runner that follows
pytest's rules for what the suites here use: files `test_*.py` / `*_test.py`, module-level
functions `test*` and `Test*` classes' methods `test*` in definition order, the test file's
folder put first on `sys.path` (pytest's default `prepend` import mode), node ids
`path::name` / `path::Class::name`, and a `pytest` module offering `raises` (with `match`) and
`fail`. Fixtures and marks are not supported by it: a test that takes arguments fails, saying so.
"""

import contextlib
import importlib
import io
import json
import os
import re
import sys
import traceback
import types

RESULT = "@@seeded-bugs-result@@ "


def main(payload):
    write_files(payload["files"])
    root = os.getcwd()
    sys.path.insert(0, root)
    if payload["mode"] == "script":
        run_script(payload["script"])
        return
    result = run_tests(root, payload.get("tests"))
    sys.stdout.write("\n" + RESULT + json.dumps(result) + "\n")
    sys.stdout.flush()


def write_files(files):
    for path, text in files.items():
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or not path:
            raise ValueError(f"refusing to write outside the repository: {path!r}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def run_script(code, name="reproduce_bug.py"):
    """Run `code` as `python reproduce_bug.py` would at the repository's root."""
    with open(name, "w", encoding="utf-8") as f:
        f.write(code)
    namespace = {"__name__": "__main__", "__file__": os.path.abspath(name), "__builtins__": __builtins__}
    try:
        exec(compile(code, name, "exec"), namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            sys.stderr.write(f"SystemExit: {exc.code}\n")
    except BaseException:
        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()


def run_tests(root, wanted=None):
    """{"runner", "passed": [ids], "failed": {id: why}} for every test, or only the `wanted` ids."""
    try:
        import pytest  # noqa: F401
    except ImportError:
        outcomes = _mini_runner(root, wanted)
        runner = "builtin"
    else:
        outcomes = _with_pytest(root, wanted)
        runner = "pytest"
    for test_id in wanted or ():
        outcomes.setdefault(test_id, "not found")
    passed = [t for t, why in outcomes.items() if why == "passed"]
    failed = {t: why for t, why in outcomes.items() if why != "passed"}
    return {"runner": runner, "passed": passed, "failed": failed}


def _with_pytest(root, wanted):
    import pytest

    outcomes = {}

    class Recorder:
        def pytest_runtest_logreport(self, report):
            if report.failed:
                outcomes[report.nodeid] = _short(report.longreprtext) or "failed"
            elif report.skipped:
                outcomes.setdefault(report.nodeid, "skipped")
            elif report.when == "call":
                outcomes.setdefault(report.nodeid, "passed")

        def pytest_collectreport(self, report):
            if report.failed:
                outcomes[report.nodeid or "<collection>"] = _short(report.longreprtext) or "collection failed"

    args = ["-q", "-p", "no:cacheprovider", "--rootdir", root, *(wanted or [])]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main(args, plugins=[Recorder()])
    return outcomes


def _mini_runner(root, wanted):
    sys.modules["pytest"] = _pytest_shim()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # as pytest captures
        return _run_all(root, wanted)


def _run_all(root, wanted):
    outcomes = {}
    for path in _test_files(root):
        try:
            module = _import(root, path)
        except BaseException as exc:  # noqa: BLE001 - a broken test file is a failed collection
            outcomes[path] = f"collection failed: {type(exc).__name__}: {exc}"
            continue
        for test_id, call in _collect(module, path):
            if wanted is not None and test_id not in wanted:
                continue
            outcomes[test_id] = _outcome(call)
    return outcomes


def _test_files(root):
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in files:
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def _import(root, path):
    """Import a test file as pytest's `prepend` mode does: its package root goes first on sys.path."""
    folder = os.path.dirname(os.path.join(root, path))
    names = [os.path.basename(path)[:-3]]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        names.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(".".join(names))


def _collect(module, path):
    for name, obj in list(vars(module).items()):
        if name.startswith("test") and isinstance(obj, types.FunctionType):
            yield f"{path}::{name}", obj
        elif name.startswith("Test") and isinstance(obj, type) and "__init__" not in vars(obj):
            for method in [m for m in vars(obj) if m.startswith("test") and callable(getattr(obj, m))]:
                yield f"{path}::{name}::{method}", _bound(obj, method)


def _bound(cls, method):
    def call():
        return getattr(cls(), method)()

    call.__wrapped_test__ = getattr(cls, method)
    return call


def _outcome(call):
    target = getattr(call, "__wrapped_test__", call)
    expected = 1 if target is not call else 0  # a method takes `self`
    if target.__code__.co_argcount > expected:
        return "uses fixtures, which the built-in runner does not support"
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - any exception fails the test, as in pytest
        return _short(f"{type(exc).__name__}: {exc}")
    return "passed"


def _short(text, limit=500):
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _pytest_shim():
    shim = types.ModuleType("pytest")

    class RaisesContext:
        def __init__(self, expected, match=None):
            self.expected, self.match, self.value = expected, match, None

        def __enter__(self):
            return self

        def __exit__(self, kind, value, tb):
            if kind is None:
                raise AssertionError(f"DID NOT RAISE {self.expected}")
            if not issubclass(kind, self.expected):
                return False
            if self.match is not None and not re.search(self.match, str(value)):
                raise AssertionError(f"Regex pattern did not match: {self.match!r} in {str(value)!r}")
            self.value = value
            return True

    def raises(expected, *args, match=None, **kwargs):
        context = RaisesContext(expected, match)
        if not args:
            return context
        with context:
            args[0](*args[1:], **kwargs)
        return context

    def fail(reason=""):
        raise AssertionError(reason)

    shim.raises, shim.fail = raises, fail
    return shim
