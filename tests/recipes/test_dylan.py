"""DyLAN (#41): the protocol test (early stop at the paper's threshold, importance scores that sum
as in the paper), whole prompts per round, the harness end to end, replay, and resume after a
SIGKILL in the middle of a concurrent batch."""

from __future__ import annotations

import json
import os
import re
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
from agentzoo.recipes.dylan import (answer_kind, build, parse_choice, parse_math, parse_number, parse_ranking,
                                    parse_ratings, role_descriptions, select_team, sentence_bleu)
from agentzoo.recipes._dylan_code import CODE_ROLES
from agentzoo.recipes.dylan import PRESETS

HERE = Path(__file__).parent


def child_env():
    src = str(HERE.parent.parent / "src")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
ROLES = ["Mathematician", "Economist", "Lawyer", "Historian"]
QUESTION = "Which planet is largest? (A) Jupiter (B) Mars (C) Venus (D) Earth"


def role_of(request):
    system = request.messages[0]["content"]
    return next(r for r in ROLES if role_descriptions()[r] in system)


def players(answers, ranking="[1, 2]", ratings=None):
    """A scripted model: `answers[role]` is the list of letters a role answers, round by round;
    `ratings(role, shown)` the ratings it writes when shown `shown` replies (default: all 3)."""
    def play(request):
        prompt = request.messages[-1]["content"]
        if "Choose the best" in prompt:
            return f"Answers 1 and 2 reason best. {ranking}"
        role = role_of(request)
        shown = prompt.count("=== Agent ")
        rnd = 0 if not shown else (2 if prompt.count("[[") > 1 else 1)
        letter = answers[role][min(rnd, len(answers[role]) - 1)]
        rated = ratings(role, shown) if ratings else [3] * shown
        rating = f" [[{', '.join(map(str, rated))}]]" if shown else ""
        return f"{role} reasons... so the answer is ({letter})." + rating
    return play


def dylan(model, **options):
    return build(model, roles=ROLES, answer="choice", shuffle=False, seed=0, **options)


def by_role(model):
    out = {}
    for request in model.requests:
        key = "ranker" if request.messages[0]["role"] == "user" else role_of(request)
        out.setdefault(key, []).append(request)
    return out


# --- the protocol test ----------------------------------------------------------------------------


async def test_four_agents_a_a_a_b_stop_after_the_third_and_answer_a():
    model = ScriptedModel(players({"Mathematician": "A", "Economist": "A", "Lawyer": "A", "Historian": "B"}))
    result = await agentzoo.run(dylan(model), QUESTION)
    assert result.ok and parse_choice(result.answer) == "A"
    assert result.model_calls == 3 and "Historian" not in by_role(model)  # 3 > floor(2/3 · 4) = 2
    # round 1: each agent gets its role and the question, nothing else
    first = by_role(model)["Mathematician"][0]
    assert [m["role"] for m in first.messages] == ["system", "user"]
    assert role_descriptions()["Mathematician"] in first.messages[0]["content"]
    assert first.messages[1]["content"].startswith(QUESTION) and "=== Agent" not in first.messages[1]["content"]
    assert first.temperature == 1.0 and first.max_tokens == 2048


async def test_no_early_stop_until_more_than_two_of_four_agree():
    answers = {"Mathematician": "AAA", "Economist": "AAB", "Lawyer": "BBB", "Historian": "ABB"}
    model = ScriptedModel(players(answers))
    result = await agentzoo.run(dylan(model), QUESTION)
    # round 1: A, A, B → 2 agree, not > 2 → the Historian answers: A ×3 → stop
    assert result.model_calls == 4 and parse_choice(result.answer) == "A"
    answers = {"Mathematician": "ABA", "Economist": "BBA", "Lawyer": "CAB", "Historian": "DCC"}
    model = ScriptedModel(players(answers))
    network = dylan(model)
    result = await agentzoo.run(network, QUESTION)
    # round 1: A B C D; round 2: B B A C (never 3 alike); ranker keeps answers 1, 2 (Mathematician and
    # Economist, in round order); round 3: A, A → 2 > floor(4/3) = 1 → stop with A
    assert result.model_calls == 4 + 4 + 1 + 2 and parse_choice(result.answer) == "A"
    roles = by_role(model)
    assert len(roles["ranker"]) == 1 and len(roles["Lawyer"]) == len(roles["Historian"]) == 2
    assert len(roles["Mathematician"]) == len(roles["Economist"]) == 3


