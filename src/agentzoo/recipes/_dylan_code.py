"""DyLAN's network for code generation (#41): coders, and judges between their rounds.

The paper runs code generation (HumanEval) on its own network: coding agents answer in rounds as
in the general network, and between two rounds a layer of judges reviews every implementation of
the round before; the coders of the next round are shown the implementations with the judges'
feedback and rate how helpful each judge was. Agent importance flows back through the judges
too, so team optimisation can pick coders and judges alike. Checked against SALT-NLP/DyLAN
`code/HumanEval/{CoLLMLP,LLM_Neuron,prompt_lib,utils,llmlp_listwise_human_eval,exp_human_eval.sh}`
(commit ce6dd87; prompt_lib and utils at 59020c4 / 572341b):

- coders `PythonAssistant, AlgorithmDeveloper, ComputerScientist, Programmer` and judges
  `Passer, Tester, Reflector, Ranker` (`exp_human_eval.sh`); 3 rounds (`CoLLMLP(..., 3, ...)`);
  temperature 0.8, 1,024 tokens (`prompt_lib.TEMPERATURE`, `MAX_TOKENS`);
- judges: **Passer** (the syntax checker, a program: the code runs or it does not; rates 5 or 0),
  **Tester** (writes unit tests once per layer, at most 10 asserts, and runs them on every
  implementation; rates ⌈passed/total · 5⌉), **Reflector**, **Debugger** and **QualityManager**
  (a model writes one review per implementation and rates each 1-5 in `[[…]]`), **Ranker** (a
  model picks the best 2 implementations, which are then the only ones the coders see; rates
  5 or 0; with 2 or fewer it picks both without a call);
- a coder rates the judges other than the Ranker in `[[…]]`; the Ranker's edge gets 3
  (`LLMNeuron.activate`); ratings → weights as in the general network;
- no agreement check in the first round (commented out upstream); from the second, the general
  network's check, counting only code that runs, compared by sentence BLEU ≥ 0.9
  (`CODE_THRESHOLD`); from the third round the listwise ranker keeps the best 2 coders when there
  are more than 2 (`if self.agents > 2`);
- the answer: the last round's implementation that passes the most of all the generated tests
  (`all_tests_and_get_final_result`), also after an early stop;
- importance: the last round's nodes whose code runs share 1 (`backward`: `check_function_result`
  on the task and the code), then back through the judges to the first round.

Where this differs from upstream, on purpose: the final answer is chosen among the last round that
ran (upstream's `all_tests_and_get_final_result` reads the first round's nodes, an indexing
slip), the first of the best on a tie (upstream picks at random, and widens the ties to one test
fewer when fewer than 5 are tied), each failing test reports what the call returned or raised in
our sandbox, the Tester keeps the first 10 parsed asserts (upstream keeps 10 of a set), and the
prompts are our own wording (`prompts/dylan/code_*.j2`, `judge_*.j2`, `judges.yaml`,
`code_roles.yaml`). Every program runs in one warm sandbox per run, each run a journaled
`sandbox/exec` effect in the scope of the node (or of `tests`, for the final choice).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..sandbox import Limits
from ..teams.layered import Activation, LayeredNetwork, NetworkResult, Node
from ..types import ModelRequest
from ._code_tests import (CodeTask, Suite, TestExecutor, TestRun, answer_code, fenced, merge_suites, parse_tests,
                          program_code, reply_code)

PROMPTS = Path(__file__).parent / "prompts" / "dylan"
CODE_ROLES = ("PythonAssistant", "AlgorithmDeveloper", "ComputerScientist", "Programmer")  # exp_human_eval.sh
CODE_JUDGES = ("Passer", "Tester", "Reflector", "Ranker")                                  # exp_human_eval.sh
REVIEWERS = ("Reflector", "Debugger", "QualityManager")
TEMPERATURE = 0.8          # code/HumanEval/prompt_lib.py TEMPERATURE
MAX_TOKENS = 1024          # code/HumanEval/prompt_lib.py MAX_TOKENS
SELECT_IF_MORE_THAN = 2    # CoLLMLP.forward: `if self.agents > 2` before the listwise ranker
MAX_TESTS = 10             # utils.parse_judge_attitude: at most 10 tests
TEST_TIMEOUT = 5.0         # utils.check_function_result(timeout=5.0)
RANKER_WEIGHT = 3          # LLMNeuron.activate: the coder's edge from a Ranker judge
CONSENSUS_FROM = 1         # CoLLMLP.forward: round 1's consensus check is commented out


def _yaml(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((PROMPTS / name).read_text(encoding="utf-8"))


def code_roles() -> dict[str, str]:
    return _yaml("code_roles.yaml")


def judge_kinds() -> dict[str, dict[str, str]]:
    return _yaml("judges.yaml")


@dataclass(frozen=True)
class Review:
    """A judge's verdict on the implementations it was shown (a judge node's `answer`)."""

    kind: str
    title: str
    codes: dict[int, str]
    """The code of each implementation judged, by the agent that wrote it."""
    feedback: dict[int, str] = field(default_factory=dict)
    """What it says about each implementation (empty for the Ranker)."""
    chosen: tuple[int, ...] | None = None
    """The Ranker's picks (agents); None for the other judges."""
    tests: Suite | None = None
    """The Tester's tests."""


