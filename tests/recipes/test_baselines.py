"""The baseline recipes (cot, cot-sc, self-refine, reflexion, llm-debate): each one's protocol, asserted
on what the model was sent and what came back; then end to end in the harness, replayed from the
journal with a model that cannot answer, and resumed after a SIGKILL in the middle of a parallel stage."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.code import HumanEval
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.recipes import build_recipe
from agentzoo.recipes._answers import final_answer, majority
from agentzoo.recipes import cot as cot_recipe
from agentzoo.recipes import reflexion as reflexion_recipe
from agentzoo.recipes.reflexion import LLMJudge, SelfTests, parse_tests

from baselines_script import play

HERE = Path(__file__).parent
BASELINES = ["cot", "cot-sc", "self-refine", "reflexion", "llm-debate"]


def system_of(request):
    return request.messages[0]["content"]


def user_of(request):
    return [m["content"] for m in request.messages if m["role"] == "user"][-1]


def by_scope(journal, run_id):
    return {scope: row["model_calls"] for scope, row in journal.usage_by_scope(run_id).items()}


class InFlight:
    """An async scripted function that answers via `answer(request)` after a pause, counting how many
    calls are in flight at once and in which order calls started and finished."""

    def __init__(self, answer, pause=0.02):
        self.answer, self.pause = answer, pause
        self.now = self.most = 0
        self.events: list[str] = []

    async def __call__(self, request):
        self.now += 1
        self.most = max(self.most, self.now)
        self.events.append("start")
        await asyncio.sleep(self.pause)
        self.now -= 1
        self.events.append("end")
        return self.answer(request)


# --- final answers and voting ---------------------------------------------------------------------


def test_final_answers_are_recognised_in_their_usual_forms_and_normalised():
    assert final_answer("so 3 + 4 = 7\n#### 1,000") == final_answer("The answer is 1000.") == "1000"
    assert final_answer("...\\boxed{\\frac{1}{2}} ok") == "\\frac{1}{2}"
    assert final_answer("Answer: 12.50") == "12.5" == final_answer("#### 12.5")
    assert final_answer("Paris\n") == "paris" and final_answer("   ") is None
    one = "Here:\n```python\ndef f(x):\n    '''Doc.'''\n    return x+1  # add one\n```"
    two = "```python\ndef f(x):\n    return x + 1\n```"
    assert final_answer(one) == final_answer(two) != final_answer(two.replace("+ 1", "+ 2"))


def test_majority_counts_keys_ignores_answerless_texts_and_breaks_ties_by_first_seen():
    vote = majority(["9", None, "7", "7", "9"])
    assert (vote.winner, vote.key, vote.count, vote.tally) == (0, "9", 2, {"9": 2, "7": 2})  # tie: first seen
    assert majority([None, "7", "9", "7"]).winner == 1
    assert majority([None, None]).winner == 0


# --- cot --------------------------------------------------------------------------------------------


async def test_cot_is_one_greedy_call_whose_reply_is_the_answer():
    model = ScriptedModel(["step 1, step 2\n#### 4"])
    agent = build_recipe("cot", model, system="Be brief.", sampling={"seed": 3},
                         exemplars=[("1+1?", "1 and 1 make 2.\n#### 2")])
    result = await agentzoo.run(agent, "2+2?")
    (request,) = model.requests
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
    assert request.messages[0]["content"].startswith("Be brief.\n\n")
    assert request.messages[1:] == [{"role": "user", "content": "1+1?"},
                                    {"role": "assistant", "content": "1 and 1 make 2.\n#### 2"},
                                    {"role": "user", "content": "2+2?"}]
    assert (request.temperature, request.seed) == (0.0, 3)  # Wei et al.: greedy decoding
    assert result.answer == "step 1, step 2\n#### 4" and result.messages[-1]["content"] == result.answer


async def test_cot_on_math_word_problems_sends_the_papers_eight_exemplars_as_earlier_turns():
    model = ScriptedModel(["... #### 3"] * 3)
    await agentzoo.run(build_recipe("cot", model, task_kind="number"), "What is 1 + 2?")
    few = model.requests[0].messages
    assert [m["role"] for m in few] == ["system"] + ["user", "assistant"] * 8 + ["user"]
    assert few[1]["content"].startswith("There are 15 trees in the grove.")
    assert few[2]["content"].endswith("So there must have been 21 - 15 = 6. The answer is 6.")
    assert few[16]["content"].endswith("23 - 15 is 8. The answer is 8.") and few[-1]["content"] == "What is 1 + 2?"
    # a code task gets no math exemplars; the presets force either form
    await agentzoo.run(build_recipe("cot", model, task_kind="code"), "Write f.")
    await agentzoo.run(build_recipe("cot", model, **cot_recipe.PRESETS["few-shot"]), "What is 1 + 2?")
    assert [m["role"] for m in model.requests[1].messages] == ["system", "user"]
    assert model.requests[2].messages == few
    zero = build_recipe("cot", ScriptedModel([]), task_kind="number", **cot_recipe.PRESETS["zero-shot"])
    assert zero.exemplars == []
    with pytest.raises(ConfigError, match="unknown exemplar set 'aqua'; known: gsm8k"):
        build_recipe("cot", model, few_shot="aqua")


def test_cot_sc_shares_cots_exemplars_and_its_path_count_is_an_option():
    agent = build_recipe("cot-sc", ScriptedModel([]), n=5, task_kind="number")
    assert len(agent.paths) == 5 and all(len(p.exemplars) == 8 for p in agent.paths)
    assert build_recipe("cot-sc", ScriptedModel([]), n=3, **cot_recipe.PRESETS["zero-shot"]).paths[0].exemplars == []


@pytest.mark.parametrize("recipe", BASELINES)
def test_text_baselines_refuse_tools_instead_of_ignoring_them(recipe):
    with pytest.raises(ConfigError, match="calls no tools"):
        build_recipe(recipe, ScriptedModel([]), [lambda: None])


# --- cot-sc -----------------------------------------------------------------------------------------


async def test_cot_sc_samples_n_paths_concurrently_in_their_own_scopes_and_returns_the_majority(journal):
    replies = {10: "a\n#### 9", 11: "b\n#### 7", 12: "c\n#### 9.0", 13: "d\n#### 7", 14: "e\n#### 7"}
    script = InFlight(lambda request: replies[request.seed])
    model = ScriptedModel(script)
    result = await agentzoo.run(build_recipe("cot-sc", model, n=5, sampling={"seed": 10}), "task", journal=journal)
    assert model.calls == 5 and script.most == 5  # all 5 in flight at once
    assert sorted(r.seed for r in model.requests) == [10, 11, 12, 13, 14]
    assert {r.temperature for r in model.requests} == {0.7}
    assert all(r.messages == model.requests[0].messages for r in model.requests)  # the same CoT prompt
    assert result.answer == "b\n#### 7"  # 7 beats 9 three to two; the first path that said 7
    assert by_scope(journal, result.run_id) == {f"path#{i}": 1 for i in range(1, 6)}


def test_cot_sc_defaults_are_the_papers():
    agent = build_recipe("cot-sc", ScriptedModel([]))
    assert len(agent.paths) == 40 and {p.sampling["temperature"] for p in agent.paths} == {0.7}


# --- self-refine ------------------------------------------------------------------------------------

ROLES = {"You review a draft answer": "feedback", "You improve an answer using the reviews": "refine",
         "Solve the task you are given": "generate"}


def role(request):
    return next(name for marker, name in ROLES.items() if marker in system_of(request))


async def test_self_refine_stops_when_the_feedback_says_stop(journal):
    model = ScriptedModel(["draft one\n#### 1", "Step two is wrong.\nVERDICT: REFINE", "draft two\n#### 2",
                           "All good.\nVERDICT: STOP"])
    result = await agentzoo.run(build_recipe("self-refine", model), "the task", journal=journal)
    assert [role(r) for r in model.requests] == ["generate", "feedback", "refine", "feedback"]
    assert result.answer == "draft two\n#### 2"
    feedback, refine, second_feedback = model.requests[1:]
    assert "the task" in user_of(feedback) and "draft one" in user_of(feedback)
    assert all(s in user_of(refine) for s in ("the task", "draft one", "Step two is wrong."))
    assert "draft two" in user_of(second_feedback) and "draft one" not in user_of(second_feedback)
    assert [r.temperature for r in model.requests] == [0.0, 0.7, 0.7, 0.7]
    assert by_scope(journal, result.run_id) == {"generator": 1, "feedback": 2, "refiner": 1}


async def test_self_refine_stops_at_max_iterations_and_refines_from_the_whole_history():
    drafts = iter(f"draft {i}" for i in range(10))
    reviews = iter(f"review {i}\nVERDICT: REFINE" for i in range(10))
    model = ScriptedModel(lambda request: next(reviews) if role(request) == "feedback" else next(drafts))
    result = await agentzoo.run(build_recipe("self-refine", model), "the task")
    assert [role(r) for r in model.requests] == ["generate"] + ["feedback", "refine"] * 4  # 4 iterations
    assert result.answer == "draft 4"
    last_refine = user_of(model.requests[-1])
    assert all(f"draft {i}" in last_refine and f"review {i}" in last_refine for i in range(4))
    assert last_refine.index("draft 0") < last_refine.index("review 0") < last_refine.index("draft 3")


# --- reflexion --------------------------------------------------------------------------------------

REFLEXION = {"You may have tried this task before": "actor", "You check whether an answer": "judge",
             "judged a failure": "reflect"}


def reflexion_role(request):
    return next(name for marker, name in REFLEXION.items() if marker in system_of(request))


async def test_reflexion_carries_the_reflection_into_the_next_trial_and_stops_at_the_first_success(journal):
    model = ScriptedModel(["first try\n#### 5", "Wrong total.\nVERDICT: FAIL",
                           "LESSON-ONE: I forgot the second box.", "second try\n#### 6", "Right.\nVERDICT: PASS"])
    result = await agentzoo.run(build_recipe("reflexion", model), "count the boxes", journal=journal)
    assert [reflexion_role(r) for r in model.requests] == ["actor", "judge", "reflect", "actor", "judge"]
    assert result.answer == "second try\n#### 6"
    first, judge, reflect, second, _ = model.requests
    assert "LESSON" not in user_of(first)
    assert "first try" in user_of(judge) and "count the boxes" in user_of(judge)
    assert all(s in user_of(reflect) for s in ("first try", "Wrong total."))
    assert "LESSON-ONE: I forgot the second box." in user_of(second)
    assert "first try" in user_of(second) and "Wrong total." in user_of(second)  # last attempt and its verdict
    assert by_scope(journal, result.run_id) == {"actor": 2, "evaluator": 2, "reflection": 1}


async def test_reflexion_gives_up_after_max_trials_with_memory_bounded_to_the_last_three_reflections():
    lessons = iter(f"LESSON-{i}" for i in range(1, 10))

    def script(request):
        kind = reflexion_role(request)
        return {"actor": "an attempt", "judge": "VERDICT: FAIL"}.get(kind) or next(lessons)

    model = ScriptedModel(script)
    result = await agentzoo.run(build_recipe("reflexion", model), "task")
    kinds = [reflexion_role(r) for r in model.requests]
    assert kinds == ["actor", "judge", "reflect"] * 4 + ["actor", "judge"]  # 5 trials, no reflection after the last
    assert result.ok and result.answer == "an attempt"
    fifth = user_of(model.requests[-2])
    assert "LESSON-1" not in fifth and all(f"LESSON-{i}" in fifth for i in (2, 3, 4))


def test_reflexion_picks_self_written_tests_for_code_tasks_and_the_judge_for_the_rest():
    model = ScriptedModel([])
    assert isinstance(build_recipe("reflexion", model, task_kind="code").evaluator, SelfTests)  # the paper's setup
    for kind in ("number", "text", "tool-calls", "patch", None):
        assert isinstance(build_recipe("reflexion", model, task_kind=kind).evaluator, LLMJudge)
    # the presets force one evaluator whatever the task
    judged = build_recipe("reflexion", model, task_kind="code", **reflexion_recipe.PRESETS["judge"])
    tested = build_recipe("reflexion", model, task_kind="number", **reflexion_recipe.PRESETS["tests"])
    assert isinstance(judged.evaluator, LLMJudge) and isinstance(tested.evaluator, SelfTests)
    with pytest.raises(ConfigError, match="custom_evaluator"):
        build_recipe("reflexion", model, evaluator=SelfTests(model))


async def test_reflexion_with_self_written_tests_runs_them_in_the_sandbox(journal):
    env = HumanEval()
    task = env.tasks()[2]  # truncate_number
    model = ScriptedModel(play)
    agent = build_recipe("reflexion", model, evaluator="tests")
    assert isinstance(agent.evaluator, SelfTests)
    result = await agentzoo.run(agent, task.prompt, journal=journal)
    entries = list(journal.entries(result.run_id))
    assert [(e.scope, e.kind) for e in entries] == [
        ("actor", "model"), ("evaluator", "model"), ("evaluator", "sandbox"),  # tests written once, then run
        ("reflection", "model"), ("actor", "model"), ("evaluator", "sandbox")]
    assert "Tests failed:\nassert truncate_number(3.5) == 0.5  # output: None" in user_of(model.requests[2])
    assert (await env.score(env.episode(task), result.answer, None)).success


# --- llm-debate -------------------------------------------------------------------------------------


async def test_debate_shows_each_agent_the_others_previous_answers_and_returns_the_majority(journal):
    first = {0: "I think 5.\n#### 5", 1: "I think 6.\n#### 6", 2: "I think 7.\n#### 7"}
    second = {0: "Agent two is right: 6.\n#### 6", 1: "Still 6.\n#### 6", 2: "Still 7.\n#### 7"}

    def answer(request):
        return (second if len(request.messages) > 2 else first)[request.seed]

    script = InFlight(answer)
    model = ScriptedModel(script)
    result = await agentzoo.run(build_recipe("llm-debate", model, sampling={"seed": 0}), "the question",
                                journal=journal)
    assert model.calls == 6 and script.most == 3  # 3 agents × 2 rounds, an agent per branch
    assert script.events[:6] == ["start"] * 3 + ["end"] * 3  # round 2 starts only once round 1 is done
    for request in model.requests[3:]:
        own, others = request.seed, [first[j] for j in range(3) if j != request.seed]
        assert request.messages[:3] == [model.requests[0].messages[0], {"role": "user", "content": "the question"},
                                        {"role": "assistant", "content": first[own]}]
        shown = request.messages[3]["content"]
        assert all(o in shown for o in others) and first[own] not in shown and "the question" in shown
    assert result.answer == "Agent two is right: 6.\n#### 6"  # 6 twice, 7 once; debater#1 said 6 first
    assert by_scope(journal, result.run_id) == {"debater#1": 2, "debater#2": 2, "debater#3": 2}


def test_debate_defaults_are_the_codes_three_agents_by_two_rounds():
    agent = build_recipe("llm-debate", ScriptedModel([]))
    assert (agent.agents, agent.rounds) == (3, 2)


# --- in the harness, replayed, resumed --------------------------------------------------------------

SCOPES = {
    "cot": {"": 1},
    "cot-sc": {f"path#{i}": 1 for i in range(1, 41)},
    "self-refine": {"generator": 1, "feedback": 2, "refiner": 1},
    "reflexion": {"actor": 2, "evaluator": 2, "reflection": 1},
    "llm-debate": {"debater#1": 2, "debater#2": 2, "debater#3": 2},
}
CODE_SCOPES = {"actor": 2, "evaluator": 1, "reflection": 1}


async def test_every_baseline_succeeds_in_the_harness_with_calls_per_role(tmp_path):
    envs = {"humaneval": HumanEval(), "gsm8k": GSM8K()}
    model = f"scripted:{HERE / 'baselines_script.py'}:play"
    samples = expand(envs, BASELINES, [model], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=4))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(rows) == 20 and progress.succeeded == 20
    for row in rows:
        assert row["success"], (row["agent"], row["task"], row["score"], row["error"])
        calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items()}
        # On HumanEval (answers are code) reflexion checks attempts with self-written tests: the tests
        # are written once, then run in the sandbox, so the evaluator makes one model call, not two.
        expected = CODE_SCOPES if (row["agent"], row["env"]) == ("reflexion", "humaneval") else SCOPES[row["agent"]]
        assert calls == expected, (row["agent"], row["env"])
        assert row["model_calls"] == sum(calls.values())
        assert all(usage["input_tokens"] > 0 and usage["output_tokens"] > 0 for usage in row["scopes"].values())


@pytest.mark.parametrize("recipe", BASELINES)
async def test_replay_makes_no_model_call_and_gives_the_same_answer(recipe, journal):
    task = GSM8K().tasks()[1].prompt
    live = await agentzoo.run(build_recipe(recipe, ScriptedModel(play), sampling={"seed": 0}), task, journal=journal)
    assert live.ok and live.model_calls == sum(SCOPES[recipe].values())
    silent = ScriptedModel([])  # raises if it is ever called
    again = await agentzoo.replay(build_recipe(recipe, silent, sampling={"seed": 0}), live.run_id, journal=journal)
    assert (again.answer, again.model_calls, again.live_effects, silent.calls) == (live.answer, live.model_calls, 0, 0)


async def test_replay_of_reflexion_with_tests_runs_no_code(journal):
    task = HumanEval().tasks()[2].prompt
    live = await agentzoo.run(build_recipe("reflexion", ScriptedModel(play), evaluator="tests"), task, journal=journal)
    silent = ScriptedModel([])
    again = await agentzoo.replay(build_recipe("reflexion", silent, evaluator="tests"), live.run_id, journal=journal)
    assert (again.answer, again.live_effects, silent.calls) == (live.answer, 0, 0)


@pytest.mark.parametrize("recipe,options,total,kill_after", [
    ("cot-sc", {"n": 6}, 6, 2),         # 2 of the 6 parallel paths recorded, 4 in flight
    ("llm-debate", {}, 6, 4),            # round 1 recorded, 1 of round 2's 3 parallel turns too
])
async def test_a_run_killed_in_a_parallel_stage_resumes_without_repeating_a_finished_call(
        tmp_path, recipe, options, total, kill_after):
    task = GSM8K().tasks()[3].prompt
    reference = await agentzoo.run(build_recipe(recipe, ScriptedModel(play), sampling={"seed": 0}, **options), task)
    (tmp_path / "task.txt").write_text(task)
    journal_path = tmp_path / "j.db"
    child = subprocess.run([sys.executable, HERE / "crash_baselines.py", journal_path, recipe, tmp_path / "task.txt",
                            str(kill_after), json.dumps(options)], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    with Journal(journal_path) as journal:
        run = journal.get_run("latest")
        assert run.status == "running"
        recorded = [e for e in journal.entries(run.run_id) if e.kind == "model"]
        assert len(recorded) >= kill_after  # branches that end in the same loop turn share a commit
        model = ScriptedModel(play)
        resumed = await agentzoo.resume(build_recipe(recipe, model, sampling={"seed": 0}, **options), run.run_id,
                                        journal=journal)
        assert resumed.ok and resumed.answer == reference.answer
        assert model.calls == total - len(recorded)  # only the calls that were not recorded are made
        made = {(r.seed, len(r.messages)) for r in model.requests}  # branch (seed) and round (length)
        assert not made & {(e.request.get("seed"), len(e.request["messages"])) for e in recorded}
        keys = [e.key for e in journal.entries(run.run_id)]
        assert len(keys) == len(set(keys)) == total and journal.get_run(run.run_id).status == "finished"


def test_only_single_line_assert_statements_count_as_tests():
    text = "Tests:\n```python\nassert f(1) == 2\nassertEqual(f(1), 2)\nassert f(2) ==\nassert f(3) == 4; g()\n```"
    assert parse_tests(text + "\nassert f(1) == 2\nassert f(5) == 6") == ["assert f(1) == 2", "assert f(5) == 6"]


async def test_code_that_never_ends_fails_its_tests_with_a_timeout(journal):
    evaluator = SelfTests(ScriptedModel(["```python\nassert spin() == 1\n```"]), timeout=0.5)
    agent = build_recipe("reflexion", ScriptedModel(["```python\ndef spin():\n    while True:\n        pass\n```",
                                                     "it hangs", "```python\ndef spin():\n    return 1\n```"]),
                         custom_evaluator=evaluator)
    result = await agentzoo.run(agent, "Write spin().", journal=journal)
    reflect = next(e for e in journal.entries(result.run_id) if e.scope == "reflection")
    judged = reflect.request["messages"][1]["content"]
    assert "could not be tested: TimeoutError" in judged and "assert spin() == 1" in judged
    assert result.answer.endswith("return 1\n```")
