"""AgentCoder (#27): a programmer, a test designer and a test executor.

Huang et al., "AgentCoder: Multi-Agent Code Generation with Effective Testing and Self-optimisation"
(arXiv:2312.13010). Released code: huangd1999/AgentCoder (read at dddd1b9),
`src/{programmer,test_designer,test_executor}_{humaneval,mbpp}.py` and `prompts/`.

The paper's loop (preset `paper`, the defaults of `build`):
1. The programmer writes the function with a chain of thought: understand the problem, choose a
   method, write pseudocode, write the code. At the same time the test designer, who never sees the
   code, writes assert tests from the description: basic, edge and large-scale cases. The two run
   concurrently, each in its own scope.
2. The test executor, a program and not a model, runs every test on the code in the sandbox
   (`Sandbox.execute(program, fresh=True)`, one warm sandbox per run, closed at its end; each run is
   a journaled `sandbox/exec` effect in the `test_executor` scope).
3. If every test passes, the code is the answer. Otherwise the programmer is sent its code again
   with the failing asserts, their errors and what the asserted expression evaluated to, and
   rewrites it; back to 2, at most `iterations` times. The tests are designed once.
The answer is the last code, complete, in a ```python block.

The released code (preset `code`) differs: each round the programmer samples `samples=5`
completions (`programmer_humaneval.py`, `fetch_completion(times=5)`) and the designer new test
sets; the executor counts, per completion, the test sets it passes entirely (`check_correctness`,
3 s each), keeps the first completion with the most, and stops once it passes `pass_bar=3` sets
(`if max_correct >= 3`, "GPT-3.5-turbo-1106's test case accuracy is about 67%. So we choice 60% as
the bar."); otherwise completions and tests are sampled again from the same prompts, without the
error text, for `epoch = 5` rounds after the first. The answer is the best completion of the last round.

Constants (the defaults of `build`, per preset):
- `iterations=5`: feedback rounds after the first generation, so at most 6 programmer rounds
  (code: `epoch = 5` in `test_executor_*.py`, each round after the first generation; the paper's
  text could not be read here to confirm its own count, PAPERS.md gives 5).
- `samples=1`, `test_sets=1` (paper); `samples=5`, `test_sets=5` (code). Where the code disagrees
  with itself: at dddd1b9 the HumanEval designer samples 10 test sets (`times=10`), the MBPP one 5
  (`times=5`); the "60%" of the comment above is 3 of 5, so the preset takes 5.
- `pass_bar=None` (paper: every generated test passes), `3` test sets (code).
- `feedback=True` (paper §3: the executor returns the error messages to the programmer); `False`
  (code, HumanEval: regenerate from the same prompt). The released MBPP programmer has a
  `fix_bug` prompt with the previous code, a test and its error, the shape of our feedback prompt;
  but `test_executor_mbpp.py` imports it without calling it: its loop re-samples the completions
  that fail MBPP's own listed asserts (`test_list`, which the MBPP prompt shows; 5 s each) and uses
  no designed tests at all.
- `test_timeout=3.0` s per test (`check_correctness(..., 3, ...)` for HumanEval; 5 s for MBPP).
- `max_failures_shown=5`: how many failing tests one feedback prompt lists (ours; the paper names none).

Departures, on purpose: the prompts are our own and zero-shot (the released few-shot prompts use
HumanEval problems as examples, which would leak into a HumanEval run; the repository also ships
zero-shot prompts, `prompts/zero_shot_*`); the executor runs and reports each assert on its own (the
released one runs a test set as one block, which stops at the first failing assert), and only asserts
that call the function count as tests. As upstream, a tie between completions goes to the first
(`correct_list.index(max_correct)`).

A task that asks for no function (GSM8K) is answered with one plain model call in the `direct`
scope: the system is defined for code generation only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agents.tool_calling import AgentResult
from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import Limits
from ..teams.parallel import branch_sampling, gather
from ._code_tests import (CodeTask, Suite, TestExecutor, TestRun, answer_code, answer_directly, ask,
                          fenced, no_tools, parse_tests, program_code, read_task, reply_code)

PROMPTS = Path(__file__).parent / "prompts" / "agentcoder"
ANSWER_KINDS = ("code",)  # a function, tested in the sandbox

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"iterations": 5, "samples": 1, "test_sets": 1, "pass_bar": None, "feedback": True,
              "regenerate_tests": False},
    "code": {"iterations": 5, "samples": 5, "test_sets": 5, "pass_bar": 3, "feedback": False,
             "regenerate_tests": True},
}
DEFAULT_PRESET = "paper"  # `build`'s defaults are this preset's values
TEST_TIMEOUT = 3.0       # s per test: check_correctness(..., 3, ...) in test_executor_humaneval.py
MAX_FAILURES_SHOWN = 5   # ours
OPTION_SOURCES: dict[str, str] = {
    "iterations": "code: test_executor_*.py epoch = 5 rounds after the first generation (PAPERS.md: up to 5)",
    "samples": "paper: one program per round; code: programmer_humaneval.py fetch_completion(times=5)",
    "test_sets": "paper: one test designer; code: 5 (test_designer_mbpp.py times=5; the HumanEval one samples 10)",
    "pass_bar": "paper: every generated test passes; code: `if max_correct >= 3` (the '60%' bar of 5 test sets)",
    "feedback": "paper §3: the executor returns error messages to the programmer; code: regenerates without them",
    "regenerate_tests": "paper: tests designed once; code: new test sets every round",
    "test_timeout": "code: check_correctness(..., 3, ...) in test_executor_humaneval.py (MBPP: 5 s)",
    "max_failures_shown": "ours: the paper names no limit on the failures one feedback prompt lists",
}
DEVIATIONS: list[str] = [
    "prompts are our own and zero-shot: the released few-shot prompts use HumanEval problems as examples, which "
    "would leak into a HumanEval run (the repository also ships zero-shot prompts)",
    "the executor runs and reports each assert on its own (the released one runs a test set as one block, which stops "
    "at its first failing assert); only asserts that call the function count as tests",
    "iterations=5 is the code's epoch: the paper's own count could not be read here to confirm it",
    "the `code` preset takes 5 test sets: the released HumanEval designer samples 10, the MBPP one 5, and the "
    "'60%' bar is 3 of 5",
]


@dataclass
class _Attempt:
    """One completion and how it did."""

    code: str
    run: TestRun
    score: int
    messages: list[dict[str, Any]]


class AgentCoder:
    """Programmer and test designer (models), test executor (the sandbox), in a feedback loop."""

    name = "agentcoder"

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 iterations: int = 5, samples: int = 1, test_sets: int = 1, pass_bar: int | None = None,
                 feedback: bool = True, regenerate_tests: bool = False, test_timeout: float = TEST_TIMEOUT,
                 max_failures_shown: int = MAX_FAILURES_SHOWN, tier: str = "auto", limits: Limits | None = None,
                 allow_unsafe: bool = False) -> None:
        if iterations < 0 or samples < 1 or test_sets < 1:
            raise ConfigError("agentcoder: iterations must be >= 0, samples and test_sets >= 1")
        self.model, self.system, self.sampling = model, system, dict(sampling or {})
        self.iterations, self.samples, self.test_sets = iterations, samples, test_sets
        self.pass_bar, self.feedback, self.regenerate_tests = pass_bar, feedback, regenerate_tests
        self.max_failures_shown = max_failures_shown
        self.executor_options = {"tier": tier, "limits": limits, "allow_unsafe": allow_unsafe,
                                 "test_timeout": test_timeout}

    async def run(self, task: str, ctx: Context) -> AgentResult:
        code_task = read_task(task)
        if code_task is None:
            return await answer_directly(ctx.child("direct"), self.model, task, self.system, self.sampling)
        programmers = _branches(ctx, "programmer", self.samples)
        designers = _branches(ctx, "test_designer", self.test_sets)
        executor_ctx = ctx.child("test_executor")
        executor = TestExecutor(**self.executor_options)
        suites: list[Suite] | None = None
        best: _Attempt | None = None
        try:
            for round_ in range(1 + self.iterations):
                ctx.step()
                new_tests = suites is None or self.regenerate_tests
                asks = [self._program(c, code_task, best, k) for k, c in enumerate(programmers)]
                if new_tests:
                    asks += [self._design(c, code_task, k) for k, c in enumerate(designers)]
                replies = await gather(asks)
                if new_tests:
                    suites = [parse_tests(text, code_task.entry_point) for text, _ in replies[len(programmers):]]
                assert suites is not None
                attempts = []
                for text, messages in replies[:len(programmers)]:  # one after another: the sandbox runs one at a time
                    code = reply_code(text)
                    run = await executor.run(executor_ctx, program_code(code_task, code), suites)
                    attempts.append(_Attempt(code, run, self._score(run, suites), messages))
                best = max(attempts, key=lambda a: a.score)  # the first of the best, as upstream
                if self._done(best):
                    break
        finally:
            await executor.close()
        assert best is not None
        return AgentResult(fenced(answer_code(code_task, best.code)), best.messages, round_ + 1)

    def _score(self, run: TestRun, suites: Sequence[Suite]) -> int:
        return run.passed if self.pass_bar is None else run.suites_passed(len(suites))

    def _done(self, best: _Attempt) -> bool:
        return best.run.all_passed if self.pass_bar is None else best.score >= self.pass_bar

    async def _program(self, ctx: Context, task: CodeTask, last: _Attempt | None,
                       k: int) -> tuple[str, list[dict[str, Any]]]:
        if last is None or not self.feedback:
            prompt = render(PROMPTS / "programmer.j2", task=task.text, entry_point=task.entry_point)
        else:
            failures = last.run.failures
            prompt = render(PROMPTS / "programmer_feedback.j2", task=task.text, entry_point=task.entry_point,
                            code=last.code, failed=len(failures), total=last.run.total,
                            failures=failures[:self.max_failures_shown])
        system = render(PROMPTS / "programmer_system.j2", context=self.system)
        return await ask(ctx, self.model, system, prompt, branch_sampling(self.sampling, k))

    async def _design(self, ctx: Context, task: CodeTask, k: int) -> tuple[str, list[dict[str, Any]]]:
        system = render(PROMPTS / "test_designer_system.j2", context=self.system)
        prompt = render(PROMPTS / "test_designer.j2", task=task.text, entry_point=task.entry_point)
        return await ask(ctx, self.model, system, prompt, branch_sampling(self.sampling, k))


def _branches(ctx: Context, role: str, count: int) -> list[Context]:
    """A role's contexts, made once per run (so each keeps numbering its effects across rounds):
    one scope `role`, or `role#1`…`role#count` for parallel samples."""
    return [ctx.child(role)] if count == 1 else [ctx.child(role, k + 1) for k in range(count)]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, iterations: int = 5, samples: int = 1, test_sets: int = 1,
          pass_bar: int | None = None, feedback: bool = True, regenerate_tests: bool = False,
          test_timeout: float = TEST_TIMEOUT, max_failures_shown: int = MAX_FAILURES_SHOWN, tier: str = "auto",
          limits: Limits | None = None, allow_unsafe: bool = False) -> AgentCoder:
    """AgentCoder with the paper's loop (the defaults: preset `paper`); `**PRESETS["code"]` for the
    released code's best-of-n."""
    no_tools("agentcoder", tools)
    return AgentCoder(model, system=system, sampling=sampling, iterations=iterations, samples=samples,
                      test_sets=test_sets, pass_bar=pass_bar, feedback=feedback, regenerate_tests=regenerate_tests,
                      test_timeout=test_timeout, max_failures_shown=max_failures_shown, tier=tier, limits=limits,
                      allow_unsafe=allow_unsafe)