class Bench:
    """Runs implementations (and tests on them) for one network run, in one warm sandbox."""

    def __init__(self, task: CodeTask, executor: TestExecutor) -> None:
        self.task, self.executor = task, executor

    def program(self, reply: str) -> str:
        return program_code(self.task, reply_code(reply))

    async def load(self, ctx: Context, reply: str) -> TestRun:
        """Run the reply's code alone: does it run?"""
        return await self.executor.run(ctx, self.program(reply), [])

    async def test(self, ctx: Context, reply: str, suites: Sequence[Suite]) -> TestRun:
        return await self.executor.run(ctx, self.program(reply), suites)


def _error_text(error: dict[str, str] | None) -> str:
    return f"{error['type']}: {error['message']}".rstrip(": ") if error else ""


class Coder:
    """A coding agent: writes the function; after the judges, improves it and rates the judges."""

    def __init__(self, model: Model, role: str, description: str, bench: Bench, *, system: str | None,
                 options: dict[str, Any]) -> None:
        self.model, self.name, self.bench, self.options = model, role, bench, options
        self.system = render(PROMPTS / "code_system.j2", role=description, system=system)

    async def activate(self, task: str, shown: Sequence[Node], round: int, ctx: Context) -> Activation:
        reviews: list[Review] = [node.answer for node in shown]
        rated = [r.title for r in reviews if r.kind != "Ranker"]
        if shown:
            prompt = render(PROMPTS / "code_respond.j2", task=task, impls=_implementations(shown), rated=rated)
        else:
            prompt = render(PROMPTS / "code_first.j2", task=task, stub=self.bench.task.stub)
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": prompt}]
        reply = (await ctx.model(self.model, ModelRequest(messages=messages, **self.options))).text
        run = await self.bench.load(ctx, reply)
        answer = answer_code(self.bench.task, reply_code(reply)) if run.code_error is None else None
        return Activation(reply, answer, _judge_ratings(reply, reviews) if shown else ())


def _implementations(shown: Sequence[Node]) -> list[dict[str, Any]]:
    """The implementations a coder sees after the judges: in the order the first judge saw them,
    only the Ranker's picks when a Ranker judged, each with every other judge's feedback."""
    reviews: list[Review] = [node.answer for node in shown]
    order = list(shown[0].shown)
    for review in reviews:
        if review.chosen is not None:
            order = [a for a in order if a in review.chosen]
    return [{"code": reviews[0].codes[a],
             "feedback": [(r.title, r.feedback.get(a, "")) for r in reviews if r.kind != "Ranker"]} for a in order]


