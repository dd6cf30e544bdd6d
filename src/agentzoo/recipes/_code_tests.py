"""Shared by the code-generation recipes (AgentCoder, CodeCoR): read a code task, take code and
tests out of the models' replies, and run generated tests against generated code in the sandbox.

- `read_task(text)` finds the function a task asks for (HumanEval's and MBPP's prompts name it),
  and the stub it gives (HumanEval's signature and docstring); None for a task that is not one
  of these (GSM8K), for which the recipes fall back to plain answering.
- `parse_tests(reply, entry_point)` keeps the reply's top-level `assert` statements that call the
  function (so a designer's own reimplementation, prints or unrelated asserts do not count) and
  its other top-level statements (imports, helpers, data) as setup.
- `TestExecutor.run(ctx, code, suites)` runs one program in the run's one warm sandbox
  (`Sandbox.execute(program, fresh=True)`: its own process, globals and directory), as one
  journaled `sandbox/exec` effect in `ctx`'s scope, so replay and resume never run it again. The
  program executes the code, then each suite's setup and each test under its own time limit,
  and reports every test's outcome, so one failing or hanging test does not hide the others.
  The sandbox starts on the first run performed live (a replay starts none) and `close()` ends it.

The report comes back on the program's stdout, after the code under test ran in the same
process: code written to do so could forge it. That only sways which of the run's own
candidates a recipe picks; the benchmark's own scorer runs the answer on its own.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import replies
from ..agents.tool_calling import AgentResult
from ..envs.code import extract_code, parse_quietly
from ..errors import ConfigError
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import ExecResult, Limits, Sandbox
from ..types import ModelRequest

T = TypeVar("T")

REPORT = "\x1eAZTEST "      # starts each line of the test program's report
MESSAGE_CHARS = 300         # how much of an error message or a value the report keeps
_NAMED = re.compile(r"function `([A-Za-z_]\w*)`")
_SETUP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


# --- the task -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeTask:
    """A task that asks for one Python function."""

    text: str
    """The task as the recipe was given it."""
    entry_point: str
    """The function's name."""
    stub: str = ""
    """The code the task gives to complete (HumanEval's imports, signature and docstring), or ""."""


def read_task(text: str) -> CodeTask | None:
    """The function `text` asks for, or None when it asks for none.

    The name is the one in "function `name`" (our HumanEval and MBPP prompts say it), else the
    last function a fenced block defines, else the first non-builtin name the fenced asserts
    call. The stub is the fenced block that defines that function.
    """
    blocks = [code for _, code in _blocks(text)]
    named = _NAMED.search(text)
    entry = named.group(1) if named else None
    if entry is None:
        defined = [name for code in blocks for name in _defined(code)]
        entry = defined[-1] if defined else _called(blocks)
    if entry is None:
        return None
    stub = next((code for code in reversed(blocks) if entry in _defined(code)), "")
    return CodeTask(text, entry, stub.rstrip() + "\n" if stub.strip() else "")


def program_code(task: CodeTask, code: str) -> str:
    """The full code for a reply's code: a function definition goes after the stub (which keeps
    the stub's imports and helpers), a bare body is appended to it; with no stub, the code."""
    if not task.stub:
        return code
    if task.entry_point in _defined(code):
        return task.stub + "\n" + code
    return task.stub + code


def answer_code(task: CodeTask, code: str) -> str:
    """The code to answer with: the reply's own code when it defines the function, else the stub
    completed by it."""
    return code if task.entry_point in _defined(code) else program_code(task, code)


def fenced(code: str) -> str:
    """`code` in a ```python block (its first line's indentation kept)."""
    return f"```python\n{code.lstrip(chr(10)).rstrip()}\n```"


def reply_code(reply: str) -> str:
    """The code in a reply: its last ```python block, else its last fenced block, else the text."""
    return extract_code(reply).strip("\n")


# --- tests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    """One reply's tests: setup statements, then asserts, each a test of its own."""

    setup: str
    tests: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"setup": self.setup, "tests": list(self.tests)}


def parse_tests(reply: str, entry_point: str) -> Suite:
    """The tests in a reply's python blocks (or its whole text when it has none).

    Tests are the top-level `assert` statements (and those directly inside a top-level
    `def test*`/`def check*` or `if __name__ == "__main__":`) that mention `entry_point`. Setup is
    the top-level imports, definitions and assignments that do not mention `entry_point` (a
    designer's own version of the function would replace the code under test); other statements
    (prints, loops) are dropped.
    """
    blocks = [code for language, code in _blocks(reply) if language in (*replies.PYTHON, "")]
    source = "\n".join(blocks) if blocks else reply
    statements = _statements(source)
    setup: list[str] = []
    tests: list[str] = []
    for node, text in statements:
        asserts = _asserts(node, text)
        if asserts is not None:
            tests += [t for t in asserts if _mentions(t, entry_point) and t not in tests]
        elif isinstance(node, _SETUP) and not _mentions_node(node, entry_point):
            setup.append(text)
    return Suite("\n".join(setup), tuple(tests))


