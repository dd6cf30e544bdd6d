"""Seeded bugs: every task's bug is real and its gold patch fixes it (in the sandbox, and under real
pytest on the host, with the same verdict per test), the scorer tells fixes from near misses, the
tools work, and the oracle passes through the whole harness with the tool-calling and CodeAct agents."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from agentzoo.envs.base import ScoringContext
from agentzoo.envs.seeded_bugs import (PatchError, SeededBugs, apply_patch, extract_patch, parse_test_result,
                                       run_program, runner_program)
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore

ENV = SeededBugs()


def task(task_id):
    return next(t for t in ENV.tasks() if t.id == task_id)


async def sandbox_run(files, tests=None):
    result = await run_program(runner_program({"mode": "tests", "files": files, "tests": tests}))
    return parse_test_result(result)


async def host_pytest_run(files, tmp_path):
    """The same runner program with the host's Python, which has pytest: the reference verdicts."""
    tmp_path.mkdir(parents=True)
    program = runner_program({"mode": "tests", "files": files, "tests": None})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", program, cwd=tmp_path,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    line = next(line for line in out.decode().splitlines() if line.startswith("@@seeded-bugs-result@@ "))
    return json.loads(line.split(" ", 1)[1])


async def test_every_bug_is_real_and_its_gold_patch_fixes_it(tmp_path):
    tasks = ENV.tasks()
    assert [t.id for t in tasks] == ["cachelib-1", "calkit-1", "iniparse-1", "intervals-1", "ledger-1", "textkit-1"]
    states = []
    for t in tasks:
        repo, hidden = ENV.repository(t), ENV.hidden_tests(t)
        assert set(hidden) == {"tests/test_issue.py"} and "tests/test_issue.py" not in repo
        assert t.prompt and t.data["fail_to_pass"] and t.data["pass_to_pass"]
        states += [(t, "before", {**repo, **hidden}), (t, "after", {**apply_patch(repo, t.gold), **hidden})]
    sandbox = await asyncio.gather(*(sandbox_run(files) for _, _, files in states))
    host = await asyncio.gather(*(host_pytest_run(files, tmp_path / f"{t.id}-{when}") for t, when, files in states))
    for (t, when, _), got, reference in zip(states, sandbox, host):
        f2p, p2p = t.data["fail_to_pass"], t.data["pass_to_pass"]
        assert reference["runner"] == "pytest"  # the sandbox has pytest or uses the built-in runner
        assert sorted(got["passed"]) == sorted(reference["passed"]), (t.id, when)
        assert sorted(got["failed"]) == sorted(reference["failed"]), (t.id, when)
        if when == "before":
            assert sorted(got["passed"]) == sorted(p2p) and sorted(got["failed"]) == sorted(f2p), t.id
        else:
            assert sorted(got["passed"]) == sorted(f2p + p2p) and not got["failed"], t.id


async def test_the_scorer_resolves_the_gold_patch_and_nothing_less():
    t = task("textkit-1")
    episode = ENV.episode(t)
    gold = await ENV.score(episode, ENV.oracle(t, "tool-calling")[0], None)
    assert gold.success and gold.reward == 1.0
    assert gold.details["fail_to_pass"] == {"passed": 2, "total": 2, "failed": {}}
    assert gold.details["tier"] in ("bwrap", "landlock")
    # Strips dashes only: the custom-separator test of the issue still fails.
    near_miss = t.gold.replace(".strip(separator)", '.strip("-")')
    half = await ENV.score(episode, f"```diff\n{near_miss}```", None)
    assert not half.success and list(half.details["fail_to_pass"]["failed"]) == [
        "tests/test_issue.py::test_no_separator_at_the_ends_with_custom_separator"]
    # Deleting the visible tests fails pass-to-pass; writing the hidden test file changes nothing.
    cheat = ("--- a/tests/test_slug.py\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-from textkit import slugify\n-\n-\n"
             "--- /dev/null\n+++ b/tests/test_issue.py\n@@ -0,0 +1,2 @@\n+def test_no_separator_at_the_ends():\n+    pass\n")
    with pytest.raises(PatchError, match="deletes it, but 14 line"):  # the hunk does not cover the whole file
        apply_patch(ENV.repository(t), cheat)
    repo = ENV.repository(t)
    deletion = "".join(f"-{line}" for line in repo["tests/test_slug.py"].splitlines(True))
    cheat = (f"--- a/tests/test_slug.py\n+++ /dev/null\n@@ -1,{len(repo['tests/test_slug.py'].splitlines())} +0,0 @@\n"
             f"{deletion}--- /dev/null\n+++ b/tests/test_issue.py\n@@ -0,0 +1,2 @@\n"
             "+def test_no_separator_at_the_ends():\n+    pass\n")
    cheated = await ENV.score(episode, cheat, None)
    assert not cheated.success and cheated.details["pass_to_pass"]["failed"] == {
        f"tests/test_slug.py::{name}": "not found" for name in ("test_words_are_joined_with_dashes",
                                                               "test_accents_are_dropped", "test_underscores_are_kept",
                                                               "test_custom_separator")}
    assert cheated.details["fail_to_pass"]["passed"] == 0
    assert (await ENV.score(episode, "I could not fix it.", None)).details == {
        "applied": False, "error": "the answer holds no diff"}
    stale = t.gold.replace("text = _ascii(text).lower()", "text = text.lower()")
    assert (await ENV.score(episode, stale, None)).details == {
        "applied": False, "error": "textkit/slug.py: hunk 1 (@@ -19) does not match the file"}
    unsafe = await ENV.score(episode, t.gold, ScoringContext(tier="unsafe", allow_unsafe=True))
    assert unsafe.success and unsafe.details["tier"] == "unsafe"


