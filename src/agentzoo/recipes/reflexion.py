"""Reflexion (`reflexion`): trials of actor → evaluator → self-reflection, lessons kept in memory.

Shinn et al. 2023, "Reflexion: Language Agents with Verbal Reinforcement Learning" (NeurIPS 2023,
arXiv:2303.11366), §3: an **actor** attempts the task; an **evaluator** scores the attempt; after
a failure a **self-reflection** model turns the attempt and its evaluation into a few sentences of
verbal feedback, stored in an episodic memory that the actor is given in the next trial. Trials
stop at the first success or after the trial budget. Memory is bounded to the last Ω reflections
("usually set to 1-3", §3) to fit the context.

The evaluator is pluggable (`Evaluator`): the paper uses exact match for reasoning, heuristics for
decision making, self-generated unit tests for programming, and also an LLM as evaluator (§3).
Shipped here:
- `SelfTests` (`evaluator="tests"`, preset `tests`), the paper's programming setup: the model
  writes unit tests (asserts) for the task once, before any attempt; each attempt's code runs
  against them in a fresh sandbox process, as a journaled effect; all passing is success, and the
  feedback lists the passed and the failed tests, each failed one with what its call returned or
  raised;
- `LLMJudge` (`evaluator="judge"`, preset `judge`): the same model, prompted to check the attempt
  and end with `VERDICT: PASS` or `VERDICT: FAIL`; for tasks without a checker of their own.
The default, `evaluator="auto"`, follows the paper: self-written tests when the environment says
its tasks ask for a function (`task_kind="code"`, HumanEval, MBPP), the judge for every other kind
(and when no kind is given). `custom_evaluator` takes an `Evaluator` of your own (Python only).

Constants (the defaults of `build`), from the released code (noahshinn/reflexion,
`programming_runs/`, the HumanEval runs) unless said:
- `max_trials=5`: `--max_iters 5` in `run_reflexion.sh` and the HumanEval Python logs
  (`…_reflexion_5_gpt-4_…`); `main.py` defaults to 10;
- `memory_size=3`: the paper's Ω "usually 1-3"; the AlfWorld code keeps the last 3 reflections
  (`memory[-3:]`), while the programming code gives the actor only the latest one (Ω=1);
- `show_last_attempt=True`: as in the programming code, the actor also sees its previous attempt
  and that attempt's evaluation, next to the reflections;
- temperatures: actor 0.0 (`func_impl(temperature=0.0)`), self-reflection and test writing 0.2
  (`generate_chat` default), judge 0.0 (ours: the paper's LLM evaluator's setting is not given);
- `SelfTests(max_tests=5)`: `internal_tests(max_num_tests=5)`; the code samples 5 of the parsed
  tests at random, we keep the first 5 (deterministic; replay needs no recorded random draw);
  5 s per test (`py_execute(timeout=5)`), given here to the whole program as 5 s × the tests.

Roles run in the scopes `actor`, `evaluator` and `reflection` (one model call per trial each; the
test writer's call and the sandbox runs are in `evaluator`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ..agents.tool_calling import AgentResult
from ..envs.code import extract_code
from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import ExecResult, Limits, Sandbox
from ..types import ModelRequest
from .cot import request_fields, text_only

PROMPTS = Path(__file__).parent / "prompts" / "reflexion"
ANSWER_KINDS = ("number", "text", "code")  # the last attempt is the answer
MAX_TRIALS = 5                 # programming_runs/run_reflexion.sh --max_iters 5 (HumanEval)
MEMORY_SIZE = 3                # paper §3: Ω usually 1-3; alfworld_trial.py keeps memory[-3:]
ACTOR_TEMPERATURE = 0.0        # generators/py_generate.py func_impl(temperature=0.0)
REFLECTION_TEMPERATURE = 0.2   # generators/model.py generate_chat(temperature=0.2)
JUDGE_TEMPERATURE = 0.0        # ours
MAX_TESTS = 5                  # py_generate.py internal_tests(max_num_tests=5)
TEST_TIMEOUT = 5.0             # per test: executors/py_executor.py py_execute(timeout=5)

PRESETS: dict[str, dict[str, Any]] = {
    "tests": {"evaluator": "tests"},   # the paper's programming evaluator, on any task
    "judge": {"evaluator": "judge"},   # the LLM evaluator, on any task
}
OPTION_SOURCES: dict[str, str] = {
    "evaluator": "paper §3: self-generated unit tests for programming, an LLM or a heuristic elsewhere; auto picks "
                 "tests when task_kind is 'code'",
    "max_trials": "code: programming_runs/run_reflexion.sh --max_iters 5 (HumanEval)",
    "memory_size": "paper §3: Ω 'usually set to 1-3'; code: alfworld_trial.py keeps memory[-3:]",
    "show_last_attempt": "code: the programming actor sees its previous attempt and its feedback",
    "actor_temperature": "code: generators/py_generate.py func_impl(temperature=0.0)",
    "reflection_temperature": "code: generators/model.py generate_chat(temperature=0.2)",
    "max_tests": "code: py_generate.py internal_tests(max_num_tests=5)",
}
DEVIATIONS: list[str] = [
    "memory_size=3 on every task: the programming code gives the actor only the latest reflection (Ω=1), the "
    "AlfWorld code the last 3; the paper says 1-3",
    "the judge's temperature is 0.0 (ours): the paper does not give its LLM evaluator's",
    "self-written tests: the first max_tests parsed asserts are kept (the code samples them at random), so replay "
    "needs no recorded draw; the 5 s limit is per test in the code, here 5 s × the tests for the whole program",
    "an attempt for which no test could be written counts as a success (nothing to reflect on)",
    "with no task_kind (a caller who did not say), auto picks the judge even for code",
]

_VERDICT = re.compile(r"verdict\s*:\s*\**\s*(pass|fail)", re.I)


@dataclass(frozen=True)
class Evaluation:
    """An evaluator's verdict on one attempt."""

    success: bool
    feedback: str
    """What the actor and the self-reflection are told about the attempt."""