def merge_suites(suites: Iterable[Suite]) -> list[Suite]:
    """Suites with every test that an earlier suite already has removed; empty ones dropped."""
    seen: set[str] = set()
    out = []
    for suite in suites:
        tests = tuple(t for t in suite.tests if _key(t) not in seen)
        seen.update(_key(t) for t in tests)
        if tests:
            out.append(Suite(suite.setup, tests))
    return out


@dataclass(frozen=True)
class Outcome:
    """One test's result."""

    suite: int
    test: str
    passed: bool
    error: dict[str, str] | None = None
    """`{"type", "message"}` of what the test raised, or why it did not run."""
    got: str | None = None
    """For `assert x == y` that failed: `repr(x)`, as far as it could be evaluated."""


@dataclass(frozen=True)
class TestRun:
    """One program run: the code's own load error (if any) and every test's outcome."""

    __test__ = False  # not a pytest class

    outcomes: tuple[Outcome, ...]
    code_error: dict[str, str] | None = None

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def all_passed(self) -> bool:
        return self.passed == self.total

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def suites_passed(self, count: int) -> int:
        """How many of the `count` suites passed every one of their tests (a suite with none does not count)."""
        return sum(1 for s in range(count)
                   if any(o.suite == s for o in self.outcomes) and all(o.passed for o in self.outcomes if o.suite == s))


class TestExecutor:
    """The test executor: runs code against tests in one warm sandbox per run.

    `test_timeout` bounds the code's own loading and each setup and test; the whole program may
    take at most `max_seconds`. Tests the program did not report (it was killed, or the process
    died) fail with the sandbox's reason.
    """

    __test__ = False  # not a pytest class

    def __init__(self, *, tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False,
                 test_timeout: float = 3.0, max_seconds: float = 60.0) -> None:
        self.tier, self.limits, self.allow_unsafe = tier, limits, allow_unsafe
        self.test_timeout, self.max_seconds = test_timeout, max_seconds
        self._sandbox: Sandbox | None = None

    async def run(self, ctx: Context, code: str, suites: Sequence[Suite]) -> TestRun:
        payload = {"code": code, "suites": [s.to_json() for s in suites], "limit": self.test_timeout,
                   "chars": MESSAGE_CHARS}
        program = _DRIVER.replace("PAYLOAD_JSON", repr(json.dumps(payload, sort_keys=True)))
        units = sum(len(s.tests) * 2 + 1 for s in suites) + 1  # a failed assert is evaluated again for `got`
        timeout = round(min(self.max_seconds, self.test_timeout * units + 2.0), 3)

        async def perform() -> dict[str, Any]:
            if self._sandbox is None:  # made here, on the first live run: a replay needs no sandbox
                self._sandbox = Sandbox(tier=self.tier, limits=self.limits or Limits(), allow_unsafe=self.allow_unsafe)
            result = await self._sandbox.execute(program, timeout=timeout, fresh=True)
            return result.to_json()

        data = await ctx.effect("sandbox", "exec", {"code": program, "fresh": True, "timeout": timeout}, perform)
        return _read_report(ExecResult.from_json(data), suites)

    async def close(self) -> None:
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await sandbox.close()


def _read_report(result: ExecResult, suites: Sequence[Suite]) -> TestRun:
    records = []
    for line in result.stdout.split("\n"):
        if line.startswith(REPORT):
            try:
                records.append(json.loads(line[len(REPORT):]))
            except ValueError:
                continue
    code_error = next((r.get("code") for r in records if "code" in r), None)
    seen = {(r.get("suite"), r.get("test")): r for r in records if "test" in r}
    why = _error(result.error) if result.error else {"type": "NotRun", "message": "the test program stopped first"}
    outcomes = []
    for s, suite in enumerate(suites):
        for t, test in enumerate(suite.tests):
            record = seen.get((s, t))
            if record is None:
                outcomes.append(Outcome(s, test, False, why))
            else:
                error = record.get("error")
                outcomes.append(Outcome(s, test, error is None, _error(error) if error else None, record.get("got")))
    return TestRun(tuple(outcomes), _error(code_error) if code_error else None)


def _error(error: dict[str, Any]) -> dict[str, str]:
    return {"type": str(error.get("type") or "Error"), "message": str(error.get("message") or "")[:MESSAGE_CHARS]}