async def test_prompts_rounds_ratings_and_importance_sum_as_in_the_paper():
    answers = {"Mathematician": "ABA", "Economist": "BBA", "Lawyer": "CAB", "Historian": "DCC"}
    ratings = lambda role, shown: [5] + [1] * (shown - 1)  # noqa: E731 - the first answer shown is the best
    model = ScriptedModel(players(answers, ratings=ratings))
    agent = dylan(model)
    net = agent.build_network(QUESTION)
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    result = await net.run(QUESTION, Context(Gateway(run_id="t")))
    roles = by_role(model)
    # round 2: each agent is shown all four round-1 replies and asked for four ratings
    second = roles["Lawyer"][1].messages[1]["content"]
    assert second.count("=== Agent ") == 4 and "(A)" in second and "(D)" in second
    assert re.search(r"rate each of the 4 answers", second) and "[[4, 2, 5, 3]]" in second
    # the ranker sees the four round-2 replies; the two chosen agents see all four in round 3
    assert roles["ranker"][0].messages[0]["content"].count("=== Answer ") == 4
    assert roles["Mathematician"][2].messages[1]["content"].count("=== Agent ") == 4
    assert result.selections == [[0, 1]] and result.consensus_round == 2 and result.value == "A"
    # importance: round 3's two A nodes share 1; each node rated the first reply it was shown 5 and
    # the others 1, so weights are 5/8 for the first shown (agent 0 with shuffle off), 1/8 for the rest
    assert result.importance[2] == pytest.approx([0.5, 0.5, 0, 0])
    assert result.importance[1] == pytest.approx([5 / 8, 1 / 8, 1 / 8, 1 / 8])
    assert result.importance[0] == pytest.approx([5 / 8, 1 / 8, 1 / 8, 1 / 8])
    assert result.importance[0][0] > result.importance[0][1]  # [[5, 1, …]]: the first predecessor outranks the second
    assert [sum(row) for row in result.importance] == pytest.approx([1, 1, 1])  # 1 per round run
    assert sum(result.agent_importance) == pytest.approx(3)
    assert result.agent_importance == pytest.approx([1.75, 0.75, 0.25, 0.25])
    assert select_team([result], ROLES, 2) == ["Mathematician", "Economist"]


async def test_shuffled_order_is_seeded_and_recorded(journal):
    answers = {"Mathematician": "A", "Economist": "B", "Lawyer": "C", "Historian": "D"}
    runs = []
    for _ in range(2):
        model = ScriptedModel(players(answers))
        await agentzoo.run(build(model, roles=ROLES, answer="choice", sampling={"seed": 3}), QUESTION)
        runs.append([role_of(r) if r.messages[0]["role"] == "system" else "ranker" for r in model.requests])
    assert runs[0] == runs[1] and runs[0][:4] != ROLES  # same seed, same (shuffled) order
    model = ScriptedModel(players(answers))
    result = await agentzoo.run(build(model, roles=ROLES, answer="choice"), QUESTION, journal=journal)
    assert [e.kind for e in journal.entries(result.run_id)][0] == "random"  # no seed: a recorded one


# --- parsers and options ----------------------------------------------------------------------------


def test_parsers():
    assert parse_choice("I think (b), no: (C).") == "C" and parse_choice("answer: D)") == "D"
    assert parse_choice("none") is None
    assert parse_number("so 3 + 4\n#### 1,234") == "1234" and parse_number("it is 7.0 apples") == "7"
    assert parse_math("The answer is $\\frac{1}{2}$.") == "\\frac{1}{2}"
    assert parse_math("so \\boxed{x = 5} done") == "5"
    assert parse_ratings("[[1, 2]] then [[5, x, 3]]") == [5, 0, 3] and parse_ratings("none") == []
    assert parse_ranking("best: [3, 1]", 2, 4) == [2, 0] and parse_ranking("[9, 1]", 2, 4) == [3, 0]
    assert parse_ranking("no list", 2, 4) == [0, 1]
    assert sentence_bleu("def f(x): return x + 1", "def f(x): return x + 1") == pytest.approx(1.0)
    assert sentence_bleu("def f(x): return x + 1", "def g(y): return y * 2") < 0.9
    assert answer_kind(GSM8K().tasks()[0].prompt) == "number" and answer_kind(HumanEval().tasks()[0].prompt) == "code"


def test_options_are_checked():
    with pytest.raises(ConfigError, match="unknown roles"):
        build(ScriptedModel([]), roles=["Wizard"])
    with pytest.raises(ConfigError, match="at least 3"):
        build(ScriptedModel([]), rounds=2)
    with pytest.raises(ConfigError, match="no tools"):
        build(ScriptedModel([]), [lambda: 1])
    agent = build_recipe("dylan", ScriptedModel([]))
    assert agent.roles == ["Assistant"] * 4 and agent.network["rounds"] == 3 and agent.network["top_k"] == 2


