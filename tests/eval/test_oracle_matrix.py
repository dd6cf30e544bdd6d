"""The oracle plays every role of every recipe on every environment the recipe declares, through the
harness, and scores 100%; every other recipe × environment pair is refused before any model call.

The matrix is every registered recipe (`agentzoo.recipes.RECIPES`) × every registered environment
(`agentzoo.envs.registry.ENVIRONMENTS`): a pair is declared when the environment's `answer_kind` is
one of the recipe's `ANSWER_KINDS`. Sandboxes are real (`tier="auto"`): the recipes' generated tests,
the environments' scorers and the Coder's code all run.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import re
import subprocess
import sys
from functools import cache

import pytest

from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.envs.registry import ENVIRONMENTS, get_env
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample, expand
from agentzoo.eval.pairs import acts_in, answer_kinds, check_pair, env_answer_kind
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import RECIPES
from agentzoo.recipes._oracle import PLAYERS
from agentzoo.runtime.journal import Journal

FIRST = 3  # tasks per environment: the first three, and for BFCL the first of every other category too
PAIRS = [(recipe, env) for recipe in sorted(RECIPES) for env in sorted(ENVIRONMENTS)]
FUNCTION_GOLD = {"webworld"}
"""Environments whose oracle answers as a function of the request (webworld finds element ids on each page)."""
LIST_PLAYERS = {"ioa", "ltl", "magentic-one", "magentic-one-legacy"}
"""Recipes whose oracle players replay a list of gold steps: they play every other environment, not those."""
LONG_GOLD = {"kitchen"}
"""Environments whose gold runs past 20 actions (a kitchen task takes 25 to 80 steps): the list players' recipes
stop at 20 replies or turns by default, so they cannot finish one."""


def declared(recipe: str, env: str) -> bool:
    """The answer kinds meet, and the recipe acts in that environment when it names where it acts (`ACTS_IN`)."""
    return env_answer_kind(env) in (answer_kinds(recipe) or ()) and env in (acts_in(recipe) or (env,))


@cache
def environment(name: str):
    return get_env(name)


def tasks_of(name: str) -> list:
    tasks = environment(name).tasks()
    chosen = tasks[:FIRST]
    if name == "bfcl":  # simple, multiple, parallel, parallel-multiple and irrelevance each answer differently
        firsts = {t.data["category"]: t for t in reversed(tasks)}
        chosen += [t for t in firsts.values() if t not in chosen]
    return chosen


def rows(out) -> list[dict]:
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


async def run_pair(recipe: str, env, tasks, out) -> list[dict]:
    samples = [Sample(env.name, task, recipe, "oracle", 0) for task in tasks]
    await run_eval(samples, {env.name: env}, EvalConfig(out=out, concurrency=4))
    return rows(out)


def test_every_recipe_declares_its_answer_kinds_and_has_an_oracle_player():
    assert set(PLAYERS) == set(RECIPES)
    for recipe in RECIPES:
        assert callable(PLAYERS[recipe]), recipe  # each imported when first asked for: every entry resolves
        kinds = answer_kinds(recipe)
        assert kinds and set(kinds) <= {"number", "text", "code", "tool-calls", "patch", "simulation"}, recipe
    assert {name: env_answer_kind(name) for name in ENVIRONMENTS} == {
        "humaneval": "code", "mbpp": "code", "gsm8k": "number", "bfcl": "tool-calls", "tau-retail": "tool-calls",
        "tau-airline": "tool-calls", "seeded-bugs": "patch", "gridworld": "tool-calls", "screens": "tool-calls",
        "webworld": "tool-calls", "textworld": "tool-calls", "m3tooleval": "tool-calls", "miniwob": "tool-calls",
        "town": "simulation",
        "kitchen": "tool-calls",
        "persona-sessions": "text", "mlagentbench": "tool-calls", "concordia-scenes": "simulation",
        "populations": "simulation", "mt-dialogues": "tool-calls",
        "judge-pairs": "text",
        "agent-defects": "text",
        "numeric-problems": "number",
        "repo-install": "tool-calls",
        "catalogue-search": "tool-calls",
        "proactive-events": "tool-calls",
        "core-bench": "tool-calls"}


@pytest.mark.parametrize(("recipe", "env_name"), PAIRS, ids=[f"{r}-{e}" for r, e in PAIRS])
async def test_the_oracle_scores_100_percent_on_declared_pairs_and_other_pairs_are_refused(recipe, env_name, tmp_path):
    env = environment(env_name)
    tasks = tasks_of(env_name)
    if declared(recipe, env_name):
        check_pair(recipe, env)  # passes
        if env_name in FUNCTION_GOLD and recipe in LIST_PLAYERS:
            pytest.skip(f"{env_name}'s oracle is a function of each page (element ids are read from the observation); "
                        f"{recipe}'s oracle player replays a list of gold steps, so it cannot follow it yet")
        if env_name in LONG_GOLD and recipe in LIST_PLAYERS:
            pytest.skip(f"{env_name}'s gold is longer than the 20 steps {recipe} takes by default")
        got = await run_pair(recipe, env, tasks, tmp_path)
        failed = {r["task"]: (r["status"], r["error"], r["score"]) for r in got if not r["success"]}
        assert not failed
        assert len(got) == len(tasks) and all(r["reward"] == 1.0 for r in got)
        return
    with pytest.raises(ConfigError) as refused:
        check_pair(recipe, env)
    message = str(refused.value)
    kind = env_answer_kind(env_name)
    assert f"agent {recipe!r}" in message and f"{env_name!r}" in message
    if env_name not in (acts_in(recipe) or (env_name,)):
        assert f"acts only in {', '.join(acts_in(recipe))}" in message
    else:
        assert f"scores {kind} answers" in message and f"produces only {', '.join(answer_kinds(recipe))}" in message
    # Through the harness too: refused before the agent runs, so no run and no model call.
    with pytest.raises(ConfigError, match="cannot be evaluated"):
        await run_pair(recipe, env, tasks[:1], tmp_path)
    journal = Journal(tmp_path / "journal.db")
    try:
        assert journal.list_runs() == []
    finally:
        journal.close()
    assert rows(tmp_path) == []


async def test_the_asserts_the_oracle_gives_test_writers_pass_on_the_gold():
    """Every HumanEval task's `oracle_tests` (and the first MBPP ones'), run on its gold code in the sandbox."""
    from agentzoo.envs.code import MBPP, extract_code
    from agentzoo.sandbox import Limits, Sandbox

    cases = [(t.id, extract_code(env.oracle(t, "tool-calling")[0]), env.oracle_tests(t))
             for env, tasks in ((HumanEval(), None), (MBPP(), 60)) for t in env.tasks()[:tasks]]
    assert sum(bool(tests) for _, _, tests in cases) >= len(cases) - 5  # HumanEval has 3 tasks without any
    program = (f"import json\nfailed = {{}}\nfor task, code, tests in {cases!r}:\n    ns = {{}}\n    try:\n"
               "        exec(code, ns)\n        for test in tests:\n            exec(test, ns)\n"
               "    except BaseException as e:\n        failed[task] = repr(e)[:200]\nprint(json.dumps(failed))\n")
    async with Sandbox(tier="auto", limits=Limits(wall_seconds=120)) as sandbox:
        result = await sandbox.execute(program, timeout=100)
    assert result.ok, result.error
    assert json.loads(result.stdout.strip().split("\n")[-1]) == {}


# --- the scoring is real: a perturbed gold scores less --------------------------------------------


class WrongHumanEval(HumanEval):
    """HumanEval whose oracle writes a wrong function (its body returns None); tests and scorer unchanged."""

    def oracle(self, task, agent):
        return super().oracle(dataclasses.replace(task, gold="    return None\n"), agent)


class OffByOneGSM8K(GSM8K):
    """GSM8K whose oracle's worked solution ends with the gold number plus one."""

    def oracle(self, task, agent):
        solution = re.sub(r"#### (\S+)\s*$", lambda m: f"#### {int(m.group(1).replace(',', '')) + 1}",
                          task.data["solution"])
        return super().oracle(dataclasses.replace(task, data={**task.data, "solution": solution}), agent)


