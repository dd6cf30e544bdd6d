"""Croto (#40): teams in parallel, greedy pruning, hierarchy partitioning and greedy aggregation at the
partition points (design, coding); deterministic scopes, replay, the harness and the catalogue.

`Teams` plays every role with a scripted function: the team asking is known by its temperature (each
team has its own), the role by the request's template. Code really runs in the sandbox (`tier="auto"`,
never unsafe), so the coding point's pruning reads real runs of the teams' programs.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.recipes import build_recipe
from agentzoo.recipes._oracle.gold import Marker
from agentzoo.recipes.croto import hierarchy, team_temperatures
from agentzoo.recipes.croto.agent import PROMPTS
from helpers import cli

TASK = ("Write the Python function `add` below: complete its body so that it does what its docstring says. "
        "Reply with the complete function in one ```python code block.\n\n```python\ndef add(a: int, b: int) -> int:\n"
        '    """Return the sum of a and b.\n    >>> add(2, 3)\n    5\n    """\n```')
TEMPERATURES = team_temperatures(8, 0.2, 1.0)


def good(k: int, extra: str = "") -> str:
    return f"def add(a, b):\n    # team {k}\n    return a + b\n{extra}"


# What each team's programmer writes; the comment names the team, so prompts show whose code they hold.
CODES = {
    1: "def add(a, b)\n    # team 1\n    return a + b\n",                     # does not parse
    2: "import no_such_module_for_croto\n\n" + good(2),                     # fails to load
    3: "def add(a, b):\n    # team 3\n    return a - b\n",                    # runs, fails the example
    4: good(4, "# TODO: accept floats too\n"),                              # passes, not complete
    5: good(5),                                                             # passes, complete
    6: good(6, "\n\ndef _check(x):\n    pass\n"),                           # passes, one stub function
    7: good(7),                                                             # passes, complete
    8: "def add(a, b):\n    # team 8\n    return a * b\n",                    # runs, fails the example
}
# Rank by (executable, examples passed, complete, fewer stubs), ties in team order: 5, 7, 4, 6 | 3, 8 | 2, 1.


class Teams:
    """Plays every role. Designs are `D<k>`, the judge rates `D<k>` k, merged designs are `M(<parts>)`;
    merged code carries `# from teams <numbers>`."""

    design, coding = Marker.of(PROMPTS / "design.j2"), Marker.of(PROMPTS / "coding.j2")
    judge = Marker.of(PROMPTS / "judge_user.j2")
    merge = {kind: Marker.rendered(PROMPTS / "aggregator.j2", system=None, kind=kind)
             for kind in ("design", "code", "answer")}

    def __init__(self, temperatures=TEMPERATURES, codes=CODES, merged_code=None):
        self.team = {t: k + 1 for k, t in enumerate(temperatures)}
        self.codes, self.merged_code = codes, merged_code

    def __call__(self, request):
        system, asked = request.messages[0]["content"], request.messages[1]["content"]
        if self.design.found_in(asked):
            return f"D{self.team[request.temperature]}"
        if self.coding.found_in(asked):
            return f"```python\n{self.codes[self.team[request.temperature]]}```"
        if self.judge.found_in(asked):
            score = re.search(r"D(\d)", asked).group(1)
            return f"Plausible.\nSCORE: {score}"
        if self.merge["design"].found_in(system):
            parts = re.findall(r"^### Design \d+\n\n(.+)$", asked, re.M)
            return f"Each has merits.\n\n## Merged design\n\nM({','.join(parts)})"
        if self.merge["code"].found_in(system):
            if self.merged_code is not None:
                return self.merged_code
            teams = ",".join(re.findall(r"# (?:team|from teams) ([\d,]+)", asked))
            return f"Both add.\n\n```python\ndef add(a, b):\n    # from teams {teams}\n    return a + b\n```"
        raise AssertionError(f"unexpected request: {asked[:200]}")


class Keep:
    """Runs the agent and keeps its whole outcome (the exchanges), for the asserts."""

    def __init__(self, agent):
        self.agent, self.name = agent, agent.name

    async def run(self, task, ctx):
        self.outcome = await self.agent.run(task, ctx)
        return self.outcome


async def run(journal, player=None, task=TASK, **options):
    model = ScriptedModel(player or Teams())
    kept = Keep(build_recipe("croto", model, **options))
    result = await agentzoo.run(kept, task, journal=journal)
    assert result.ok, result.error
    return result, kept.outcome, model


def model_requests(journal, result) -> dict[str, list[dict]]:
    """Scope -> the model requests made in it, in order."""
    out: dict[str, list[dict]] = {}
    for e in journal.entries(result.run_id):
        if e.kind == "model":
            out.setdefault(e.scope, []).append(e.request)
    return out


def asked(request) -> str:
    return request["messages"][1]["content"]


# --- the protocol (PAPERS.md #40) -------------------------------------------------------------------


async def test_eight_teams_unit_two_prune_to_four_and_aggregate_in_two_levels_each_group_seeing_only_its_own(journal):
    result, outcome, model = await run(journal)
    design, coding = outcome.exchanges
    requests = model_requests(journal, result)

    # Design point: the judge rated all 8 designs (D<k> scores k); the better half went on, in rank order,
    # in consecutive pairs; two levels: 4 -> 2 -> 1, at temperatures 1 - 1/2 and 1 - 2/2.
    first, second = design.levels
    assert {label: r["score"] for label, r in first.ratings.items()} == {f"team#{k}": float(k) for k in range(1, 9)}
    assert first.kept == ("team#8", "team#7", "team#6", "team#5")
    assert first.groups == (("team#8", "team#7"), ("team#6", "team#5"))
    assert second.ratings == {} and second.kept == ("level#1/aggregator#1", "level#1/aggregator#2")
    assert second.groups == (("level#1/aggregator#1", "level#1/aggregator#2"),)
    assert (first.temperature, second.temperature) == (0.5, 0.0)
    assert design.result.text == "M(M(D8,D7),M(D6,D5))"
    # Each aggregation prompt lists exactly its group's designs, no other.
    aggregate = {g: asked(requests[f"cross_team.design/level#1/aggregator#{g}"][0]) for g in (1, 2)}
    assert sorted(re.findall(r"^### Design \d+\n\nD(\d)$", aggregate[1], re.M)) == ["7", "8"]
    assert sorted(re.findall(r"^### Design \d+\n\nD(\d)$", aggregate[2], re.M)) == ["5", "6"]
    assert not re.search(r"\bD[1-4]\b", aggregate[1] + aggregate[2])
    top = asked(requests["cross_team.design/level#2/aggregator#1"][0])
    assert re.findall(r"^### Design \d+\n\n(.+)$", top, re.M) == ["M(D8,D7)", "M(D6,D5)"]
    assert [requests[f"cross_team.design/level#{n}/aggregator#1"][0]["temperature"] for n in (1, 2)] == [0.5, 0.0]

    # Every team continues from the one merged design: each coding prompt holds it, and no team's own.
    for k in range(1, 9):
        prompt = asked(requests[f"team#{k}/coding"][0])
        assert "M(M(D8,D7),M(D6,D5))" in prompt and not re.search(r"^D\d$", prompt, re.M)
        assert requests[f"team#{k}/coding"][0]["temperature"] == TEMPERATURES[k - 1]

    # Coding point: the programs really ran in the sandbox (team 1's does not parse: nothing to run).
    first, second = coding.levels
    quality = first.ratings
    assert (quality["team#1"]["executable"], quality["team#1"]["error"]) == (False, "the code does not parse")
    assert quality["team#2"]["executable"] is False and "ModuleNotFoundError" in quality["team#2"]["error"]
    assert [quality[f"team#{k}"]["passed"] for k in (3, 4, 5, 6, 7, 8)] == [0, 1, 1, 1, 1, 0]
    assert (quality["team#4"]["complete"], quality["team#6"]["unfinished"], quality["team#5"]["complete"]) == (
        False, 1, True)
    assert first.kept == ("team#5", "team#7", "team#4", "team#6")
    assert first.groups == (("team#5", "team#7"), ("team#4", "team#6"))
    pair = {g: set(re.findall(r"# team (\d)", asked(requests[f"cross_team.coding/level#1/aggregator#{g}"][0])))
            for g in (1, 2)}
    assert pair == {1: {"5", "7"}, 2: {"4", "6"}}
    assert second.groups == (("level#1/aggregator#1", "level#1/aggregator#2"),)
    assert "# from teams 5,7,4,6" in result.answer and result.answer.startswith("```python\ndef add(a, b):")

    sandbox = [e.scope for e in journal.entries(result.run_id) if e.kind == "sandbox"]
    assert sandbox == ["cross_team.coding/level#1/tests"] * 7
    # Calls: 8 designs, 8 ratings, 3 merges; 8 programs, 3 merges. Each team's cost is in its own scopes.
    assert {scope: len(r) for scope, r in requests.items() if scope.startswith("team#")} == {
        f"team#{k}/{phase}": 1 for k in range(1, 9) for phase in ("design", "coding")}
    assert len(model.requests) == 30 and outcome.steps == 2 + 2 + 2


def test_the_tree_prunes_above_four_and_halves_down_to_one():
    shape = lambda count, unit=2, above=4: [(p.arriving, p.kept, p.groups) for p in hierarchy.plan(count, unit, above)]
    assert shape(8) == [(8, 4, 2), (2, 2, 1)]
    assert shape(16) == [(16, 8, 4), (4, 4, 2), (2, 2, 1)]
    assert shape(5) == [(5, 2, 1)]            # len // 2 of 5 is 2 (waiting.py prune_test)
    assert shape(4) == [(4, 4, 2), (2, 2, 1)]  # 4 is not more than 4: no pruning
    assert shape(3) == [(3, 3, 2), (2, 2, 1)]  # (a, b), (c): c passes on alone
    assert shape(9, unit=3) == [(9, 4, 2), (2, 2, 1)]
    assert shape(1) == []
    assert [hierarchy.temperature(n, 3) for n in (1, 2, 3)] == [0.666667, 0.333333, 0.0]
    assert hierarchy.partition(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    with pytest.raises(ConfigError, match="unit_num must be at least 2"):
        hierarchy.plan(8, 1, 4)


# --- text tasks, fallbacks, options ------------------------------------------------------------------


class Writers:
    """GSM8K with six teams: designs and answers rated by the judge; team k's answer is `#### k`, rated k."""

    def __init__(self):
        self.team = {t: k + 1 for k, t in enumerate(team_temperatures(6, 0.2, 1.0))}

    def __call__(self, request):
        system, asked = request.messages[0]["content"], request.messages[1]["content"]
        if Teams.design.found_in(asked):
            return f"D{self.team[request.temperature]}"
        if Teams.coding.found_in(asked):
            return f"Adding up.\n#### {self.team[request.temperature]}"
        if Teams.judge.found_in(asked):
            found = re.search(r"#### (\d)", asked) or re.search(r"\bD(\d)", asked)
            return f"SCORE: {found.group(1)}"
        for kind in ("design", "answer"):
            if Teams.merge[kind].found_in(system):
                parts = re.findall(rf"^### {kind.capitalize()} \d+\n\n([\s\S]+?)(?=\n\n###|\n\nFirst, for each)", asked,
                                   re.M)
                numbers = ",".join(re.findall(r"(?:####|\bD) ?([\d,]+)", "\n".join(parts)))
                merged = f"#### {numbers}" if kind == "answer" else f"D {numbers}"
                return f"Compared.\n\n## Merged {kind}\n\n{merged}"
        raise AssertionError(asked[:200])