# --- the harness, replay, resume ---------------------------------------------------------------------


async def test_runs_end_to_end_in_the_harness_with_scopes_per_role(tmp_path):
    envs = {"humaneval": HumanEval(), "gsm8k": GSM8K()}
    spec = f"scripted:{HERE / 'dylan_script.py'}:play"
    samples = expand(envs, ["dylan"], [spec], 1, limit=2)
    progress = await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=2))
    store = ResultStore(tmp_path / "results.db")
    rows = list(store.rows())
    store.close()
    assert progress.done == len(rows) == 4 and all(r["success"] for r in rows), [r["error"] for r in rows]
    for row in rows:
        assert row["input_tokens"] > 0
        calls = {scope: usage["model_calls"] for scope, usage in row["scopes"].items() if usage["model_calls"]}
        if row["env"] == "gsm8k":
            # the four agents agree at once: the network stops after three of them, each in its own scope
            assert row["model_calls"] == 3 and len(calls) == 3 and set(calls.values()) == {1}
            assert set(calls) <= {"Assistant#0", "Assistant#1", "Assistant#2", "Assistant#3"}
            continue
        # HumanEval's answers are code, so the harness (task_kind="code") runs the code network: the 4
        # coders; the judges (the syntax checker runs code and asks no model); 3 coders agree → stop
        assert row["model_calls"] == 4 + 3 + 3
        assert sum(n for scope, n in calls.items() if scope.split("#")[0] in CODE_ROLES) == 7
        assert {scope: calls[scope] for scope in ("Tester#5", "Reflector#6", "Ranker#7")} == dict.fromkeys(
            ("Tester#5", "Reflector#6", "Ranker#7"), 1)
        assert "Passer#4" not in calls and row["scopes"]["Passer#4"]["other_effects"] == 4
        assert row["scopes"]["tests"]["other_effects"] == 3  # the final choice: each agreeing code on the tests
    # replay of recorded samples: no model call, no code run, the same answer
    with Journal(tmp_path / "journal.db") as journal:
        for row in rows:
            replayer = ScriptedModel([], name="play")  # the recorded model's name (it is part of the request)
            kind = "code" if row["env"] == "humaneval" else "number"
            agent = build_recipe("dylan", replayer, sampling={"seed": row["seed"]}, task_kind=kind)
            again = await agentzoo.replay(agent, row["run_id"], journal=journal)
            assert again.answer == row["answer"] and replayer.calls == 0 and again.live_effects == 0


def crash_run(tmp_path, kill_after, options):
    task = tmp_path / "task.txt"
    task.write_text("What is the magic number? End with a line `#### <number>`.")
    journal = tmp_path / f"j{kill_after}.db"
    script = f"{HERE / 'crash_dylan.py'}:disagreeing"
    out = subprocess.run([sys.executable, HERE / "crash_dylan.py", journal, "dylan", script, task, str(kill_after),
                          json.dumps(options)], capture_output=True, text=True, timeout=60, env=child_env())
    return out, journal, task.read_text()


@pytest.mark.parametrize("kill_after", [2, 10])
async def test_a_run_killed_in_a_concurrent_batch_resumes_without_repeating_a_completed_call(tmp_path, kill_after):
    sys.path.insert(0, str(HERE))
    try:
        import crash_dylan
    finally:
        sys.path.remove(str(HERE))
    options = {"roles": ROLES, "seed": 7}
    reference = ScriptedModel(crash_dylan.disagreeing)
    ref = await agentzoo.run(build_recipe("dylan", reference, **options), "What is the magic number? "
                             "End with a line `#### <number>`.")
    assert reference.calls == 11 and parse_number(ref.answer) == "7"
    # 2: killed while round 1's first three calls run together; 10: while round 3's two run together
    out, journal_path, task = crash_run(tmp_path, kill_after, options)
    assert out.returncode == -signal.SIGKILL, out.stderr
    with Journal(journal_path) as journal:
        run = journal.list_runs()[0]
        done = [e for e in journal.entries(run.run_id) if e.kind == "model" and e.status == "ok"]
        assert len(done) >= kill_after  # calls that end in the same loop turn share a commit
        resumer = ScriptedModel(crash_dylan.disagreeing)
        result = await agentzoo.resume(build_recipe("dylan", resumer, **options), run.run_id, journal=journal)
        assert result.ok and result.answer == ref.answer
        assert resumer.calls == 11 - len(done)  # every completed call served, the rest (in flight too) made
        done_keys = {(e.scope, e.seq) for e in done}
        entries = [e for e in journal.entries(run.run_id) if e.kind == "model"]
        assert len(entries) == 11 and done_keys <= {(e.scope, e.seq) for e in entries}


