"""agent-r (#8): MCTS rollouts, pairs of good and bad paths, the actor's step-level verification and the spliced
revision samples; the whole run in the harness on TextWorld, its replay with no model call, SIGKILL then resume,
the same seed giving the same tree, and the export as ShareGPT rows with loss flags and provenance."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("textworld", reason="the textworld environment needs the envs extra: pip install -e '.[envs]'")

from agent_r_script import play as hashed_actor  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.agents.stepper import read_action  # noqa: E402
from agentzoo.envs.base import Episode, ScoringContext  # noqa: E402
from agentzoo.envs.gridworld import GridWorld  # noqa: E402
from agentzoo.envs.step import Observation, StepOutcome  # noqa: E402
from agentzoo.envs.stepping import Progress, Record  # noqa: E402
from agentzoo.envs.textworld_env import TextWorld  # noqa: E402
from agentzoo.envs.textworld_games import GAMES_FILE  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.recipes.agent_r import build  # noqa: E402
from agentzoo.recipes.agent_r.agent import SAMPLES  # noqa: E402
from agentzoo.synth.agent_r import export_samples, rows  # noqa: E402
from agentzoo.recipes.agent_r.paths import Leaf, Pair, divergence, is_disaster, leaves, pairs  # noqa: E402
from agentzoo.recipes.agent_r.revise import (Verifier, first_bad, pick_thought, read_verdict,  # noqa: E402
                                             revision_thoughts)
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.context import Context  # noqa: E402
from agentzoo.runtime.gateway import Gateway  # noqa: E402
from agentzoo.search import Reward, Tree  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
GRID = GridWorld()
MAZE = GRID.tasks()[0]  # maze-3x3-1: south, south, east, north, east, south
TW = TextWorld()
GAMES = {t.id: t for t in TW.tasks()}
VERIFIER = "You check the work of an agent"
SYSTEM = ("You act in an environment to complete a task, one action per reply, until the episode ends. Write each "
          "reply as two lines: first `Thought: ` and what you make of the situation and plan to do next, then "
          "`Action: ` and exactly one action, written in the environment's action grammar.")


def planned(plan: dict[tuple[str, ...], list[str]], verdicts=None):
    """An actor that plays `plan`: after the actions of its conversation so far, the k-th time it is asked there it
    plays plan[prefix][k]; as the verifier, `verdicts(steps before the judged one)`. Stateful: not for resume."""
    asked: Counter = Counter()

    def play(request) -> str:
        if VERIFIER in request.messages[0]["content"]:
            before = request.messages[-1]["content"].split("The step to judge:")[0].count("Action: ")
            return f"Checking the step.\nJudgement: {verdicts(before)}"
        prefix = tuple(read_action(m["content"]) for m in request.messages if m["role"] == "assistant")
        action = plan[prefix][asked[prefix]]
        asked[prefix] += 1
        return f"Thought: I go {action}.\nAction: {action}"

    return play


def samples_entry(journal: Journal, run_id: str) -> dict:
    [entry] = [e for e in journal.entries(run_id) if e.kind == "data" and e.name == SAMPLES]
    return entry.result


def tree_entry(journal: Journal, run_id: str) -> dict:
    [entry] = [e for e in journal.entries(run_id) if e.kind == "search" and e.name == "tree"]
    return entry.result


# --- the protocol ---------------------------------------------------------------------------------------


async def test_the_spliced_sample_is_the_bad_steps_to_the_first_bad_one_a_revision_turn_and_the_good_suffix(journal):
    # Rollout 1 goes south then bumps into the west wall three times (the rules end it: value 0); the root's second
    # child repeats `south` (a duplicate, not stepped); rollout 3 branches under `south` and walks out (value 1).
    plan = {(): ["south", "south"], ("south",): ["west", "south"], ("south", "west"): ["west"],
            ("south", "west", "west"): ["west"], ("south", "south"): ["east"], ("south", "south", "east"): ["north"],
            ("south", "south", "east", "north"): ["east"], ("south", "south", "east", "north", "east"): ["south"]}
    model = ScriptedModel(planned(plan, lambda before: "Uncertain" if before == 1 else "Bad"), name="actor")
    episode = GRID.episode(MAZE)
    agent = build_recipe("agent-r", model, episode=episode, iterations=3, children=2)
    result = await runner.run(agent, MAZE.prompt, journal=journal)
    assert result.ok, result.error
    tree = agent.last.search.tree
    assert [(n.id, n.parent.id if n.parent else None, n.action) for n in tree.nodes] == [
        (0, None, None), (1, 0, "south"), (2, 1, "west"), (3, 2, "west"), (4, 3, "west"), (5, 0, "south"),
        (6, 1, "south"), (7, 6, "east"), (8, 7, "north"), (9, 8, "east"), (10, 9, "south")]
    assert tree.nodes[5].duplicate and tree.nodes[4].record.progress.stopped == "3 identical actions"

    good, revision = agent.last.samples
    assert (revision["kind"], revision["good_leaf"], revision["bad_leaf"], revision["divergence"]) == \
        ("revision", 10, 4, 1)
    assert (revision["good_value"], revision["bad_value"], revision["first_bad"], revision["bad_end"]) == \
        (1.0, 0.0, 3, "bad")
    # The first west was Uncertain, the second Bad: the verifier was not asked about the third.
    assert [(j["node"], j["verdict"]) for j in revision["judgements"]] == [(2, "uncertain"), (3, "bad")]
    assert revision["template"] == pick_thought(0, 10, 4) == 9
    start = ("Walk out of the maze: reach the exit at row 2, column 2.\n\nActions: north, south, east or west (one "
             "word): walk one cell that way, if it is open.\nThe episode ends when the task is done or after 30 "
             "actions.\n\nObservation:\nYou are in row 0, column 0 of a 3x3 maze. Open ways: south. The exit is 2 "
             "rows south and 2 columns east.")
    wall = ("Observation:\nA wall blocks the way west. You are in row 1, column 0 of a 3x3 maze. Open ways: north, "
            "south. The exit is 1 rows south and 2 columns east.")
    assert revision["conversation"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": start},
        # the shared prefix and the bad steps up to the first Bad one: context, not trained on
        {"role": "assistant", "content": "Thought: I go south.\nAction: south", "loss": False},
        {"role": "user", "content": "Observation:\nYou are in row 1, column 0 of a 3x3 maze. Open ways: north, "
                                    "south. The exit is 1 rows south and 2 columns east."},
        {"role": "assistant", "content": "Thought: I go west.\nAction: west", "loss": False},
        {"role": "user", "content": wall},
        {"role": "assistant", "content": "Thought: I go west.\nAction: west", "loss": False},
        {"role": "user", "content": wall},
        # one revision turn, trained on
        {"role": "assistant", "content": "Thought: I took a wrong turn back there. I will go back to the point "
                                         "before it and continue correctly.\nAction: wait", "loss": True},
        {"role": "user", "content": "OK."},
        # the good path from the divergence point (after the shared `south`), trained on
        {"role": "assistant", "content": "Thought: I go south.\nAction: south", "loss": True},
        {"role": "user", "content": "Observation:\nYou are in row 2, column 0 of a 3x3 maze. Open ways: north, "
                                    "east. The exit is 0 rows south and 2 columns east."},
        {"role": "assistant", "content": "Thought: I go east.\nAction: east", "loss": True},
        {"role": "user", "content": "Observation:\nYou are in row 2, column 1 of a 3x3 maze. Open ways: north, "
                                    "west. The exit is 0 rows south and 1 columns east."},
        {"role": "assistant", "content": "Thought: I go north.\nAction: north", "loss": True},
        {"role": "user", "content": "Observation:\nYou are in row 1, column 1 of a 3x3 maze. Open ways: south, "
                                    "east. The exit is 1 rows south and 1 columns east."},
        {"role": "assistant", "content": "Thought: I go east.\nAction: east", "loss": True},
        {"role": "user", "content": "Observation:\nYou are in row 1, column 2 of a 3x3 maze. Open ways: north, "
                                    "south, west. The exit is 1 rows south and 0 columns east."},
        {"role": "assistant", "content": "Thought: I go south.\nAction: south", "loss": True},
        {"role": "user", "content": "Observation:\nYou are in row 2, column 2 of a 3x3 maze. Open ways: north. You "
                                    "are at the exit.\n(reward 1, total 1)"},
    ]
    # The good path alone is a sample too, every reply trained on.
    assert good["kind"] == "good" and good["good_leaf"] == 10
    assert [m.get("loss") for m in good["conversation"] if m["role"] == "assistant"] == [True] * 6
    # The verifier is the actor itself, asked about one step with the steps before it.
    asked = [r for r in model.requests if VERIFIER in r.messages[0]["content"]]
    assert len(asked) == 2 and len(model.requests) == 10 + 2
    assert asked[1].messages[-1]["content"].endswith(
        "Steps so far:\n1. Action: south\nObservation: You are in row 1, column 0 of a 3x3 maze. Open ways: north, "
        "south. The exit is 1 rows south and 2 columns east.\n2. Action: west\nObservation: " + wall[13:] +
        "\n\nThe step to judge:\nAction: west\nObservation: " + wall[13:])
    # The answer is the best path: the environment scores the maze as walked out of.
    score = await GRID.score(episode, result.answer, ScoringContext())
    assert (score.reward, score.success) == (1.0, True)


async def test_a_lost_game_ends_the_bad_prefix_without_asking_the_verifier(journal):
    # TextWorld's cooking game: eating the raw chicken wing loses it (1 of 3 points); preparing the meal and
    # eating it wins. Rollout 1 loses; two expansions repeat actions (duplicates); rollout 4 branches after
    # `take chicken wing from fridge` and wins.
    game = GAMES["cooking/recipe1/1"]
    take = ("inventory", "examine cookbook", "take chicken wing from fridge")
    plan = {(): ["inventory", "inventory"], take[:1]: ["examine cookbook", "examine cookbook"],
            take[:2]: ["take chicken wing from fridge", "take chicken wing from fridge"],
            take: ["eat chicken wing", "prepare meal"], (*take, "prepare meal"): ["eat meal"]}
    model = ScriptedModel(planned(plan, lambda before: "Good"), name="actor")
    agent = build_recipe("agent-r", model, episode=TW.episode(game), iterations=5, children=2)
    result = await runner.run(agent, game.prompt, journal=journal)
    assert result.ok, result.error
    tree = agent.last.search.tree
    lost, won = tree.nodes[4], tree.nodes[-1]
    assert lost.action == "eat chicken wing" and is_disaster(lost) and lost.record.outcome.info["end"] == "lost"
    assert won.action == "eat meal" and won.record.outcome.info["end"] == "won" and not is_disaster(won)
    [revision] = [s for s in agent.last.samples if s["kind"] == "revision"]
    assert (revision["good_value"], round(revision["bad_value"], 4)) == (1.0, 0.3333)
    assert (revision["divergence"], revision["first_bad"], revision["bad_end"]) == (3, 4, "disaster")
    assert revision["judgements"] == [{"node": 4, "verdict": "disaster", "reply": None}]
    assert not any(VERIFIER in r.messages[0]["content"] for r in model.requests)  # no judgement asked
    replies = [m["content"] for m in revision["conversation"] if m["role"] == "assistant"]
    assert [read_action(r) for r in replies] == [*take, "eat chicken wing", "wait", "prepare meal", "eat meal"]
    assert [m["loss"] for m in revision["conversation"] if m["role"] == "assistant"] == [False] * 4 + [True] * 3
    assert "*** You lost! ***" in revision["conversation"][9]["content"]


def _tree_with_leaves(values: list[float]) -> Tree:
    """A root with one shared first step and, under it, one finished leaf per value."""
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    first = tree.add(tree.root, action="go", reply="Action: go")
    first.record = Record(StepOutcome(Observation("went")), {}, Progress(steps=1))
    for i, value in enumerate(values):
        node = tree.add(first, action=f"end {i}", reply=f"Action: end {i}")
        node.record = Record(StepOutcome(Observation("the end"), done=True), {}, Progress(steps=2, done=True))
        node.reward, node.visits, node.value_sum = Reward(value), 1, value
    return tree


def test_pairs_are_made_only_where_the_values_differ_by_more_than_beta_and_the_good_one_is_above_alpha():
    tree = _tree_with_leaves([1.0, 0.75, 0.5, 0.25, 0.0])  # leaves 2..6
    ranked = leaves(tree)
    assert [(leaf.id, leaf.value) for leaf in ranked] == [(2, 1.0), (3, 0.75), (4, 0.5), (5, 0.25), (6, 0.0)]
    made = pairs(ranked, beta=0.25, alpha=0.5)
    # 1.0 − 0.75 = β exactly is not a pair; 0.5 is not above α, so it is never the good one.
    assert [(p.good.id, p.bad.id) for p in made] == [(2, 6), (2, 5), (2, 4), (3, 6), (3, 5)]
    assert all(p.good.value - p.bad.value > 0.25 for p in made)
    assert all(p.divergence is tree.nodes[1] for p in made)  # the shared first step
    assert [(p.good.id, p.bad.id) for p in pairs(ranked, beta=0.25, alpha=0.5, limit=2)] == [(2, 6), (2, 5)]
    assert pairs(ranked, beta=1.0, alpha=0.0) == []
    # The divergence point is the deepest node both paths pass through.
    a, b = tree.nodes[2], tree.nodes[3]
    assert divergence(a, b) is tree.nodes[1] and divergence(a, a) is a
    # A judged node that later got a stepped child is not a leaf any more.
    tree.nodes[1].reward = Reward(0.3)
    assert 1 not in {leaf.id for leaf in leaves(tree)}


async def test_the_first_bad_step_ends_the_prefix_and_a_disaster_stops_the_walk_before_any_later_step():
    tree = Tree()
    tree.root.record = Record(StepOutcome(Observation("start")), {}, Progress())
    node, chain = tree.root, []
    for i, (done, info) in enumerate([(False, {}), (False, {}), (True, {"end": "lost"}), (False, {})]):
        node = tree.add(node, action=f"step {i}", reply=f"Action: step {i}")
        node.record = Record(StepOutcome(Observation(f"after {i}"), done=done, info=info), {},
                             Progress(steps=i + 1, done=done))
        chain.append(node)
    good = tree.add(tree.root, action="win", reply="Action: win")
    good.record = Record(StepOutcome(Observation("won"), reward=1.0, done=True), {}, Progress(steps=1, done=True))
    pair = Pair(Leaf(good), Leaf(chain[-1]), tree.root)

    def verifier(verdicts: list[str]) -> tuple[Verifier, ScriptedModel, Context]:
        """A verifier with its own run (a verifier judges each node once per run, in scope `verify#<node id>`)."""
        model = ScriptedModel([f"Because.\nJudgement: {v}" for v in verdicts], name="actor")
        return Verifier(model, {}, lambda scope: 0), model, Context(Gateway(run_id=f"r{len(verdicts)}"))

    # Good, then Bad: the Bad step ends the prefix, nothing after it is judged.
    check, model, ctx = verifier(["Good", "Bad"])
    end, why, judged = await first_bad(pair, "t", check, ctx)
    assert (end, why, [j.verdict for j in judged]) == (chain[1], "bad", ["good", "bad"]) and model.calls == 2
    # Good, Uncertain, then the lost game: it ends the prefix with no call, and the walk stops there.
    check, model, ctx = verifier(["Good", "Uncertain", "Good", "Good"])
    end, why, judged = await first_bad(pair, "t", check, ctx)
    assert (end, why, [j.verdict for j in judged]) == (chain[2], "disaster", ["good", "uncertain", "disaster"])
    assert model.calls == 2
    # Each step is judged once: a second pair over the same steps asks nothing again.
    await first_bad(pair, "t", check, ctx)
    assert model.calls == 2


def test_verdicts_thoughts_and_templates():
    assert read_verdict("The key is needed.\nJudgement: Bad") == "bad"
    assert read_verdict("judgment: **Good**.") == "good"
    assert read_verdict("Judgement: Good at first.\nJudgement: Uncertain") == "uncertain"
    assert read_verdict("I think it is good.") == "unreadable"  # no verdict: counted as Bad, as Agent-R does
    assert read_verdict("Judgement: maybe") == "unreadable"
    thoughts = revision_thoughts()
    assert len(thoughts) == 10 == len(set(thoughts))
    picks = Counter(pick_thought(0, good, bad) for good in range(40) for bad in range(40) if good != bad)
    assert set(picks) == set(range(10)) and min(picks.values()) > 100  # all ten in use, none rare
    assert pick_thought(3, 5, 7) == pick_thought(3, 5, 7)


def test_options_are_checked_and_an_episode_that_does_not_step_is_refused():
    with pytest.raises(ConfigError, match="beta"):
        build(ScriptedModel([]), beta=-0.1)
    with pytest.raises(ConfigError, match="window must be at least 1"):
        build(ScriptedModel([]), window=0)
    with pytest.raises(ConfigError, match="agent-r searches over the steps of an episode"):
        build(ScriptedModel([]), episode=Episode(MAZE))


# --- a whole run: harness, export, replay, crash, seeds ------------------------------------------------------

GAME = "simple/dense-detailed/1"  # dense rewards (8 points): rollouts score differently


def one_game_file(path: Path, game: str = GAME) -> Path:
    with gzip.open(GAMES_FILE, "rt", encoding="utf-8") as games, path.open("w", encoding="utf-8") as out:
        out.writelines(line for line in games if json.loads(line)["id"] == game)
    return path


async def test_a_run_in_the_harness_exports_its_samples_with_provenance_and_replays_with_no_model_call(tmp_path):
    out, journal_path, data = tmp_path / "results", tmp_path / "journal.db", tmp_path / "revisions.jsonl"
    cli = [sys.executable, "-m", "agentzoo.cli.main"]
    done = subprocess.run([*cli, "eval", "--env", "textworld", "--tasks", str(one_game_file(tmp_path / "g.jsonl")),
                           "--agent", "agent-r@small", "--model", f"scripted:{HERE / 'agent_r_script.py'}:play",
                           "--out", str(out), "--journal", str(journal_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([*cli, "export", str(out), "--format", "agent-r", "--out", str(data), "--journal",
                           str(journal_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = data.read_text(encoding="utf-8").splitlines()
    assert f"wrote {len(lines)} agent-r samples to {data}" in done.stdout
    exported = [json.loads(line) for line in lines]
    kinds = Counter(r["metadata"]["kind"] for r in exported)
    assert kinds["revision"] >= 1 and kinds["good"] >= 1
    assert len({tuple(sorted(r["metadata"])) for r in exported}) == 1  # one table: every row has every key
    with Journal(journal_path) as journal:
        [run] = journal.list_runs()
        recorded = samples_entry(journal, run.run_id)
        assert len(exported) == len(recorded["samples"])
        for row, sample in zip(exported, recorded["samples"]):
            meta = row["metadata"]
            assert {k: meta[k] for k in ("run_id", "scope", "env", "task", "model", "seed")} == {
                "run_id": run.run_id, "scope": "samples", "env": "textworld", "task": GAME, "model": "play", "seed": 0}
            assert meta["eval"]["agent"] == "agent-r@small" and meta["eval"]["key"].startswith(f"textworld|{GAME}|")
            assert (meta["good_leaf"], meta["good_value"], meta["template"]) == \
                (sample["good_leaf"], sample["good_value"], sample["template"])
            gpt = [t for t in row["conversations"] if t["from"] == "gpt"]
            replies = [m["content"] for m in sample["conversation"] if m["role"] == "assistant"]
            assert [t["value"] for t in gpt] == replies
            assert all(t["loss"] is False for t in row["conversations"] if t["from"] == "human")
            if meta["kind"] == "good":
                assert all(t["loss"] for t in gpt) and meta["bad_leaf"] is None
                continue
            assert meta["good_value"] - meta["bad_value"] > meta["beta"] == 0.2 and meta["good_value"] > 0.5
            assert None not in (meta["bad_leaf"], meta["divergence"]) and meta["first_bad"] is not None
            # loss off on the bad steps, on from the revision turn (`Action: wait`) to the end
            wait = next(i for i, t in enumerate(gpt) if t["value"].endswith("\nAction: wait"))
            assert [t["loss"] for t in gpt] == [False] * wait + [True] * (len(gpt) - wait)
            assert wait == meta["shared_steps"] + meta["bad_steps"]
        # Replayed with no environment and a model with no replies: every call served, the same samples.
        model = ScriptedModel([], name="play")  # the model's name is in each request
        agent = build_recipe("agent-r", model, iterations=4, children=2, max_depth=6)
        replayed = await runner.replay(agent, run.run_id, journal=journal)
        assert replayed.ok and replayed.live_effects == 0 and model.requests == []
        assert agent.last.samples == recorded["samples"]
        assert agent.last.search.tree.to_json() == tree_entry(journal, run.run_id)["nodes"]
    # The export API gives the same rows, from the folder or from the run id; an existing file is refused.
    with Journal(journal_path) as journal:
        assert [r["conversations"] for r in rows(journal, out)] == [r["conversations"] for r in exported]
        assert export_samples(journal, run.run_id, tmp_path / "one.jsonl") == len(exported)
        with pytest.raises(ConfigError, match="exists"):
            export_samples(journal, run.run_id, tmp_path / "one.jsonl")
        assert export_samples(journal, [run.run_id], tmp_path / "one.jsonl", append=True) == len(exported)
    assert len((tmp_path / "one.jsonl").read_text().splitlines()) == 2 * len(exported)
    # What does not apply is refused by name; a run of another agent has no samples to export.
    done = subprocess.run([*cli, "export", str(out), "--format", "agent-r", "--scope", "search", "--journal",
                           str(journal_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and "--scope and --min-reward do not apply" in done.stderr
    with Journal(tmp_path / "other.db") as journal:
        other = await runner.run(build_recipe("react-textgame", ScriptedModel(["look"]), episode=TW.episode(
            GAMES[GAME]), max_steps=1), "x", journal=journal)
        with pytest.raises(ConfigError, match="none of its 1 run.s. recorded agent-r samples"):
            export_samples(journal, other.run_id, tmp_path / "none.jsonl")
    assert not (tmp_path / "none.jsonl").exists()


@pytest.mark.parametrize("kill_after", [5, 14])
async def test_sigkill_mid_run_then_resume_repeats_no_completed_model_call(tmp_path, kill_after):
    crash = HERE / "agent_r_crash.py"
    out = subprocess.run([sys.executable, crash, tmp_path / "ref.db"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with Journal(tmp_path / "ref.db") as journal:
        ref_run = out.stdout.split()[0]
        ref_tree, ref_samples = tree_entry(journal, ref_run), samples_entry(journal, ref_run)
        ref_calls = sum(e.kind == "model" for e in journal.entries(ref_run))
        verifies = sum(e.kind == "model" and e.scope.startswith("verify#") for e in journal.entries(ref_run))
    assert ref_calls > 14 > ref_calls - verifies  # 5 is mid-search, 14 among the judgements
    out = subprocess.run([sys.executable, crash, tmp_path / "j.db", str(kill_after)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        done = [(e.scope, e.seq) for e in journal.entries(run.run_id) if e.kind == "model" and e.status == "ok"]
        assert len(done) == kill_after
        sys.path.insert(0, str(HERE))
        from agent_r_crash import agent, game

        env, task = game()
        model = ScriptedModel(hashed_actor, name="actor")
        resumed = await runner.resume(agent(env.episode(task), model), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert len(model.requests) == ref_calls - kill_after  # nothing asked twice
        entries = [e for e in journal.entries(resumed.run_id) if e.kind == "model"]
        assert len(entries) == ref_calls and set(done) <= {(e.scope, e.seq) for e in entries}
        assert tree_entry(journal, resumed.run_id) == ref_tree
        assert samples_entry(journal, resumed.run_id)["samples"] == ref_samples["samples"]


async def test_the_same_seed_gives_the_same_tree_and_samples_and_another_seed_another(tmp_path):
    game = GAMES[GAME]
    seen = []
    for i, seed in enumerate((3, 3, 4)):
        with Journal(tmp_path / f"j{i}.db") as journal:
            agent = build_recipe("agent-r", ScriptedModel(hashed_actor, name="actor"), episode=TW.episode(game),
                                 iterations=4, children=2, max_depth=6, seed=seed)
            run = await runner.run(agent, game.prompt, journal=journal)
            assert run.ok, run.error
            seen.append((tree_entry(journal, run.run_id)["nodes"], samples_entry(journal, run.run_id)["samples"]))
            seeds = {e.request.get("seed") for e in journal.entries(run.run_id) if e.kind == "model"}
            assert len(seeds) == sum(e.kind == "model" for e in journal.entries(run.run_id))  # one per call
    assert seen[0] == seen[1]
    assert seen[0][0] != seen[2][0]


async def test_a_search_budget_stops_the_search_cleanly_and_the_run_still_records_its_samples(journal):
    game = GAMES[GAME]
    model = ScriptedModel(hashed_actor, name="actor")
    agent = build_recipe("agent-r", model, episode=TW.episode(game), iterations=4, children=2, max_depth=6,
                         budget_model_calls=8)
    run = await runner.run(agent, game.prompt, journal=journal)
    assert run.ok, run.error
    assert agent.last.search.stopped.startswith("budget:") and "model_calls" in agent.last.search.stopped
    assert sum(1 for e in journal.entries(run.run_id) if e.kind == "model" and e.scope.startswith("search/")) == 8
    # The first rollout (6 actions) was judged; the two expansions after it repeated actions (duplicates).
    assert [leaf.node.depth for leaf in agent.last.leaves] == [6]
    assert samples_entry(journal, run.run_id)["leaves"] == [
        {"node": leaf.id, "value": leaf.value, "finished": leaf.node.finished, "disaster": False,
         "depth": leaf.node.depth} for leaf in agent.last.leaves]


# --- the shipped local model ---------------------------------------------------------------------------------


async def test_the_local_model_runs_a_tiny_search_on_a_textworld_game_and_the_export_is_well_formed(tmp_path):
    from agentzoo.models.local import LocalModel

    game = GAMES["coin/level5/1"]
    async with LocalModel() as model:
        agent = build_recipe("agent-r", model, episode=TW.episode(game), iterations=2, children=2, max_depth=2,
                             max_tokens=40)
        with Journal(tmp_path / "j.db") as journal:
            run = await runner.run(agent, game.prompt, journal=journal)
            assert run.ok, run.error
            recorded = samples_entry(journal, run.run_id)
            count = export_samples(journal, run.run_id, tmp_path / "out.jsonl")
    tree = agent.last.search.tree
    assert 2 <= len(tree) <= 1 + 2 * 2 and recorded["model"] == "local:smollm2-135m"
    assert [leaf["node"] for leaf in recorded["leaves"]] == [leaf.id for leaf in agent.last.leaves]
    assert count == len(recorded["samples"])
    for line in (tmp_path / "out.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["metadata"]["run_id"] == run.run_id and row["conversations"][0]["from"] == "human"