# The test program. Its data comes as one JSON string literal (PAYLOAD_JSON is replaced by it);
# each step runs under SIGALRM so that one hanging test does not take the others with it. Output
# the code prints is swallowed; the report goes to the real stdout, one line per record.
_DRIVER = r'''
import ast, io, json, signal, sys

_P = json.loads(PAYLOAD_JSON)
_OUT, _ERR, _LIMIT, _CHARS = sys.stdout, sys.stderr, _P["limit"], _P["chars"]


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _run(source, name, ns, mode="exec"):
    sys.stdout = sys.stderr = io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        return None, eval(compile(source, name, mode), ns)
    except _Timeout:
        return {"type": "TimeoutError", "message": "it ran longer than %s s" % _LIMIT}, None
    except BaseException as exc:
        return {"type": type(exc).__name__, "message": str(exc)[:_CHARS]}, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = _OUT, _ERR


def _got(test, ns):
    try:
        node = ast.parse(test).body[0]
    except Exception:
        return None
    if (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1
            and isinstance(node.test.ops[0], ast.Eq)):
        error, value = _run(ast.unparse(node.test.left), "<got>", ns, "eval")
        if error is None:
            try:
                return repr(value)[:_CHARS]
            except BaseException:
                return None
    return None


def _report(record):
    _OUT.write("\x1eAZTEST " + json.dumps(record) + "\n")
    _OUT.flush()


signal.signal(signal.SIGALRM, _alarm)
_ns = {"__name__": "__candidate__"}
_code_error, _ = _run(_P["code"], "<code>", _ns)
_report({"code": _code_error})
for _s, _suite in enumerate(_P["suites"]):
    _setup_error = None
    if _code_error is None and _suite["setup"].strip():
        _setup_error, _ = _run(_suite["setup"], "<setup>", _ns)
    for _t, _test in enumerate(_suite["tests"]):
        if _code_error is not None:
            _report({"suite": _s, "test": _t, "error": {"type": "CodeError", "message": "the code did not load: "
                     "%s: %s" % (_code_error["type"], _code_error["message"])}})
            continue
        if _setup_error is not None:
            _report({"suite": _s, "test": _t, "error": {"type": "SetupError", "message": "the tests' setup failed: "
                     "%s: %s" % (_setup_error["type"], _setup_error["message"])}})
            continue
        _error, _ = _run(_test, "<test>", _ns)
        _report({"suite": _s, "test": _t, "error": _error,
                 "got": _got(_test, _ns) if _error and _error["type"] == "AssertionError" else None})
'''


# --- roles ----------------------------------------------------------------------------------


async def answer_directly(ctx: Context, model: Model, task: str, system: str | None,
                          sampling: dict[str, Any]) -> AgentResult:
    """The fallback for a task that asks for no function: one plain model call, its reply the answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": task})
    ctx.step()
    response = await ctx.model(model, ModelRequest(messages=list(messages), **sampling))
    return AgentResult(response.text, [*messages, response.message], 1)


async def ask(ctx: Context, model: Model, system: str, prompt: str,
              sampling: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """One role's one-turn call: a system prompt and a user prompt; the reply and the exchange."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    response = await ctx.model(model, ModelRequest(messages=list(messages), **sampling))
    return response.text, [*messages, response.message]


def no_tools(recipe: str, tools: Sequence[Any]) -> None:
    """These recipes write code and run tests; they call no tools, so an environment that needs some is not for them."""
    if tools:
        raise ConfigError(f"recipe {recipe!r} writes code and tests and calls no tools, but the environment "
                          f"offers {len(tools)}; use an agent that calls tools (tool-calling, codeact) there")


# --- concurrency ----------------------------------------------------------------------------


# --- parsing helpers ------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[str, str]]:
    return [(block.language, block.code) for block in replies.code_blocks(text)]


def _defined(code: str) -> list[str]:
    tree = parse_quietly(code)
    return [n.name for n in (tree.body if tree else []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _called(blocks: list[str]) -> str | None:
    for code in blocks:
        tree = parse_quietly(code)
        for node in tree.body if tree else []:
            if isinstance(node, ast.Assert):
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                            and not hasattr(builtins, call.func.id)):
                        return call.func.id
    return None


def _statements(source: str) -> list[tuple[ast.stmt, str]]:
    """Top-level statements with their text; a block that does not parse is read line by line."""
    tree = parse_quietly(source)
    if tree is not None:
        return [(node, ast.get_source_segment(source, node) or ast.unparse(node)) for node in tree.body]
    out = []
    for line in source.split("\n"):
        small = parse_quietly(line.strip())
        if small is not None and len(small.body) == 1:
            out.append((small.body[0], line.strip()))
    return out


def _asserts(node: ast.stmt, text: str) -> list[str] | None:
    """The asserts a statement holds (None when it is not a test statement)."""
    if isinstance(node, ast.Assert):
        return [text]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(("test", "check")):
        body = node.body
    elif isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
        body = node.body
    else:
        return None
    return [ast.unparse(n) for n in body if isinstance(n, ast.Assert)]


def _mentions(code: str, name: str) -> bool:
    tree = parse_quietly(code)
    return tree is not None and _mentions_node(tree, name)


def _mentions_node(node: ast.AST, name: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == name:
            return True
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name == name:
            return True
        if isinstance(sub, ast.alias) and (sub.asname or sub.name) == name:
            return True
    return False


def _key(test: str) -> str:
    tree = parse_quietly(test)
    return ast.dump(tree) if tree is not None else test
