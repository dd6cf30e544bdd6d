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
        # the four agents agree at once: the network stops after three of them, each in its own scope
        assert row["model_calls"] == 3 and row["input_tokens"] > 0
        assert set(row["scopes"]) <= {"Assistant#0", "Assistant#1", "Assistant#2", "Assistant#3"}
        assert len(row["scopes"]) == 3 and all(s["model_calls"] == 1 for s in row["scopes"].values())
    # replay of a recorded sample: no model call, the same answer
    with Journal(tmp_path / "journal.db") as journal:
        row = rows[0]
        replayer = ScriptedModel([], name="play")  # the recorded model's name (it is part of the request)
        agent = build_recipe("dylan", replayer, sampling={"seed": row["seed"]})
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
        assert len(done) == kill_after
        resumer = ScriptedModel(crash_dylan.disagreeing)
        result = await agentzoo.resume(build_recipe("dylan", resumer, **options), run.run_id, journal=journal)
        assert result.ok and result.answer == ref.answer
        assert resumer.calls == 11 - kill_after  # every completed call served, the rest (in flight too) made
        done_keys = {(e.scope, e.seq) for e in done}
        entries = [e for e in journal.entries(run.run_id) if e.kind == "model"]
        assert len(entries) == 11 and done_keys <= {(e.scope, e.seq) for e in entries}