@runtime_checkable
class Evaluator(Protocol):
    """Judges one attempt; `trial` counts from 1 within a run (state for a run starts at trial 1)."""

    async def evaluate(self, task: str, attempt: str, ctx: Context, trial: int) -> Evaluation: ...


class LLMJudge:
    """The model checks the attempt and ends with `VERDICT: PASS` or `VERDICT: FAIL` (no verdict: fail)."""

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 temperature: float | None = JUDGE_TEMPERATURE) -> None:
        self.model = model
        self.system = render(PROMPTS / "judge.j2", system=system)
        self.fields = request_fields(sampling, temperature=temperature)

    async def evaluate(self, task: str, attempt: str, ctx: Context, trial: int) -> Evaluation:
        messages = [{"role": "system", "content": self.system},
                    {"role": "user", "content": render(PROMPTS / "judge_user.j2", task=task, attempt=attempt)}]
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self.fields))
        verdicts = _VERDICT.findall(response.text)
        return Evaluation(bool(verdicts) and verdicts[-1].lower() == "pass", response.text)


class SelfTests:
    """The paper's programming evaluator: self-written unit tests, run on each attempt in the sandbox.

    At trial 1 the model writes up to `max_tests` asserts from the task alone; every attempt's code
    (its last ```python block) then runs with them in a fresh sandbox process, journaled as a
    `sandbox/exec` effect so replay and resume never run it again. With no usable test the attempt
    cannot be checked and counts as a success (there is nothing to reflect on).
    """

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 max_tests: int = MAX_TESTS, temperature: float | None = REFLECTION_TEMPERATURE,
                 timeout: float = TEST_TIMEOUT, tier: str = "auto", limits: Limits | None = None,
                 allow_unsafe: bool = False) -> None:
        self.model, self.max_tests, self.timeout = model, max_tests, timeout
        self.system = render(PROMPTS / "tests.j2", system=system, max_tests=max_tests)
        self.fields = request_fields(sampling, temperature=temperature)
        self.sandbox_options = {"tier": tier, "limits": limits or Limits(wall_seconds=timeout * max(1, max_tests)),
                                "allow_unsafe": allow_unsafe}
        self._tests: dict[str, list[str]] = {}

    async def evaluate(self, task: str, attempt: str, ctx: Context, trial: int) -> Evaluation:
        if trial == 1 or task not in self._tests:
            self._tests[task] = await self.write_tests(task, ctx)
        tests = self._tests[task]
        if not tests:
            return Evaluation(True, "No unit tests could be written for this task, so the attempt was not checked.")
        program = _TEST_PROGRAM.format(code=extract_code(attempt), tests=tests)
        timeout = self.timeout * len(tests)

        async def perform() -> dict[str, Any]:
            async with Sandbox(**self.sandbox_options) as sandbox:
                return (await sandbox.execute(program, timeout=timeout, fresh=True)).to_json()

        result = ExecResult.from_json(await ctx.effect("sandbox", "exec", {"code": program, "timeout": timeout},
                                                       perform))
        return _judge_tests(tests, result)

    async def write_tests(self, task: str, ctx: Context) -> list[str]:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": task}]
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self.fields))
        return parse_tests(response.text)[: self.max_tests]