def _judge_ratings(reply: str, reviews: Sequence[Review]) -> tuple[int, ...]:
    """The coder's ratings of the judges, in the order shown: its `[[…]]` for the judges other than
    the Ranker, `RANKER_WEIGHT` for a Ranker; () (equal weights) when the count is wrong."""
    from .dylan import parse_ratings

    given = parse_ratings(reply)
    if len(given) != sum(r.kind != "Ranker" for r in reviews):
        return ()
    it = iter(given)
    return tuple(RANKER_WEIGHT if r.kind == "Ranker" else next(it) for r in reviews)


class Judge:
    """One judge of the code network; `kind` is one of `judges.yaml`'s."""

    def __init__(self, model: Model, kind: str, bench: Bench, *, options: dict[str, Any], max_tests: int,
                 k: int = 2) -> None:
        kinds = judge_kinds()
        if kind not in kinds:
            raise ConfigError(f"dylan: unknown judge {kind!r}; known: {', '.join(kinds)}")
        self.model, self.name, self.kind, self.bench = model, kind, kind, bench
        self.title, self.instruction = kinds[kind]["title"], kinds[kind].get("task", "")
        self.options, self.max_tests, self.k = options, max_tests, k

    async def activate(self, task: str, shown: Sequence[Node], round: int, ctx: Context) -> Activation:
        codes = {node.agent: answer_code(self.bench.task, reply_code(node.reply)) for node in shown}
        judge = {"Passer": self._syntax, "Tester": self._tests, "Ranker": self._rank}.get(self.kind, self._review)
        return await judge(task, shown, codes, ctx)

    async def _ask(self, ctx: Context, prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        return (await ctx.model(self.model, ModelRequest(messages=messages, **self.options))).text

    async def _syntax(self, task: str, shown: Sequence[Node], codes: dict[int, str], ctx: Context) -> Activation:
        feedback, ratings = {}, []
        for node in shown:
            run = await self.bench.load(ctx, node.reply)
            feedback[node.agent] = render(PROMPTS / "syntax_check.j2", error=_error_text(run.code_error))
            ratings.append(5 if run.code_error is None else 0)
        reply = "\n".join(f"{self.title} {i}: {feedback[n.agent]}" for i, n in enumerate(shown, 1))
        return Activation(reply, Review(self.kind, self.title, codes, feedback), ratings)

    async def _tests(self, task: str, shown: Sequence[Node], codes: dict[int, str], ctx: Context) -> Activation:
        reply = await self._ask(ctx, render(PROMPTS / "judge_tests.j2", task=task, max_tests=self.max_tests))
        suite = parse_tests(reply, self.bench.task.entry_point)
        suite = Suite(suite.setup, suite.tests[: self.max_tests])
        feedback: dict[int, str] = {}
        ratings: list[int] = []
        for node in shown:
            if not suite.tests:  # nothing to run: no feedback, equal weights (as upstream)
                feedback[node.agent] = ""
                continue
            run = await self.bench.test(ctx, node.reply, [suite])
            failed = [{"test": o.test, "why": f"output: {o.got}" if o.got is not None else _error_text(o.error)}
                      for o in run.failures]
            feedback[node.agent] = render(PROMPTS / "test_results.j2",
                                          passed=[o.test for o in run.outcomes if o.passed], failed=failed)
            ratings.append(math.ceil(run.passed / run.total * 5))
        return Activation(reply, Review(self.kind, self.title, codes, feedback, tests=suite), ratings)

    async def _review(self, task: str, shown: Sequence[Node], codes: dict[int, str], ctx: Context) -> Activation:
        from .dylan import parse_ratings

        listed = [codes[node.agent] for node in shown]
        reply = await self._ask(ctx, render(PROMPTS / "judge_review.j2", task=task, codes=listed,
                                            instruction=self.instruction))
        sections = review_sections(reply, len(shown))
        feedback = {node.agent: sections[i] for i, node in enumerate(shown)}
        return Activation(reply, Review(self.kind, self.title, codes, feedback), parse_ratings(reply))

    async def _rank(self, task: str, shown: Sequence[Node], codes: dict[int, str], ctx: Context) -> Activation:
        from .dylan import parse_ranking

        if len(shown) <= self.k:  # nothing to choose: all of them, no call (upstream: "[1, 2]")
            picked, reply = list(range(len(shown))), f"[{', '.join(str(i + 1) for i in range(len(shown)))}]"
        else:
            replies = [fenced(codes[node.agent]) for node in shown]
            reply = await self._ask(ctx, render(PROMPTS / "rank.j2", task=task, replies=replies, k=self.k))
            picked = parse_ranking(reply, self.k, len(shown))
        chosen = tuple(dict.fromkeys(shown[p].agent for p in picked))
        ratings = [5 if node.agent in chosen else 0 for node in shown]
        return Activation(reply, Review(self.kind, self.title, codes, chosen=chosen), ratings)


_REVIEW = re.compile(r"^[ \t]*\[review[ \t]+(\d+)\][ \t]*:?[ \t]*", re.M | re.I)
_RATINGS = re.compile(r"\[\[.*?\]\]", re.S)


def review_sections(reply: str, n: int) -> list[str]:
    """What a reviewing judge wrote about each of `n` implementations: the text after each
    `[review i]` line (its `[[…]]` ratings left out); "" for an implementation it skipped."""
    sections = [""] * n
    marks = list(_REVIEW.finditer(reply))
    for here, after in zip(marks, marks[1:] + [None]):
        i = int(here.group(1)) - 1
        if 0 <= i < n:
            text = reply[here.end():after.start() if after else len(reply)]
            sections[i] = _RATINGS.sub("", text).strip()
    return sections


class CodeNetwork:
    """Builds and runs the code network for one task (its sandbox lives for the run)."""

    def __init__(self, model: Model, task: CodeTask, *, roles: Sequence[str], judges: Sequence[str],
                 system: str | None, options: dict[str, Any], similarity: float, max_tests: int,
                 test_timeout: float, network: dict[str, Any], tier: str, limits: Limits | None,
                 allow_unsafe: bool) -> None:
        known = code_roles()
        unknown = [r for r in roles if r not in known]
        if unknown:
            raise ConfigError(f"dylan: unknown coding roles {unknown}; known: {', '.join(known)}")
        self.model, self.task, self.roles, self.judges = model, task, list(roles), list(judges)
        self.system, self.options, self.similarity = system, options, similarity
        self.max_tests, self.network = max_tests, network
        self.executor_options = {"tier": tier, "limits": limits, "allow_unsafe": allow_unsafe,
                                 "test_timeout": test_timeout}

    async def run(self, ctx: Context, selector: Any) -> NetworkResult:
        from .dylan import sentence_bleu

        executor = TestExecutor(**self.executor_options)
        bench = Bench(self.task, executor)
        descriptions = code_roles()
        coders = [Coder(self.model, role, descriptions[role], bench, system=self.system, options=self.options)
                  for role in self.roles]
        judges = [Judge(self.model, kind, bench, options=self.options, max_tests=self.max_tests)
                  for kind in self.judges]

        async def decide(task: str, nodes: Sequence[Node], layers: Sequence[Sequence[Node]],
                         net_ctx: Context) -> Node:
            """The last round's code that passes the most of all generated tests (the first such);
            with no tests, the first code that runs. Called once per run."""
            suites = merge_suites(n.answer.tests for layer in layers for n in layer
                                  if isinstance(n.answer, Review) and n.answer.tests is not None)
            if not suites:
                return next((n for n in nodes if n.answer is not None), nodes[0])
            tests_ctx = net_ctx.child("tests")
            passed = [(await bench.test(tests_ctx, n.reply, suites)).passed for n in nodes]
            return nodes[passed.index(max(passed))]

        network = LayeredNetwork(coders, judges=judges, equal=lambda a, b: sentence_bleu(a, b) >= self.similarity,
                                 selector=selector, correct=lambda n: n.answer is not None, decide=decide,
                                 consensus_from=CONSENSUS_FROM, name="dylan", **self.network)
        try:
            result = await network.run(self.task.text, ctx)
        finally:
            await executor.close()
        code = answer_code(self.task, reply_code(result.answer))
        result.answer, result.value = fenced(code), code
        return result