async def test_a_text_task_is_judged_at_both_points_and_a_lone_group_member_passes_on_without_a_call(journal):
    task = GSM8K().tasks()[0].prompt
    result, outcome, model = await run(journal, Writers(), task=task, teams=6)
    for exchange in outcome.exchanges:  # 6 > 4: the top 3 go on, as (a, b), (c); then 2 -> 1
        first, second = exchange.levels
        assert len(first.ratings) == 6 and first.groups == (("team#6", "team#5"), ("team#4",))
        assert second.kept == ("level#1/aggregator#1", "team#4")
    requests = model_requests(journal, result)
    assert "cross_team.coding/level#1/aggregator#2" not in requests  # team 4's answer went on as it was
    assert len(requests["cross_team.coding/level#1/judge#3"]) == 1 and not any("tests" in s for s in requests)
    assert result.answer == "#### 6,5,4"  # the text after `## Merged answer`
    assert [e.kind for e in journal.entries(result.run_id)].count("sandbox") == 0


async def test_code_that_never_comes_back_valid_is_asked_again_then_the_groups_first_goes_on(journal):
    player = Teams(temperatures=team_temperatures(2, 0.2, 1.0), codes={1: good(1), 2: good(2)},
                   merged_code="I would merge them, but here is no code.")
    result, outcome, model = await run(journal, player, teams=2, exchange_design=False)
    (level,) = outcome.exchanges[0].levels
    assert level.ratings == {} and level.groups == (("team#1", "team#2"),)  # 2 teams: no pruning
    assert level.fell_back == ("level#1/aggregator#1",)
    merges = model_requests(journal, result)["cross_team.coding/level#1/aggregator#1"]
    assert len(merges) == 4  # the first reply and aggregate_retries=3 more (waiting.py error_check)
    assert "could not be used: the reply has no ```python code block" in merges[1]["messages"][-1]["content"]
    assert "# team 1" in result.answer  # the group's first solution
    assert len(outcome.exchanges) == 1  # exchange_design=False: each team coded from its own design
    assert "D2" in asked(model_requests(journal, result)["team#2/coding"][0])