def parse_tests(text: str) -> list[str]:
    """The single-line `assert` statements in `text` that parse, in order, without repeats."""
    tests: list[str] = []
    for line in extract_code(text).split("\n") + text.split("\n"):
        line = line.strip()
        if line.startswith("assert") and line not in tests:
            try:
                statements = ast.parse(line).body
            except SyntaxError:
                continue
            if len(statements) == 1 and isinstance(statements[0], ast.Assert):
                tests.append(line)
    return tests


# The attempt's code, then each test on its own, in one fresh process; one JSON line of outcomes. A
# failed `assert f(x) == y` reports what `f(x)` gave (or raised), as the released code's feedback does.
_TEST_PROGRAM = '''import ast as _ast, json as _json
_tests = {tests!r}
_ns = {{"__name__": "solution"}}

def _error(e):
    return type(e).__name__ + (": " + str(e) if str(e) else "")

try:
    exec(compile({code!r}, "<solution>", "exec"), _ns)
except BaseException as _e:
    print(_json.dumps({{"load_error": _error(_e)}}))
else:
    _out = []
    for _t in _tests:
        try:
            exec(compile(_t, "<test>", "exec"), _ns)
            _out.append(None)
        except BaseException as _e:
            _got = _error(_e)
            _node = _ast.parse(_t).body[0]
            if isinstance(_e, AssertionError) and isinstance(_node.test, _ast.Compare):
                try:
                    _call = compile(_ast.Expression(_node.test.left), "<test>", "eval")
                    _got = "output: " + repr(eval(_call, _ns))[:300]
                except BaseException as _e2:
                    _got = _error(_e2)
            _out.append(_got)
    print(_json.dumps({{"errors": _out}}))
'''


def _judge_tests(tests: list[str], result: ExecResult) -> Evaluation:
    outcome: dict[str, Any] = {}
    for line in reversed(result.stdout.strip().split("\n")):
        try:
            outcome = json.loads(line)
            break
        except ValueError:
            continue
    if "errors" not in outcome:
        error = outcome.get("load_error") or (f"{result.error.get('type')}: {result.error.get('message')}"
                                                if result.error else "the test program printed no result")
        listed = "\n".join(tests)
        return Evaluation(False, f"The code could not be tested: {error}\n\nThe tests it had to pass:\n{listed}")
    errors = outcome["errors"]
    passed = [t for t, e in zip(tests, errors) if e is None]
    failed = [f"{t}  # {e}" for t, e in zip(tests, errors) if e is not None]
    feedback = ("Tests passed:\n" + ("\n".join(passed) or "(none)")
                + "\n\nTests failed:\n" + ("\n".join(failed) or "(none)"))
    return Evaluation(not failed, feedback)