@pytest.mark.parametrize(("recipe", "env"), [("agentcoder", WrongHumanEval()), ("cot-sc", OffByOneGSM8K())],
                         ids=["agentcoder-humaneval", "cot-sc-gsm8k"])
async def test_a_perturbed_gold_scores_zero(recipe, env, tmp_path):
    got = await run_pair(recipe, env, env.tasks()[:FIRST], tmp_path)
    assert len(got) == FIRST and not any(r["success"] for r in got)
    if recipe == "agentcoder":
        # The designer's asserts (the benchmark's own) really ran on the wrong function and failed, so the
        # programmer was sent the failures 5 times: 1 designer call + 6 programmer calls.
        assert all(r["model_calls"] == 7 for r in got)
        assert all(r["score"]["passed"] is False for r in got)
    else:
        assert all(r["score"]["got"] == str(int(r["score"]["expected"]) + 1) for r in got)


# --- a failing configuration is not logged as a stray traceback -----------------------------------


async def test_parallel_branches_that_all_fail_leave_no_unretrieved_task_exception(tmp_path, caplog):
    """A one-step script for cot-sc's 40 parallel paths: every path after the first fails at once. The
    sample fails with the script's error, and asyncio has nothing to log ("Task exception was never
    retrieved"), because the team reads every branch's error."""
    script = tmp_path / "one_step.json"
    script.write_text(json.dumps(["#### 18"]))
    env = GSM8K()
    samples = expand({"gsm8k": env}, ["cot-sc"], [f"scripted:{script}"], 1, limit=1)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        await run_eval(samples, {"gsm8k": env}, EvalConfig(out=tmp_path / "out"))
        gc.collect()
    (row,) = rows(tmp_path / "out")
    assert row["status"] == "failed" and row["error"]["type"] == "ScriptExhausted"
    assert "never retrieved" not in caplog.text


def test_the_oracle_of_a_built_in_agent_imports_no_recipe_player():
    # An eval of `tool-calling` with the oracle (and each of its worker processes) must not import
    # the 40-odd recipe players and their recipes: that was a third of a worker's start.
    code = ("import sys; from agentzoo.recipes._oracle import oracle_model; from agentzoo.envs.gsm8k import GSM8K; "
            "env = GSM8K(); oracle_model('tool-calling', env, env.tasks()[0]); "
            "print(sorted(m for m in sys.modules if m.startswith('agentzoo.recipes.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "agentzoo.recipes.aegis" not in out and "agentzoo.recipes._oracle.aegis" not in out, out