def test_the_constants_are_the_defaults_and_bad_options_are_named():
    agent = build_recipe("croto", ScriptedModel([]))
    assert (agent.teams, agent.unit_num, agent.prune_above, agent.exchange_design) == (8, 2, 4, True)
    assert (agent.aggregate_retries, agent.judge_temperature) == (3, 0.0)
    assert agent.temperatures == TEMPERATURES and TEMPERATURES[0] == 0.2 and TEMPERATURES[-1] == 1.0
    with pytest.raises(ConfigError, match="unit_num must be at least 2"):
        build_recipe("croto", ScriptedModel([]), unit_num=1)
    with pytest.raises(ConfigError, match="teams must be at least 1"):
        build_recipe("croto", ScriptedModel([]), teams=0)
    with pytest.raises(ConfigError, match="calls no tools"):
        build_recipe("croto", ScriptedModel([]), [object()])


# --- determinism, replay -----------------------------------------------------------------------------


async def test_the_same_scripts_give_the_same_journal_and_replay_calls_nothing(tmp_path):
    keys = []
    for name in ("a.db", "b.db"):
        with agentzoo.Journal(tmp_path / name) as journal:
            result, _, _ = await run(journal)
            keys.append([(e.scope, e.seq, e.kind, e.name, e.request_hash) for e in journal.entries(result.run_id)])
            answer, messages, run_id = result.answer, result.messages, result.run_id
    assert keys[0] == keys[1] and len(keys[0]) == 30 + 7
    with agentzoo.Journal(tmp_path / "b.db") as journal:
        silent = ScriptedModel([])
        # tier="unsafe" without allow_unsafe would refuse to start a sandbox: none is needed.
        again = await agentzoo.replay(build_recipe("croto", silent, tier="unsafe"), run_id, journal=journal)
    assert (again.answer, again.messages, silent.calls, again.live_effects) == (answer, messages, 0, 0)