class Reflexion:
    """Trials of actor → evaluator → (on failure) self-reflection, until success or `max_trials`."""

    name = "reflexion"

    def __init__(self, model: Model, evaluator: Evaluator, *, system: str | None = None,
                 sampling: dict[str, Any] | None = None, max_trials: int = MAX_TRIALS,
                 memory_size: int = MEMORY_SIZE, show_last_attempt: bool = True,
                 actor_temperature: float | None = ACTOR_TEMPERATURE,
                 reflection_temperature: float | None = REFLECTION_TEMPERATURE) -> None:
        if max_trials < 1:
            raise ValueError(f"max_trials must be at least 1, not {max_trials}")
        self.model, self.evaluator = model, evaluator
        self.max_trials, self.memory_size, self.show_last_attempt = max_trials, memory_size, show_last_attempt
        self.actor_system = render(PROMPTS / "actor.j2", system=system)
        self.reflect_system = render(PROMPTS / "reflect.j2", system=system)
        self.actor_fields = request_fields(sampling, temperature=actor_temperature)
        self.reflect_fields = request_fields(sampling, temperature=reflection_temperature)

    async def run(self, task: str, ctx: Context) -> AgentResult:
        actor, evaluator, reflector = ctx.child("actor"), ctx.child("evaluator"), ctx.child("reflection")
        memory: list[str] = []
        previous: dict[str, str] | None = None
        steps = 0
        for trial in range(1, self.max_trials + 1):
            recalled = memory[-self.memory_size:] if self.memory_size > 0 else []
            user = render(PROMPTS / "actor_user.j2", task=task, reflections=recalled, previous=previous)
            messages, attempt = await self._call(actor, self.actor_system, user, self.actor_fields)
            evaluation = await self.evaluator.evaluate(task, attempt, evaluator, trial)
            steps += 1
            if evaluation.success or trial == self.max_trials:
                break
            _, reflection = await self._call(reflector, self.reflect_system, render(
                PROMPTS / "reflect_user.j2", task=task, attempt=attempt, feedback=evaluation.feedback),
                self.reflect_fields)
            memory.append(reflection.strip())
            previous = {"attempt": attempt, "feedback": evaluation.feedback} if self.show_last_attempt else None
        return AgentResult(attempt, messages, steps)

    async def _call(self, ctx: Context, system: str, user: str,
                    fields: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=list(messages), **fields))
        return [*messages, response.message], response.text


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, evaluator: Literal["auto", "tests", "judge"] = "auto",
          custom_evaluator: Evaluator | None = None, task_kind: str | None = None,
          max_trials: int = MAX_TRIALS, memory_size: int = MEMORY_SIZE, show_last_attempt: bool = True,
          actor_temperature: float | None = ACTOR_TEMPERATURE,
          reflection_temperature: float | None = REFLECTION_TEMPERATURE, max_tests: int = MAX_TESTS,
          tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> Reflexion:
    """Reflexion with the released code's constants. `evaluator`: "auto" (self-written tests when
    `task_kind` is "code", else the judge), "tests" or "judge"; `custom_evaluator` (an `Evaluator`
    of your own) wins over it."""
    text_only("reflexion", tools)
    if custom_evaluator is not None:
        if not isinstance(custom_evaluator, Evaluator):
            raise ConfigError(f"reflexion: custom_evaluator must be an Evaluator (with async evaluate(task, attempt, "
                              f"ctx, trial)), not {type(custom_evaluator).__name__}")
        chosen: Evaluator = custom_evaluator
    else:
        if evaluator == "auto":
            evaluator = "tests" if task_kind == "code" else "judge"
        if evaluator == "judge":
            chosen = LLMJudge(model, system=system, sampling=sampling)
        elif evaluator == "tests":
            chosen = SelfTests(model, system=system, sampling=sampling, max_tests=max_tests, tier=tier,
                               limits=limits, allow_unsafe=allow_unsafe)
        else:
            hint = "; pass your own Evaluator as custom_evaluator" if isinstance(evaluator, Evaluator) else ""
            raise ConfigError(f"reflexion: evaluator must be 'auto', 'tests' or 'judge', not {evaluator!r}{hint}")
    return Reflexion(model, chosen, system=system, sampling=sampling, max_trials=max_trials, memory_size=memory_size,
                     show_last_attempt=show_last_attempt, actor_temperature=actor_temperature,
                     reflection_temperature=reflection_temperature)
