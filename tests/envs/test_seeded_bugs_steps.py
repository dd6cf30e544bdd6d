"""Seeded bugs as a step environment: the grammar, each action on the working copy (edits that match once, or
not at all, or twice; files created; views of a range; tests run on the copy failing and then passing after
the gold edit), the diff `finish` submits (it round-trips through `apply_patch` on every task), snapshot and
restore, the rules, the text loop's oracle through `agentzoo eval`, replay with no sandbox run, the episode of
the four tools that also steps, and issue 14's evidence through the step core's conformance helpers."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from agentzoo import _json
from agentzoo.agents.stepper import build as build_stepper, read_action as stepper_read_action
from agentzoo.envs import seeded_bugs_steps, stepping
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.seeded_bugs import SYSTEM, SeededBugs, apply_patch, make_patch
from agentzoo.envs.seeded_bugs_actions import (ActionError, edit_text, gold_actions, make_edit, parse_action,
                                               read_action, split_lines)
from agentzoo.envs.seeded_bugs_steps import VIEW_LINES, RepoEpisode
from agentzoo.envs.step import StepEnvironment, StepEpisode
from agentzoo.errors import ConfigError, UserError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal

import step_conformance as conformance

ENV = SeededBugs()
TASKS = {t.id: t for t in ENV.tasks()}
INTERVALS, TEXTKIT = TASKS["intervals-1"], TASKS["textkit-1"]
STEPPER = "agentzoo.agents.stepper:build"


async def started(task, env=ENV):
    episode = env.step_episode(task)
    await episode.reset()
    return episode


def block(path, search, replace):
    return edit_text(path, search.split("\n") if search else [], replace.split("\n") if replace else [])


# --- the grammar ---------------------------------------------------------------------------------------------


def test_the_grammar_reads_each_action_and_its_normal_form():
    cases = {
        "list": ("list", "list"), "  LIST  tests/ ": ("list", "list tests"), "view\ta.py": ("view", "view a.py"),
        "view pkg/a.py": ("view", "view pkg/a.py"), "view ./pkg/a.py  3-9": ("view", "view pkg/a.py 3-9"),
        "search  x  =  1": ("search", "search x = 1"),
        "run_tests": ("run_tests", "run_tests"),
        "run_tests t.py::a  t.py::b": ("run_tests", "run_tests t.py::a t.py::b"),
        "finish": ("finish", "finish"), "\n\nfinish\n": ("finish", "finish"),
    }
    for text, (verb, key) in cases.items():
        action = parse_action(text)
        assert (action.verb, action.key) == (verb, key), text
    edit = parse_action("edit a.py\n<<<<<<< SEARCH\n    x = 1\n\n=======\n    x = 2\n>>>>>>> REPLACE\n")
    assert (edit.path, edit.search, edit.replace) == ("a.py", ("    x = 1", ""), ("    x = 2",))
    fenced = parse_action("edit a.py\n```python\n<<<<<<< SEARCH\n    x = 1\n\n=======\n    x = 2\n>>>>>>> REPLACE\n```")
    assert (fenced.search, fenced.replace, fenced.key) == (edit.search, edit.replace, edit.key)
    assert edit.key.startswith("edit a.py ") and edit.key != parse_action(block("a.py", "x = 1", "x = 3")).key
    create = parse_action("edit new.py\n<<<<<<< SEARCH\n=======\nprint(1)\n>>>>>>> REPLACE")
    assert (create.search, create.replace) == ((), ("print(1)",))
    script = parse_action("run_script\n```python\nprint('hi')\n```")
    assert script.text == "print('hi')\n" and parse_action("run_script print(2)").text == "print(2)\n"
    assert parse_action("run_script\nprint('hi')").key == script.key


def test_a_malformed_action_says_what_is_wrong():
    cases = {
        "": "the action is empty", "dance": "'dance' is not an action",
        "view": "`view` needs a path", "view /etc/passwd": "not a path in the repository",
        "view ../x.py": "not a path in the repository", "view a.py 9-3": "'9-3' is not a range of lines",
        "view a.py 0-3": "'0-3' is not a range", "view a.py 12": "'12' is not a range",
        "search": "`search` needs the text", "list\nmore": "`list` is one line",
        "finish now": "`finish` takes nothing after it", "run_script": "`run_script` needs Python code",
        "edit a.py": "needs a SEARCH/REPLACE block", "edit\n<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE": "needs a path",
        "edit a.py\nx = 1\n=======\ny\n>>>>>>> REPLACE": "must start with a line `<<<<<<< SEARCH`",
        "edit a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE": "no line `=======`",
        "edit a.py\n<<<<<<< SEARCH\nx\n=======\ny\n": "does not end with a line `>>>>>>> REPLACE`",
        "edit a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\nedit b.py": "one block per edit action",
    }
    for text, why in cases.items():
        with pytest.raises(ActionError, match=why.replace("(", r"\(").replace("`", "`")):
            parse_action(text)


def test_an_action_is_read_from_a_reply_with_its_lines():
    edit = block("a.py", "x = 1", "x = 2")
    assert read_action(f"I will fix it.\nAction: {edit}") == edit
    assert read_action("Let me look.\nAction: view a.py 1-5\nand then I edit it") == "view a.py 1-5"
    assert read_action(f"  {edit}\n") == edit  # no marker: the whole reply
    assert read_action("Action: run_script\nprint(1)") == "run_script\nprint(1)"


# --- the actions ----------------------------------------------------------------------------------------------


async def test_list_view_and_search_read_the_working_copy():
    episode = await started(INTERVALS)
    first = await ENV.step_episode(INTERVALS).reset()
    assert first.text.startswith("The repository has 6 files:\nREADME.md\nintervals/__init__.py")
    listed = (await episode.step("list tests")).observation.text
    assert listed == "2 files under tests/:\ntests/test_core.py\ntests/test_ops.py"
    view = await episode.step("view intervals/core.py 35-36")
    assert view.observation.text == ("intervals/core.py, lines 35-36 of 41:\n    35\t    for current in ordered:\n"
                                     "    36\t        if merged and current.start < merged[-1].end:")
    assert (view.reward, view.done, view.info) == (0.0, False, {"action": "view intervals/core.py 35-36"})
    whole = (await episode.step("view intervals/core.py")).observation.text
    assert whole.startswith("intervals/core.py, lines 1-41 of 41:\n     1\t") and "[Lines" not in whole
    beyond = await episode.step("view intervals/core.py 50-60")
    assert beyond.observation.text == "intervals/core.py has 41 lines; there is no line 50."
    assert (await episode.step("view intervals")).observation.text == (
        "There is no file intervals. Files under intervals/: intervals/__init__.py, intervals/core.py, "
        "intervals/ops.py.")
    found = (await episode.step("search merged[-1]")).observation.text
    assert found.splitlines() == ["3 lines contain `merged[-1]`:",
                                  "intervals/core.py:36:         if merged and current.start < merged[-1].end:",
                                  "intervals/core.py:37:             last = merged[-1]",
                                  "intervals/core.py:38:             merged[-1] = Interval(last.start, "
                                  "max(last.end, current.end))"]
    assert (await episode.step("search nowhere to be found")).observation.text == (
        "No line of the repository contains `nowhere to be found`.")


async def test_long_files_and_many_matches_are_cut_saying_what_was_left_out():
    repo = {"big.py": "".join(f"x{n} = {n}\n" for n in range(1, 451))}
    episode = RepoEpisode(repo)
    await episode.reset()
    text = (await episode.step("view big.py")).observation.text
    assert text.startswith(f"big.py, lines 1-{VIEW_LINES} of 450:")
    assert text.endswith(f"[Lines {VIEW_LINES + 1}-450 are not shown: `view big.py {VIEW_LINES + 1}-{2 * VIEW_LINES}` "
                         "shows the next ones.]")
    ranged = (await episode.step("view big.py 100-420")).observation.text
    assert ranged.endswith(f"[Lines {99 + VIEW_LINES + 1}-420 are not shown: `view big.py {99 + VIEW_LINES + 1}-420` "
                           "shows the next ones.]")
    hits = (await episode.step("search x")).observation.text.splitlines()
    assert hits[0] == "450 lines contain `x`:" and len(hits) == 1 + seeded_bugs_steps.SEARCH_HITS + 1
    assert hits[-1] == "[400 more not shown: search for something longer.]"


async def test_an_edit_replaces_lines_found_once_and_changes_nothing_otherwise():
    episode = await started(INTERVALS)
    before = dict(episode.files)
    missing = await episode.step(block("intervals/core.py", "if merged and current.start < merged[-1].end:", "x"))
    assert missing.observation.text == (
        "Nothing changed: the SEARCH lines occur 0 times in intervals/core.py. With the white space at the ends of "
        "each line not counted they would start at line 36: copy the lines exactly as `view` shows them, without "
        "the line numbers.")
    assert "parse_error" not in missing.info and episode.files == before
    nowhere = await episode.step(block("intervals/core.py", "no such line", "x"))
    assert nowhere.observation.text.endswith("`view intervals/core.py` shows its lines as they are.")
    empty = await episode.step(block("intervals/core.py", "", "x"))
    assert empty.observation.text.startswith("Nothing changed: the SEARCH part is empty, but intervals/core.py exists")
    repeated = await episode.step(block("tests/test_core.py", "", "x"))
    assert "exists" in repeated.observation.text and episode.files == before and episode.snapshot() == {"edits": {}}

    done = await episode.step(block("intervals/core.py", "        if merged and current.start < merged[-1].end:",
                                    "        if merged and current.start <= merged[-1].end:"))
    assert done.observation.text.splitlines()[0] == ("Edited intervals/core.py: replaced 1 line with 1 line. "
                                                     "Lines 33-39 of 41 now:")
    assert "    36\t        if merged and current.start <= merged[-1].end:" in done.observation.text
    assert done.observation.data == {"changed": ["intervals/core.py"]}
    assert episode.files["intervals/core.py"] == apply_patch(before, INTERVALS.gold)["intervals/core.py"]


async def test_an_edit_found_twice_names_the_lines_and_one_with_empty_search_creates_a_file():
    episode = RepoEpisode({"a.py": "x = 1\ny = 2\nx = 1\n", "empty.py": ""})
    await episode.reset()
    twice = await episode.step(block("a.py", "x = 1", "x = 3"))
    assert twice.observation.text == ("Nothing changed: the SEARCH lines occur 2 times in a.py (starting at lines "
                                      "1, 3); add lines around them so that they occur once.")
    once = await episode.step(block("a.py", "x = 1\ny = 2", "x = 3\ny = 2"))
    assert episode.files["a.py"] == "x = 3\ny = 2\nx = 1\n" and "replaced 2 lines with 2 lines" in once.observation.text
    nofile = await episode.step(block("pkg/new.py", "a = 1", "b = 2"))
    assert nofile.observation.text.startswith("Nothing changed: there is no file pkg/new.py. To create it, leave")
    created = await episode.step(block("pkg/new.py", "", "def f():\n    return 1"))
    assert created.observation.text == "Created pkg/new.py (2 lines)."
    assert episode.files["pkg/new.py"] == "def f():\n    return 1\n"
    folder = await episode.step(block("pkg", "", "x"))
    assert folder.observation.text == ("Nothing changed: pkg cannot be a file, because pkg/new.py is one under it: "
                                       "a path cannot be both a file and a folder.")
    inside = await episode.step(block("a.py/b.py", "", "x"))
    assert inside.observation.text.startswith("Nothing changed: a.py/b.py cannot be a file, because a.py is one:")
    filled = await episode.step(block("empty.py", "", "z = 0"))
    assert episode.files["empty.py"] == "z = 0\n" and filled.observation.text.startswith("Edited empty.py")
    assert episode.snapshot() == {"edits": {"a.py": "x = 3\ny = 2\nx = 1\n", "empty.py": "z = 0\n",
                                            "pkg/new.py": "def f():\n    return 1\n"}}
    assert make_edit("x\ny", ("y",), ("z",)).text == "x\nz"  # no last newline: still none


async def test_run_tests_runs_the_working_copy_failing_then_passing_after_the_gold_edit():
    episode = await started(TEXTKIT)
    assert (await episode.step("run_tests")).observation.text == "All 9 tests passed."  # the visible suite
    issue = ENV.hidden_tests(TEXTKIT)["tests/test_issue.py"]
    await episode.step(edit_text("tests/test_issue.py", [], split_lines(issue)[0]))
    failing = await episode.step("run_tests")
    f2p = TEXTKIT.data["fail_to_pass"]
    assert failing.observation.text.splitlines()[0] == f"9 passed, 2 failed: {f2p[0]}, {f2p[1]}."
    assert f"{f2p[0]} failed with:\nAssertionError" in failing.observation.text
    assert failing.observation.data["tests"] == {"passed": 9, "failed": f2p}
    assert (failing.reward, failing.done, failing.info) == (0.0, False, {"action": "run_tests"})
    edit, finish = ENV.gold_actions(TEXTKIT)
    await episode.step(edit)
    passing = await episode.step(f"run_tests {' '.join(f2p)}")
    assert passing.observation.text == "All 2 tests passed." and passing.info["action"] == f"run_tests {' '.join(f2p)}"
    unknown = await episode.step("run_tests tests/test_slug.py::nope")
    assert unknown.observation.text.endswith("tests/test_slug.py::nope failed with:\nnot found")
    script = await episode.step('run_script\nfrom textkit import slugify\nprint(slugify("  Hi there!  "))\n1 / 0')
    assert script.observation.text.startswith("The script printed:\nhi-there\n")
    assert "ZeroDivisionError" in script.observation.text
    assert ENV.repository(TEXTKIT) == episode.original  # the sandbox wrote nothing back
    assert sorted(episode.files) == sorted([*episode.original, "tests/test_issue.py"])


async def test_finish_submits_the_diff_and_ends_the_episode():
    episode = await started(INTERVALS)
    edit, finish = ENV.gold_actions(INTERVALS)
    await episode.step(edit)
    done = await episode.step(finish)
    assert done.done and done.reward == 0.0 and done.info["action"] == "finish"
    assert apply_patch(ENV.repository(INTERVALS), done.info["answer"]) == apply_patch(ENV.repository(INTERVALS),
                                                                                      INTERVALS.gold)
    assert done.observation.text.startswith("Finished. Submitted the changes to intervals/core.py:\ndiff --git")
    assert episode.snapshot()["finished"] is True
    after = await episode.step("list")
    assert after.done and after.info == {"ended": True} and after.observation.text.startswith("The episode has ended")
    empty = await started(INTERVALS)
    nothing = await empty.step("finish")
    assert nothing.done and nothing.info["answer"] == "" and "no change to the repository" in nothing.observation.text


# --- the diff -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_the_diff_of_the_gold_applies_back_to_the_same_files(task_id, tmp_path):
    task = TASKS[task_id]
    repo = ENV.repository(task)
    fixed = apply_patch(repo, task.gold)
    diff = make_patch(repo, fixed)
    assert diff.startswith("diff --git a/") and apply_patch(repo, diff) == fixed
    assert make_patch(repo, repo) == ""
    if shutil.which("git"):  # what SWE-bench's harness applies with
        for path, text in repo.items():
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text)
        (tmp_path / "fix.diff").write_text(diff)
        done = subprocess.run(["git", "apply", "fix.diff"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert {p: (tmp_path / p).read_text() for p in fixed} == fixed


def test_the_diff_round_trips_created_deleted_unterminated_and_form_feed_files():
    before = {"a.py": "one\ntwo\nthree\n", "b.py": "x\ny", "gone.py": "bye\n", "ff.py": "a\x0cb\nc\n", "e.py": "",
              "drop.py": ""}
    after = {"a.py": "one\n2\nthree\nfour", "b.py": "x\nz\n", "new/c.py": "hello\n", "ff.py": "a\x0cb\nC\n",
             "e.py": "now\n", "new/empty.py": ""}
    diff = make_patch(before, after)
    assert apply_patch(before, diff) == after
    assert "\\ No newline at end of file" in diff and "--- /dev/null\n+++ b/new/c.py" in diff
    assert "--- a/gone.py\n+++ /dev/null" in diff


# --- the gold as actions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", sorted(TASKS))
async def test_the_gold_as_actions_makes_the_gold_files_and_the_text_loop_reads_each_reply_whole(task_id):
    task = TASKS[task_id]
    actions = ENV.gold_actions(task)
    assert actions[-1] == "finish" and all(a.startswith("edit ") for a in actions[:-1])
    episode = await started(task)
    for action in actions:
        outcome = await episode.step(action)
        assert "parse_error" not in outcome.info and "Nothing changed" not in outcome.observation.text
    assert episode.files == apply_patch(ENV.repository(task), task.gold)
    replies = ENV.oracle(task, "stepper")
    assert [stepper_read_action(r) for r in replies] == actions == [read_action(r) for r in replies]
    assert ENV.oracle(task, STEPPER) == replies


def test_the_gold_as_actions_widens_a_block_until_it_is_found_once_and_refuses_what_it_cannot_write():
    before = {"a.py": "x = 1\n" * 5 + "y = 2\n" + "x = 1\n" * 5}
    after = {"a.py": "x = 1\n" * 5 + "y = 3\n" + "x = 1\n" * 5, "new.py": "print(1)\n"}
    actions = gold_actions(before, after)
    assert actions[0] == block("a.py", "x = 1\nx = 1\nx = 1\ny = 2\nx = 1\nx = 1\nx = 1",
                               "x = 1\nx = 1\nx = 1\ny = 3\nx = 1\nx = 1\nx = 1")
    assert actions[1:] == [block("new.py", "", "print(1)"), "finish"]
    two = gold_actions({"a.py": "".join(f"l{n}\n" for n in range(30))},
                       {"a.py": "".join(f"l{n}\n" if n not in (3, 25) else "L\n" for n in range(30))})
    assert len(two) == 3
    with pytest.raises(ConfigError, match="deletes gone.py"):
        gold_actions({"gone.py": "x\n"}, {})
    with pytest.raises(ConfigError, match="ends with a newline"):
        gold_actions({"a.py": "x\n"}, {"a.py": "y"})


# --- snapshot, restore, rules ------------------------------------------------------------------------------------


async def test_the_snapshot_is_the_edits_and_restores_on_a_fresh_episode():
    assert isinstance(ENV, StepEnvironment) and isinstance(ENV.step_episode(TEXTKIT), StepEpisode)
    assert ENV.action_space(TEXTKIT) == ENV.step_episode(TEXTKIT).action_space  # the prompt needs no episode
    episode = await started(TEXTKIT)
    await episode.step(ENV.gold_actions(TEXTKIT)[0])
    await episode.step(block("notes.txt", "", "a note"))
    saved = episode.snapshot()
    assert sorted(saved) == ["edits"] and sorted(saved["edits"]) == ["notes.txt", "textkit/slug.py"]
    assert len(json.dumps(saved)) < 2_000  # the changed files only
    fresh = ENV.step_episode(TEXTKIT)  # never reset
    fresh.restore(json.loads(json.dumps(saved)))
    assert fresh.files == episode.files and fresh.snapshot() == saved
    deleted = ENV.step_episode(TEXTKIT)
    deleted.restore({"edits": {"README.md": None}})
    assert "README.md" not in deleted.files and deleted.snapshot() == {"edits": {"README.md": None}}
    assert "deleted file mode" in deleted.diff()
    for bad in ({}, {"edits": []}, {"edits": {"../x": "y"}}, {"edits": {"a.py": 3}}):
        with pytest.raises(UserError, match="a seeded-bugs snapshot is"):
            ENV.step_episode(TEXTKIT).restore(bad)


async def test_snapshot_five_steps_restore_gives_the_same_observations():
    edit, _ = ENV.gold_actions(TEXTKIT)
    probe = ["view textkit/slug.py 15-22", "search strip", "run_tests",
             block("textkit/slug.py", "import re", "import re  # x"),
             "view textkit/slug.py 1-5", "dance"]
    await conformance.restore_gives_the_same_observations(SeededBugs(), TEXTKIT, prefix=[edit], probe=probe)


async def test_the_rules_count_unparsable_and_identical_actions():
    driver = stepping.StepDriver(ENV, INTERVALS)
    for _ in range(3):
        outcome = await driver.step("look around")
    assert outcome.done and driver.progress.stopped == "3 unparsable actions in a row"
    assert "parse_error" in outcome.info and "`view <path>`" in outcome.observation.text
    driver = stepping.StepDriver(ENV, INTERVALS)
    for action in ["view README.md", "view intervals/core.py", "view   intervals/core.py", "view intervals/core.py"]:
        outcome = await driver.step(action)
    assert driver.progress.stopped == "3 identical actions" and driver.progress.steps == 4


# --- the episode of the four tools also steps ----------------------------------------------------------------------


async def test_the_tools_episode_keeps_its_four_tools_and_a_driver_a_stepper_finishes_with(tmp_path):
    episode = ENV.episode(TEXTKIT)
    assert [t.name for t in episode.tools] == ["list_files", "read_file", "run_tests", "run_script"]
    driver = stepping.driver_of(episode)
    assert not driver.started and driver.performed == 0 and driver._episode is None  # nothing made until stepped
    assert episode.system == SYSTEM and episode.prompt == TEXTKIT.prompt  # what tool agents are told, as before
    model = ScriptedModel(ENV.oracle(TEXTKIT, STEPPER))
    result = await runner.run(build_stepper(model, episode=episode), TEXTKIT.prompt, journal=Journal(tmp_path / "j.db"))
    assert result.ok and result.answer.startswith("diff --git a/textkit/slug.py b/textkit/slug.py\n")
    assert stepping.progress_of(episode).done and driver.performed == 3  # reset, edit, finish
    score = await ENV.score(episode, result.answer, ScoringContext())
    assert score.success and score.details["answer_from"] == "finish"
    # No diff in the answer: the one finish submitted is scored; a diff in the answer is scored instead.
    assert (await ENV.score(episode, None, ScoringContext())).success
    wrong = TEXTKIT.gold.replace(".strip(separator)", '.strip("-")')
    assert not (await ENV.score(episode, f"```diff\n{wrong}```", ScoringContext())).success
    untouched = ENV.episode(TEXTKIT)
    assert (await ENV.score(untouched, None, ScoringContext())).details == {"applied": False,
                                                                           "error": "the answer holds no diff"}


def test_the_stepper_oracle_scores_full_through_agentzoo_eval(tmp_path):
    rows = conformance.oracle_scores_full_through_cli("seeded-bugs", tmp_path, agents=STEPPER)
    assert sorted(r["task"] for r in rows) == sorted(TASKS)


async def test_the_text_loop_replays_with_no_environment_and_no_sandbox_run(tmp_path, monkeypatch):
    edit, finish = ENV.gold_actions(INTERVALS)
    replies = ["Action: run_tests", edit, "Action: run_tests", "Action: finish"]
    episode = ENV.episode(INTERVALS)
    journal = Journal(tmp_path / "j.db")
    live = await runner.run(build_stepper(ScriptedModel(replies), episode=episode), INTERVALS.prompt, journal=journal)
    assert live.ok and "All 7 tests passed." in live.messages[3]["content"]
    assert [e.kind for e in journal.entries(live.run_id)].count("env") == 5

    async def no_sandbox(*args, **kwargs):
        raise AssertionError("a replay ran a program in the sandbox")

    monkeypatch.setattr(seeded_bugs_steps, "run_program", no_sandbox)
    replayed = await runner.replay(build_stepper(ScriptedModel([])), live.run_id, journal=journal)
    assert replayed.ok and replayed.answer == live.answer and replayed.live_effects == 0
    assert _json.dumps(replayed.messages) == _json.dumps(live.messages)


# --- interface="steps": the grammar for tool agents, and issue 14's evidence ----------------------------------------


def test_the_interface_is_checked():
    with pytest.raises(ConfigError, match="interface must be one of tools, steps, got 'shell'"):
        SeededBugs(interface="shell")


async def test_tool_agents_act_in_the_grammar_and_score_what_finish_submitted(tmp_path):
    env = SeededBugs(interface="steps")
    episode = env.episode(TEXTKIT)
    assert [t.name for t in episode.tools] == ["act", "observe"] and episode.system is None
    assert "`edit <path>`, then one SEARCH/REPLACE block" in episode.prompt
    assert "The repository has 6 files:\nREADME.md\ntests/test_slug.py" in episode.prompt
    samples = expand({env.name: env}, ["tool-calling", "codeact"], ["oracle"], 1)
    progress = await run_eval(samples, {env.name: env}, EvalConfig(out=tmp_path, concurrency=4))
    store = ResultStore(tmp_path / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(rows) == 12 and progress.infra_errors == 0
    assert all(r["success"] and r["score"]["answer_from"] == "finish" for r in rows), [
        (r["key"], r["score"], r["error"]) for r in rows if not r["success"]]


async def test_a_perturbed_oracle_scores_less():
    await conformance.perturbed_oracle_scores_less(SeededBugs(interface="steps"), [TEXTKIT, INTERVALS])


async def test_a_run_replays_byte_for_byte_without_the_environment(tmp_path):
    live = await conformance.replays_without_touching_the_environment(SeededBugs(interface="steps"), INTERVALS,
                                                                      tmp_path)
    assert any("Finished. Submitted the changes to intervals/core.py" in str(m.get("content")) for m in live.messages)


def test_sigkill_mid_episode_then_resume_repeats_no_step(tmp_path):
    conformance.sigkill_then_resume_repeats_no_step("seeded-bugs", TEXTKIT.id, tmp_path, pause_at=2,
                                                    options={"interface": "steps"})