# --- the harness and the command line ---------------------------------------------------------------


def az(*args, timeout=180):
    return cli.agentzoo(*args, env={"AGENTZOO_OFFLINE": "1"}, timeout=timeout).stdout


def test_eval_on_humaneval_scores_the_merged_code_with_each_teams_cost_in_its_scope(tmp_path):
    az("eval", "--env", "humaneval", "--agent", "croto", "--model", "oracle", "--limit", "2", "--no-anchor", "--out", tmp_path)
    db = sqlite3.connect(tmp_path / "results.db")
    try:
        rows = [json.loads(r) for (r,) in db.execute("SELECT row FROM samples")]
    finally:
        db.close()
    assert len(rows) == 2 and all(r["success"] and r["status"] == "finished" for r in rows), rows
    for row in rows:
        scopes = row["scopes"]
        assert all(scopes[f"team#{k}/{phase}"]["model_calls"] == 1 and scopes[f"team#{k}/{phase}"]["input_tokens"] > 0
                   for k in range(1, 9) for phase in ("design", "coding"))
        assert scopes["cross_team.coding/level#1/tests"]["other_effects"] == 8  # each team's program ran
        assert row["model_calls"] == 30
    summary = (tmp_path / "summary.md").read_text()
    assert "| croto | oracle | team/coding |" in summary  # the report sums a role over its teams
    assert "| croto | oracle | cross_team.design/level/judge |" in summary


def test_recipes_show_lists_the_options_with_their_sources():
    shown = az("recipes", "show", "croto")
    assert "Croto (`croto`, #40)" in shown
    for option, source in (("unit_num: int = 2", "config.yaml Aggregate_unit_num: 2"),
                           ("prune_above: int = 4", "len(waiting_queue) > 4"),
                           ("aggregate_retries: int = 3", "error_check"), ("teams: int = 8", "[unverified]")):
        assert option in shown and source in shown, option
    assert "groups are consecutive in rank order" in shown  # a deviation