# --- the code-generation network: coders, judges between their rounds --------------------------------

ADD = ("Write the Python function `add` below: complete its body so that it does what its docstring says. "
       "Reply with the complete function in one ```python code block.\n\n"
       '```python\ndef add(a: int, b: int) -> int:\n    """The sum of a and b."""\n```')
GOOD, WRONG, BROKEN = "return a + b", "return a - b", "return (a +"
TESTS = ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"]


def coder_of(request):
    from agentzoo.recipes._dylan_code import code_roles

    system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
    return next((r for r, text in code_roles().items() if text in system), None)


def code_players(first, later=None, judge_ratings="[[5, 1, 2]]"):
    """Coders write `first[role]` in round 1 and `later[role]` (default: the good body) after the judges,
    rating the syntax checker, the test writer and the reflector `judge_ratings`; the test writer gives
    TESTS; the reflector reviews each implementation and rates them [[5, 1, 1, 5]]; the ranker picks 1, 4."""
    def play(request):
        prompt = request.messages[-1]["content"]
        role = coder_of(request)
        if role is not None:
            after = "=== Implementation " in prompt
            body = (later or {}).get(role, GOOD) if after else first[role]
            reply = f"I think it through.\n```python\ndef add(a: int, b: int) -> int:\n    {body}\n```"
            return reply + (f"\nHelpfulness: {judge_ratings}" if after else "")
        if "You write unit tests" in prompt:
            return "```python\n" + "\n".join(TESTS) + "\n```"
        if "[review n]" in prompt:
            return ("[review 1] Right.\n[review 2] It subtracts: REFLECTED-2.\n[review 3] It does not parse.\n"
                    "[review 4] Right.\n[[5, 1, 1, 5]]")
        if "Choose the best" in prompt:
            return "The first and the last are right. [1, 4]"
        raise LookupError(prompt[:200])
    return play


def code_dylan(model, **options):
    return build(model, task_kind="code", shuffle=False, seed=0, **options)


async def run_network(agent, task=ADD):
    """The agent's own result (the network's layers and importance), from a run without a journal."""
    from agentzoo.runtime.context import Context
    from agentzoo.runtime.gateway import Gateway

    return await agent.run(task, Context(Gateway(run_id="t")))


def kind_of(request):
    prompt = request.messages[-1]["content"]
    if coder_of(request) is not None:
        return "coder"
    return next(k for marker, k in (("You write unit tests", "tester"), ("[review n]", "reflector"),
                                     ("Choose the best", "ranker")) if marker in prompt)


