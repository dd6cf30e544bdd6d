"""SWE-Search (`swe-search`, PAPERS.md #51) on the seeded-bugs repositories.

The protocol test of PAPERS.md, driven by scripted models: the search re-selects the node with the higher mean
value unless exploration dominates, carries the value agent's feedback into a node's 2nd and 3rd expansions,
stops at max iterations; then the final debate among finished trajectories, a whole run in the harness with its
replay, and a short run of the shipped local model.
"""

from __future__ import annotations

import json

import pytest

from agentzoo import Journal
from agentzoo.envs.seeded_bugs import SeededBugs
from agentzoo.envs.seeded_bugs_actions import gold_actions
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import write_reports
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.prompts import render
from agentzoo.recipes import build_recipe
from agentzoo.recipes.swe_search import PROMPTS
from agentzoo.runtime import runner
from agentzoo.runtime.spec import AgentSpec

ENV = SeededBugs()
TASK = next(t for t in ENV.tasks() if t.id == "cachelib-1")
POLICY_SYSTEM = render(PROMPTS / "system.j2")
VALUE_SYSTEM = render(PROMPTS / "value_system.j2")


def role(request) -> str:
    system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
    if system == POLICY_SYSTEM:
        return "policy"
    if system == VALUE_SYSTEM:
        return "value"
    return "debate"


class Roles:
    """One scripted model playing the action agent, the value agent and the reviewers, recording each role's
    requests."""

    def __init__(self, propose, judge, vote=None) -> None:
        self.asked: dict[str, list] = {"policy": [], "value": [], "debate": []}
        self.model = ScriptedModel(self._play, name="scripted")
        self.propose, self.judge, self.vote = propose, judge, vote

    def _play(self, request):
        kind = role(request)
        self.asked[kind].append(request)
        if kind == "policy":
            return self.propose(request, len(self.asked["policy"]))
        if kind == "value":
            return json.dumps(self.judge(request))
        return json.dumps(self.vote(request, len(self.asked["debate"])))


def last_action(request) -> str:
    return request.messages[-1]["content"].split("--- action ")[-1].split("\n", 1)[0].split(": ", 1)[-1]


VALUES = {"list": (20, "fb-list"), "view cachelib/lru.py": (70, "fb-view"), "search move_to_end": (30, "fb-search")}


async def test_protocol_feedback_into_the_2nd_and_3rd_expansions_reselection_by_mean_and_max_iterations(journal):
    proposals = ["list", "view cachelib/lru.py", "search move_to_end", "view cachelib/ttl.py", "run_tests"]

    def judge(request):
        value, feedback = VALUES.get(last_action(request), (40, "fb-other"))
        return {"explanation": f"judged {last_action(request)}", "feedback": feedback, "value": value}

    roles = Roles(lambda r, n: f"I look around.\nAction: {proposals[n - 1]}", judge)
    agent = build_recipe("swe-search", roles.model, episode=ENV.episode(TASK), discriminator="mean", max_iterations=5)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.ok, result.error
    tree = agent.last.tree
    root = tree.root
    assert [c.action for c in root.children] == proposals[:3]  # the root's 3 expansions come first
    first, second, third, fourth, fifth = (r.messages[-1]["content"] for r in roles.asked["policy"])
    assert "Actions already tried" not in first
    assert "`list` (value 20): fb-list" in second and "fb-view" not in second
    assert "fb-list" in third and "`view cachelib/lru.py` (value 70): fb-view" in third
    # Then the child with the highest mean (70) is grown, and its first expansion carries no feedback.
    assert tree.nodes[4].parent is root.children[1] and "Actions already tried" not in fourth
    assert agent.last.stopped == "max iterations" and len(roles.asked["policy"]) == 5
    assert len(roles.asked["value"]) == 5 and not roles.asked["debate"]  # nothing finished: no debate


async def test_the_debate_picks_among_finished_trajectories_and_the_fix_is_scored(tmp_path):
    repo = ENV.repository(TASK)
    from agentzoo.envs.seeded_bugs import apply_patch

    fix = gold_actions(repo, apply_patch(repo, TASK.gold))  # the gold edit, then finish
    bad = ["edit cachelib/lru.py\n<<<<<<< SEARCH\n        self.hits += 1\n=======\n        self.hits += 2\n"
           ">>>>>>> REPLACE", "finish"]

    def propose(request, n):
        depth = sum(m["role"] == "assistant" for m in request.messages)
        path = bad if n % 2 == 0 else fix  # the root's children alternate between the two fixes
        first = next((m["content"] for m in request.messages if m["role"] == "assistant"), None)
        if first is not None:
            path = fix if first.endswith(fix[0]) else bad
        return f"Action: {path[min(depth, len(path) - 1)]}"

    def vote(request, n):  # reviewers split 3-2 for the gold's attempt in every round
        attempts = [int(line.split()[2]) for line in request.messages[-1]["content"].splitlines()
                    if line.startswith("=== Attempt ")]
        good = [a for a in attempts if a % 2 == 1] or attempts
        return {"explanation": "it fixes the eviction order", "choice": good[0] if n % 5 in (1, 2, 3) else attempts[-1]}

    roles = Roles(propose, lambda r: {"explanation": "", "feedback": "", "value": 50}, vote)
    agent = build_recipe("swe-search", roles.model, episode=(episode := ENV.episode(TASK)), max_iterations=8,
                         max_expansions=2)
    result = await runner.run(agent, TASK.prompt)
    finished = agent.last.tree.finished()
    assert len(finished) >= 2 and len(roles.asked["debate"]) == 15  # 5 reviewers × 3 rounds
    score = await ENV.score(episode, result.answer, None)
    assert score.success, score.details


async def test_a_harness_run_scores_100_with_the_oracle_and_replays_without_a_model(tmp_path):
    tasks = ENV.tasks()[:2]
    await run_eval([Sample(ENV.name, t, "swe-search", "oracle", 0) for t in tasks], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=2))
    store = ResultStore(tmp_path / "results.db")
    rows = list(store.rows())
    store.close()
    assert [r["success"] for r in rows] == [True, True]
    with Journal(tmp_path / "journal.db") as journal:
        for row in rows:
            spec = AgentSpec.model_validate(journal.get_run(row["run_id"]).config)
            from agentzoo.builder import build

            built = build(spec, replay=True)
            again = await runner.replay(built.agent, row["run_id"], journal=journal)
            assert again.ok and again.live_effects == 0 and again.answer == row["answer"]


async def test_the_shipped_local_model_runs_a_small_search(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.errors import ConfigError
    from agentzoo.models.local import model_file

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    spec = AgentSpec(agent="swe-search", preset="small", model="local:smollm2-135m?max_tokens=96",
                     options={"max_iterations": 2, "max_expansions": 2, "budget_model_calls": 4})
    await run_eval([Sample(ENV.name, TASK, "swe-search", spec.model, 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"swe-search": spec}))
    write_reports(tmp_path)
    store = ResultStore(tmp_path / "results.db")
    [row] = list(store.rows())
    store.close()
    assert row["status"] == "finished", row["error"]
    assert 1 <= row["model_calls"] <= 4
    assert "### seeded-bugs: search" in (tmp_path / "summary.md").read_text()