async def test_the_tools_read_the_repository_and_run_tests_and_scripts_on_patched_copies():
    t = task("intervals-1")
    tools = {tool.name: tool for tool in ENV.episode(t).tools}
    assert list(tools) == ["list_files", "read_file", "run_tests", "run_script"]
    assert await tools["list_files"].fn() == ["README.md", "intervals/__init__.py", "intervals/core.py",
                                              "intervals/ops.py", "tests/test_core.py", "tests/test_ops.py"]
    assert "def merge(intervals):" in await tools["read_file"].fn("intervals/core.py")
    with pytest.raises(FileNotFoundError):
        await tools["read_file"].fn("intervals/missing.py")
    before = await tools["run_tests"].fn()
    assert before["applied"] and sorted(before["passed"]) == sorted(t.data["pass_to_pass"]) and not before["failed"]
    # A wrong fix that makes touching intervals overlap breaks a visible test: regression tests see it.
    wrong = ("--- a/intervals/core.py\n+++ b/intervals/core.py\n@@ -19,1 +19,1 @@\n"
             "-        return self.start < other.end and other.start < self.end\n"
             "+        return self.start <= other.end and other.start <= self.end\n")
    only = ["tests/test_core.py::test_touching_intervals_do_not_overlap", "tests/test_ops.py::test_gaps_between_disjoint_intervals"]
    broken = await tools["run_tests"].fn(wrong, only)
    assert broken["passed"] == ["tests/test_ops.py::test_gaps_between_disjoint_intervals"]
    assert list(broken["failed"]) == ["tests/test_core.py::test_touching_intervals_do_not_overlap"]
    assert "AssertionError" in broken["failed"]["tests/test_core.py::test_touching_intervals_do_not_overlap"]
    assert await tools["run_tests"].fn("--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n") == {
        "applied": False, "error": "nope.py: no such file in the repository"}
    script = "from intervals import Interval, merge\nprint(merge([Interval(1, 3), Interval(3, 5)]))\nprint(1 / 0)\n"
    out = await tools["run_script"].fn(script)
    assert out["output"].startswith("[Interval(1, 3), Interval(3, 5)]\n") and "ZeroDivisionError" in out["output"]
    fixed = await tools["run_script"].fn(script, t.gold)
    assert fixed["output"].startswith("[Interval(1, 5)]\n")


def test_patches_apply_strictly_but_may_move():
    files = {"a.py": "one\ntwo\nthree\nfour\n", "b.py": "x\ny"}
    moved = "--- a/a.py\n+++ b/a.py\n@@ -9,2 +9,2 @@\n two\n-three\n+THREE\n"  # header says line 9
    assert apply_patch(files, moved)["a.py"] == "one\ntwo\nTHREE\nfour\n"
    no_eol = "--- a/b.py\n+++ b/b.py\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n"
    assert apply_patch(files, no_eol)["b.py"] == "x\nz\n"
    created = apply_patch(files, "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n")
    assert created["pkg/new.py"] == "a = 1\nb = 2\n"
    deleted = apply_patch(files, "diff --git a/b.py b/b.py\n--- a/b.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n"
                                 "\\ No newline at end of file\n")
    assert "b.py" not in deleted
    blank_context = "--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
    assert apply_patch({"a.py": "one\ntwo\nthree\n"}, blank_context)["a.py"] == "one\n2\nthree\n"
    assert apply_patch({"a.py": "\nx\n"}, "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n\n-x\n+y\n")["a.py"] == "\ny\n"
    for bad, why in [("just text", "no file changes"),
                     ("--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-one\n+1\n", "promises -2 \\+2"),
                     ("--- a/../etc/passwd\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n", "bad path"),
                     ("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-ONE\n+1\n", "does not match"),
                     ("--- /dev/null\n+++ b/a.py\n@@ -0,0 +1 @@\n+x\n", "it exists")]:
        with pytest.raises(PatchError, match=why):
            apply_patch(files, bad)


def test_the_patch_is_found_in_the_answer():
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert extract_patch(f"Here:\n```diff\n{diff}```\nDone.") == diff
    assert extract_patch(f"```\n{diff}```") == diff
    assert extract_patch(f"```python\nprint(1)\n```\nand the fix:\ndiff --git a/x.py b/x.py\n{diff}") == (
        f"diff --git a/x.py b/x.py\n{diff}")
    assert extract_patch("no diff here\n--- just a rule\n") == ""


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return {r["key"]: r for r in store.rows()}
    finally:
        store.close()


async def test_the_oracle_solves_every_task_through_the_harness(tmp_path):
    samples = expand({ENV.name: ENV}, ["tool-calling", "codeact"], ["oracle"], 1)
    progress = await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path, concurrency=4))
    got = rows(tmp_path)
    assert progress.done == len(got) == 12 and progress.infra_errors == 0
    assert all(r["success"] and r["reward"] == 1.0 and r["model_calls"] == 1 for r in got.values()), [
        (k, r["score"], r["error"]) for k, r in got.items() if not r["success"]]