async def test_code_network_judges_sit_between_the_coders_rounds_and_share_the_importance():
    first = {"PythonAssistant": GOOD, "AlgorithmDeveloper": WRONG, "ComputerScientist": BROKEN, "Programmer": GOOD}
    model = ScriptedModel(code_players(first))
    net = await run_network(code_dylan(model))
    assert net.answer == "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
    assert net.kinds == ["agents", "judges", "agents", "judges", "agents"]
    coders, judges, second = net.layers[:3]
    # round 1: all four coders (no agreement check yet); the judges each see all four implementations
    assert [n.agent for n in coders] == [0, 1, 2, 3] and [n.agent for n in judges] == [4, 5, 6, 7]
    assert all(n.shown == (0, 1, 2, 3) for n in judges)
    assert coders[2].answer is None  # code that does not run never counts towards agreement
    passer, tester, reflector, ranker = (n.answer for n in judges)
    assert passer.feedback[0] == "The code runs without error." and passer.feedback[2].startswith(
        "The code fails to run: SyntaxError")
    assert judges[0].ratings == (5, 5, 0, 5)  # the syntax checker: it runs or it does not
    assert tester.tests.tests == tuple(TESTS) and judges[1].ratings == (5, 0, 0, 5)  # ⌈passed/total · 5⌉
    assert "Failed tests:\nassert add(1, 2) == 3  # output: -1" in tester.feedback[1]
    assert reflector.feedback[1] == "It subtracts: REFLECTED-2." and judges[2].ratings == (5, 1, 1, 5)
    assert ranker.chosen == (0, 3) and judges[3].ratings == (5, 0, 0, 5)
    # round 2: each coder is shown the ranker's two picks with every other judge's feedback, and rates
    # the judges; three agreeing implementations stop the network
    prompts = [r.messages[-1]["content"] for r in model.requests if "=== Implementation " in r.messages[-1]["content"]
               and coder_of(r) is not None]
    assert len(prompts) == 3 and len(second) == 3 and net.consensus_round == 2
    shown = prompts[0]
    assert shown.count("=== Implementation ") == 2 and WRONG not in shown and BROKEN not in shown
    assert shown.count("[Syntax check]\nThe code runs without error.") == 2
    assert shown.count("[Unit test results]\nPassed tests:\n" + "\n".join(TESTS)) == 2
    assert "[Reflection]\nRight." in shown and "(Syntax check, Unit test results, Reflection)" in shown
    assert second[0].ratings == (5, 1, 2, 3)  # the ranker is not rated: its edge gets 3, as upstream
    # calls: 4 coders, the test writer, the reflector and the ranker (the syntax checker runs code), 3 coders
    assert [kind_of(r) for r in model.requests] == ["coder"] * 4 + ["tester", "reflector", "ranker"] + ["coder"] * 3
    # importance: the three agreeing round-2 nodes run, so they share 1; each coder's edges from the
    # judges weigh 5/5, 1/5, 2/5 and 3/5 (the ranker), normalised over 2.2
    assert net.importance[2] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0, 0])
    assert net.importance[1][4:] == pytest.approx([1 / 2.2, 0.2 / 2.2, 0.4 / 2.2, 0.6 / 2.2])
    assert [sum(layer) for layer in net.importance] == pytest.approx([1, 1, 1, 0, 0])
    first_round = net.importance[0][:4]
    assert first_round[0] == first_round[3] > first_round[1] > first_round[2] > 0  # the judges' ratings, passed back
    assert len(net.agent_importance) == 8 and sum(net.agent_importance) == pytest.approx(3)
    members = list(CODE_ROLES) + ["Passer", "Tester", "Reflector", "Ranker"]
    # team optimisation ranks judges and coders alike: PythonAssistant ≈ 0.74 (0.41 + 1/3),
    # AlgorithmDeveloper 0.50, Passer 0.45, Programmer 0.41 (it did not run in round 2), …
    assert select_team([net], members, 3) == ["PythonAssistant", "AlgorithmDeveloper", "Passer"]


async def test_code_network_answers_with_the_code_passing_most_generated_tests():
    # round 1 is not checked; round 2: only two similar codes that run (not more than 2 of 4); the
    # listwise ranker keeps answers 1 and 4 (PythonAssistant, Programmer) for round 3, where the first
    # passes 2 of the 3 generated tests and the second all 3
    first = {"PythonAssistant": WRONG, "AlgorithmDeveloper": GOOD, "ComputerScientist": BROKEN, "Programmer": WRONG}
    later = {"PythonAssistant": "return abs(a) + b", "AlgorithmDeveloper": "return a + b  # B",
             "ComputerScientist": BROKEN, "Programmer": "return a + b  # D"}
    model = ScriptedModel(code_players(first, later))
    net = await run_network(code_dylan(model))
    assert net.consensus_round is None and net.selections == [[0, 3]]  # ran to the end
    assert [n.agent for n in net.layers[4]] == [0, 3]
    assert net.answer.endswith("return a + b  # D\n```")  # most tests passed, not the first node


async def test_the_code_network_never_stops_in_its_first_round_and_auto_picks_it_for_code_tasks():
    all_good = dict.fromkeys(CODE_ROLES, GOOD)
    model = ScriptedModel(code_players(all_good))
    net = await run_network(code_dylan(model))
    assert model.calls == 4 + 3 + 3 and net.consensus_round == 2  # judged before agreeing
    # the network follows the task kind; the presets force one; a task that asks for no function
    # falls back to the general network
    assert build(ScriptedModel([]), task_kind="code").code["roles"] == list(CODE_ROLES)
    assert build(ScriptedModel([]), task_kind="number").code is None
    assert build(ScriptedModel([]), **PRESETS["code"]).code["judges"] == ["Passer", "Tester", "Reflector", "Ranker"]
    assert build(ScriptedModel([]), task_kind="code", **PRESETS["general"]).code is None
    code = build(ScriptedModel([]), task_kind="code").code
    assert code["options"]["temperature"] == 0.8 and code["options"]["max_tokens"] == 1024
    assert code["network"]["select_if_more_than"] == 2
    model = ScriptedModel(players({r: "A" for r in ROLES}))
    fallback = build(model, roles=None, task="code", answer="choice", shuffle=False, seed=0)
    assert fallback.roles == ["Assistant"] * 4
    with pytest.raises(ConfigError, match="unknown judges"):
        build(ScriptedModel([]), task="code", judges=["Oracle"])
    with pytest.raises(ConfigError, match="judges belong to the code-generation network"):
        build(ScriptedModel([]), judges=["Tester"])
