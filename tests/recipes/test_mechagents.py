"""mechagents (#23): planner, scientist, engineer, executor (the sandbox) and critic on one group-chat thread; a
traceback hands the turn to the engineer with the traceback in its prompt; replay runs no code and calls no
model; a harness run on gsm8k with scripted roles; the local model."""

import json

import pytest

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.mechagents import latest_code
from agentzoo.runtime import runner

TASK = "A spring with k = 200 N/m holds a 4 kg mass (g = 10 m/s^2). Extension in cm? End with `#### <number>`."


def roles():
    """The engineer's first program divides by zero; its second prints 20; the critic accepts."""
    engineer_turns = []

    def reply(request):
        system = request.messages[0]["content"]
        if system.startswith("You are the planner"):
            return "1. Formulate Hooke's law. 2. Compute. 3. Check units."
        if system.startswith("You are the scientist"):
            return "k x = m g, so x = m g / k, in metres; times 100 for cm."
        if system.startswith("You are the engineer"):
            engineer_turns.append(request.messages[-1]["content"])
            if len(engineer_turns) == 1:
                return "```python\nk, m, g = 200, 4, 10\nx = m * g / 0\nprint(x * 100)\n```"
            return "```python\nk, m, g = 200, 4, 10\nprint(m * g / k * 100)\n```"
        if system.startswith("You are the critic"):
            return "The extension is 20 cm.\n#### 20\nTERMINATE"
        raise AssertionError(system[:80])

    model = ScriptedModel(reply)
    return model, engineer_turns


async def test_a_traceback_hands_the_turn_to_the_engineer_whose_prompt_holds_it(journal):
    model, engineer_turns = roles()
    result = await runner.run(build_recipe("mechagents", model), TASK, journal=journal)
    assert result.ok, result.error
    entries = [e for e in journal.entries(result.run_id) if e.kind in ("model", "sandbox")]
    speakers = [e.scope.split("/")[0] for e in entries]
    assert speakers == ["planner", "scientist", "engineer", "executor", "engineer#2", "executor#2", "critic"]
    assert len(engineer_turns) == 2
    assert "ZeroDivisionError: division by zero" in engineer_turns[1] and "Traceback" in engineer_turns[1]
    assert "ZeroDivisionError" not in engineer_turns[0]
    assert "The code ran (exit code 0). Output:\n20.0" in next(
        r.messages[-1]["content"] for r in model.requests if r.messages[0]["content"].startswith("You are the critic"))
    assert result.answer == "The extension is 20 cm.\n#### 20"


async def test_replay_runs_no_code_and_calls_no_model(journal):
    model, _ = roles()
    result = await runner.run(build_recipe("mechagents", model), TASK, journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("mechagents", again), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


def test_the_executor_runs_the_engineers_latest_block_only():
    prompt = ("task\n\n[engineer]\n```python\nprint(1)\n```\n\n[executor]\nok\n\n[critic]\n```python\nprint(3)\n```"
              "\n\n[engineer]\nFixed:\n```python\nprint(2)\n```\n")
    assert latest_code(prompt) == "print(2)\n"
    assert latest_code("[planner]\nno code") is None
    with pytest.raises(ConfigError, match="selector must be one of rule, auto"):
        build_recipe("mechagents", ScriptedModel([]), selector="llm")


async def test_a_harness_run_on_gsm8k_with_scripted_roles_runs_the_code_and_is_scored(tmp_path):
    env = GSM8K()
    task = env.tasks()[0]  # Janet's ducks: 18
    script = tmp_path / "roles.json"
    script.write_text(json.dumps(["Plan: eggs left times price.", "(16 - 3 - 4) * 2 dollars.",
                                  "```python\nprint((16 - 3 - 4) * 2)\n```", "She makes $18.\n#### 18\nTERMINATE"]))
    await run_eval([Sample("gsm8k", task, "mechagents", f"scripted:{script}", 0)], {"gsm8k": env},
                   EvalConfig(out=tmp_path / "out"))
    store = ResultStore(tmp_path / "out" / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["success"] and row["model_calls"] == 4, row


async def test_the_shipped_local_model_takes_the_planners_turn(journal):
    """SmolLM2-135M as the planner, one turn: the mechanics (1 short call)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=2048&max_tokens=32")
    result = await runner.run(build_recipe("mechagents", model, max_turns=1), TASK, journal=journal)
    assert result.ok, result.error
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "model"] == ["planner"]


async def test_numeric_problems_scores_within_one_percent_and_a_harness_run_computes_the_answer(tmp_path):
    from agentzoo.envs.base import ScoringContext
    from agentzoo.envs.numeric_problems import NumericProblems

    env = NumericProblems()
    task = next(t for t in env.tasks() if t.id == "numeric-problems/pendulum-period")
    episode = env.episode(task)
    assert (await env.score(episode, "T = 2.84 s\n#### 2.84", ScoringContext())).success       # 0.1% off
    assert not (await env.score(episode, "#### 2.9", ScoringContext())).success                 # 2% off
    assert not (await env.score(episode, "no number", ScoringContext())).success
    script = tmp_path / "roles.json"
    script.write_text(json.dumps(["Plan: T = 2 pi sqrt(L/g).", "L = 2 m, g = 9.81 m/s^2.",
                                  "```python\nimport math\nprint(2 * math.pi * math.sqrt(2 / 9.81))\n```",
                                  "The period is 2.837 s.\n#### 2.837\nTERMINATE"]))
    await run_eval([Sample(env.name, task, "mechagents", f"scripted:{script}", 0)], {env.name: env},
                   EvalConfig(out=tmp_path / "out"))
    store = ResultStore(tmp_path / "out" / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["success"] and row["score"]["got"] == "2.837", row
