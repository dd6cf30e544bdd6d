"""Agentless follows its code: localization narrows files → functions → lines, the vote counts
normalised patches, regression tests veto before votes, reproduction tests before votes; it replays
from the journal, resumes after a kill in its parallel repair stage, and runs in the harness on the
seeded-bugs environment (a repository task: HumanEval and GSM8K give it no repository)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal
from agentzoo.envs.code import HumanEval
from agentzoo.envs.seeded_bugs import SeededBugs, apply_patch
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.report import role_of
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.agentless import (Candidate, apply_edits, make_patch, normalize_patch, normalize_test,
                                        parse_edits, select_patch, skeleton)

sys.path.insert(0, str(Path(__file__).parent))
import agentless_script  # noqa: E402  (the role-playing model, also used by the harness test)

ENV = SeededBugs()
SCRIPT = Path(__file__).with_name("agentless_script.py")
ROLES = {"Which files would have to be edited": "files", "Which folders are irrelevant": "irrelevant",
         "### File skeletons ###": "related", "Which places have to be edited": "lines",
         "SEARCH/REPLACE": "repair", "### Passing tests ###": "select_tests", "reproduces the issue": "reproduce"}


def role(request):
    prompt = request.messages[-1]["content"]
    return next(name for phrase, name in ROLES.items() if phrase in prompt)


def task(task_id):
    return next(t for t in ENV.tasks() if t.id == task_id)


async def run(task_id, answer, journal=None, **options):
    """Run agentless on a task with `answer(role, request)` as the model (None: the role-player)."""
    t = task(task_id)
    episode = ENV.episode(t)

    def play(request):
        reply = answer(role(request), request)
        return agentless_script.play(request) if reply is None else reply

    model = ScriptedModel(play)
    agent = build_recipe("agentless", model, episode.tools, sampling={"seed": 0}, **options)
    result = await agentzoo.run(agent, t.prompt, journal=journal)
    assert result.ok, result.error
    return result, model, episode


def edit(search, replace, path="cachelib/lru.py"):
    return f"```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```"


GET_TAIL = "        self.hits += 1\n        return self._data[key]"
FIX_A = edit(GET_TAIL, "        self.hits += 1\n        self._data.move_to_end(key)\n        return self._data[key]")
FIX_A_COMMENTED = edit(GET_TAIL, "        self.hits += 1\n        # a read is a use: most recent now\n"
                                 "        self._data.move_to_end(key)\n\n        return self._data[key]")
FIX_B = edit(GET_TAIL, "        self.hits += 1\n        value = self._data.pop(key)\n        self._data[key] = value\n"
                       "        return value")
FIX_B_COMMENTED = edit(GET_TAIL, "        self.hits += 1\n        # re-insert so that the key is the newest\n"
                                 "        value = self._data.pop( key )\n        self._data[key] = value\n"
                                 "        return value  # the same value")
FIX_B_DOCSTRING = edit("    def get(self, key, default=None):\n        \"\"\"The value cached for `key`, or `default`.\"\"\"",
                       "    def get(self, key, default=None):\n        '''Look `key` up; a hit makes it the newest.'''") + (
    "\n" + edit(GET_TAIL, "        self.hits += 1\n        value = self._data.pop(key)\n        self._data[key] = value\n"
                          "        return value"))
# Fixes the eviction but stops counting hits: test_hits_and_misses_are_counted fails.
FIX_BAD = edit(GET_TAIL, "        self._data.move_to_end(key)\n        return self._data[key]")
# Passes every regression test but moves the key to the *front*: the issue stays.
FIX_WRONG_END = edit(GET_TAIL, "        self.hits += 1\n        self._data.move_to_end(key, last=False)\n"
                               "        return self._data[key]")
BROKEN = edit(GET_TAIL, "        self.hits += 1\n        self._data.move_to_end(key\n        return self._data[key]")


def edited(task_id, reply):
    """The files a repair reply edits, before and after (its edits applied anywhere in the file)."""
    repo = ENV.repository(task(task_id))
    new = {path: apply_edits(repo[path], edits, [(0, len(repo[path].splitlines()))])
           for path, edits in parse_edits(reply).items()}
    return {path: repo[path] for path in new}, new


def patch_of(task_id, reply):
    """The patch the recipe makes of a repair reply."""
    return make_patch(*edited(task_id, reply))


def normalized_of(task_id, reply):
    return normalize_patch(*edited(task_id, reply))


def tool_results(journal, run_id, name):
    return {e.scope: e.result["value"] for e in journal.entries(run_id) if e.kind == "tool" and e.name == name}


# --- the protocol ----------------------------------------------------------------------------------


async def test_localization_narrows_the_repository_to_files_then_functions_then_lines():
    lru = ENV.repository(task("cachelib-1"))["cachelib/lru.py"].splitlines()
    ttl = ENV.repository(task("cachelib-1"))["cachelib/ttl.py"].splitlines()
    lines_replies = {0: "```\ncachelib/lru.py\nline: 26\n```",
                     1: "```\ncachelib/lru.py\nfunction: LRUCache.put\n```",
                     2: "```\ncachelib/ttl.py\nfunction: TTLCache.get\n```",
                     3: "I am not sure.\n```\ncachelib/lru.py\nfunction: LRUCache.nothing_like_this\n```"}

    def answer(name, request):
        if name == "files":  # a test file, a made-up file and a repeat are dropped
            return "```\ncachelib/lru.py\ntests/test_lru.py\ncachelib/cache.py\ncachelib/ttl.py\ncachelib/lru.py\n```"
        if name == "related":  # ttl.py's location names nothing: it is not shown next
            return "```\ncachelib/lru.py\nfunction: LRUCache.get\n\ncachelib/ttl.py\nclass: NoSuchClass\n```"
        if name == "lines":
            return lines_replies[request.seed]
        return None

    result, model, episode = await run("cachelib-1", answer)
    calls = [(role(r), r.temperature, r.max_tokens) for r in model.requests]
    assert Counter(calls) == {("files", 0.0, 300): 1, ("related", 0.0, 300): 1, ("lines", 0.8, 300): 4,
                              ("repair", 0.0, 1024): 3, ("repair", 0.8, 1024): 27,  # 3 location sets x (1 + 9)
                              ("select_tests", 0.0, 1024): 1, ("reproduce", 0.0, 1024): 1,
                              ("reproduce", 0.8, 1024): 39}
    assert [c[0] for c in calls[:6]] == ["files", "related", "lines", "lines", "lines", "lines"]
    prompts = {}
    for r in model.requests:
        prompts.setdefault(role(r), []).append(r.messages[-1]["content"])
    section = lambda text, start, end: text.split(start, 1)[1].split(end, 1)[0].strip()  # noqa: E731

    # 1. The tree of the non-test Python files, and no code.
    assert section(prompts["files"][0], "### Repository structure ###", "Name at most") == (
        "cachelib/\n    __init__.py\n    lru.py\n    ttl.py")
    # 2. Skeletons of the two files it named, bodies elided, nothing of __init__.py.
    skeletons = section(prompts["related"][0], "### File skeletons ###", "List every location")
    assert skeletons == ("### File: cachelib/lru.py ###\n```python\n" + skeleton("\n".join(lru)) + "\n```\n"
                         "### File: cachelib/ttl.py ###\n```python\n" + skeleton("\n".join(ttl)) + "\n```")
    assert "    def get(self, key, default=None):\n        ..." in skeletons and "self.hits += 1" not in skeletons
    # 3. LRUCache.get (lines 20-26) and 10 lines each side, numbered; nothing of ttl.py.
    numbered = "\n".join(f"{n}|{lru[n - 1]}" for n in range(10, 37))
    assert section(prompts["lines"][0], "### Code ###", "Which places") == f"### cachelib/lru.py\n...\n{numbered}\n..."
    assert len(set(prompts["lines"])) == 1
    # 4. One repair prompt per location set that resolved, each line ±10, no numbers.
    windows = [("cachelib/lru.py", lru, 16, 36), ("cachelib/lru.py", lru, 18, 40), ("cachelib/ttl.py", ttl, 4, 25)]
    expected = []
    for path, lines, first, last in windows:
        shown = "\n".join(lines[first - 1:last])
        expected.append(f"### {path}\n...\n{shown}" + ("\n..." if last < len(lines) else ""))
    repair_prompts = list(dict.fromkeys(prompts["repair"]))
    assert [section(p, "### Code ###\n```", "```\n\nFirst find") for p in repair_prompts] == expected
    assert Counter(prompts["repair"]) == {p: 10 for p in repair_prompts}
    # The edit in lru.py cannot apply to the ttl.py set, so only 20 candidates carry it; it is chosen.
    score = await ENV.score(episode, result.answer, None)
    assert score.success and result.answer == patch_of("cachelib-1", agentless_script.repair_reply("cachelib-1"))


async def test_the_vote_picks_the_patch_most_candidates_agree_on_once_normalised(journal):
    # Five candidates, all passing the regression tests: A (greedy), B, B with comments and spacing,
    # A again, B with a rewritten docstring. Compared as written, A has two votes and each B one;
    # normalised, B's three are one patch and win.
    replies = [FIX_A, FIX_B, FIX_B_COMMENTED, FIX_A, FIX_B_DOCSTRING]
    raw = [patch_of("cachelib-1", r) for r in replies]
    keys = [normalized_of("cachelib-1", r) for r in replies]
    assert Counter(raw).most_common(1) == [(raw[0], 2)] and len(set(raw)) == 4
    assert keys[1] == keys[2] == keys[4] != keys[0] == keys[3]

    def answer(name, request):
        return replies[request.seed] if name == "repair" else None

    result, model, episode = await run("cachelib-1", answer, journal, location_samples=1, repair_samples=5,
                                       reproduction=False)
    assert result.answer == raw[1]
    regression = tool_results(journal, result.run_id, "run_tests")  # one run per distinct patch
    assert sorted(regression) == ["tests/baseline", *[f"tests/regression#{i}" for i in range(1, 5)]]
    assert all(not r["failed"] and len(r["passed"]) == 6 for r in regression.values())
    assert (await ENV.score(episode, result.answer, None)).success


async def test_a_patch_failing_more_regression_tests_is_never_chosen(journal):
    # Three votes for a fix that stops counting hits, one for a correct fix, one that does not parse.
    replies = [FIX_BAD, FIX_BAD, FIX_BAD, FIX_A, BROKEN]

    def answer(name, request):
        return replies[request.seed] if name == "repair" else None

    result, _, episode = await run("cachelib-1", answer, journal, location_samples=1, repair_samples=5,
                                   reproduction=False)
    assert result.answer == patch_of("cachelib-1", FIX_A)
    runs = tool_results(journal, result.run_id, "run_tests")
    assert list(runs["tests/regression#1"]["failed"]) == ["tests/test_lru.py::test_hits_and_misses_are_counted"]
    assert not runs["tests/regression#2"]["failed"] and "tests/regression#3" not in runs  # BAD once, A; BROKEN: none
    assert (await ENV.score(episode, result.answer, None)).success


async def test_among_the_fewest_regression_failures_the_reproduction_test_decides(journal):
    # Three votes for a fix that passes every regression test but leaves the issue; two for A.
    replies = [FIX_WRONG_END, FIX_WRONG_END, FIX_WRONG_END, FIX_A, FIX_A_COMMENTED]
    program = agentless_script.reproduction_reply("cachelib-1")
    tests = [program, "```python\nprint('Other issues')\n```", program.replace("try:", "try:  # run them all")]

    def answer(name, request):
        if name == "repair":
            return replies[request.seed]
        if name == "reproduce":
            return tests[request.seed]
        return None

    result, model, episode = await run("cachelib-1", answer, journal, location_samples=1, repair_samples=5,
                                       reproduction_samples=3)
    assert result.answer == patch_of("cachelib-1", FIX_A)
    scripts = tool_results(journal, result.run_id, "run_script")
    # The two programs that print differently ran on the original; the one saying "Issue reproduced" is chosen.
    assert "Issue reproduced" in scripts["tests/reproduce#1"]["output"]
    assert scripts["tests/reproduce#2"]["output"].strip() == "Other issues"
    assert "tests/reproduce#3" in scripts  # the commented copy runs too (it is another program) but votes with #1
    resolved = [scripts[f"tests/resolve#{i}"]["output"].strip() for i in (1, 2, 3)]
    assert resolved == ["Issue reproduced", "Issue resolved", "Issue resolved"]
    assert all(not r["failed"] for s, r in tool_results(journal, result.run_id, "run_tests").items())
    assert (await ENV.score(episode, result.answer, None)).success


def test_the_rerank_rule():
    def c(key, failures=0, fixed=False):
        return Candidate(patch=f"patch {key}", key=key, regression_failures=failures, reproduced_fixed=fixed)

    # PAPERS.md's protocol: 5 candidates, 3 normalise the same, all pass regression: that one.
    assert select_patch([c("a"), c("b"), c("b"), c("c"), c("b")]) == 1
    # Fewer regression failures beat votes; then passing the reproduction test beats votes.
    assert select_patch([c("a", 1), c("a", 1), c("a", 1), c("b", 0), c("", 0)]) == 3
    assert select_patch([c("a", 0), c("a", 0), c("b", 0, True), c("c", 1, True)]) == 2
    # Nobody passes the reproduction test: the vote among the fewest failures; ties go to the first seen.
    assert select_patch([c("a", 2), c("b", 0), c("c", 0), c("c", 0), c("b", 0)]) == 1
    # Upstream takes the minimum over empty patches too (they fail nothing), so there it would vote over
    # all of these and take "b" with two votes; here the patch failing fewer tests wins.
    assert select_patch([c("b", 2), c("b", 2), c("a", 1), c("", 0)]) == 2
    # Empty patches never win; with none left there is no patch.
    assert select_patch([c(""), c(""), c("x", 3)]) == 2
    assert select_patch([c(""), c("")]) is None
    assert select_patch([c("a", 5), c("a", 5), c("b", 0)], regression=False) == 0


def test_normalisation_ignores_comments_layout_and_docstrings_but_not_code():
    old = {"m.py": 'def f(x):\n    """Doc."""\n    return x + 1\n'}
    same = ['def f(x):\n    """Doc."""\n    return x + 2\n',
            "def f( x ):\n    # two, not one\n    return (x + 2)  # fixed\n",
            "def f(x):\n    '''Another docstring.'''\n\n    return x+2\n"]
    assert len({normalize_patch(old, {"m.py": s}) for s in same}) == 1
    assert normalize_patch(old, {"m.py": same[0]}) != normalize_patch(old, {"m.py": same[0].replace("2", "3")})
    assert normalize_patch(old, {"m.py": old["m.py"].replace("x + 1", "x+1  # same")}) == ""  # comments only
    added = normalize_patch(old, {"m.py": old["m.py"] + "\n\ndef g():\n    return 0\n"})
    assert added.splitlines() == ["--- a/m.py", "+++ b/m.py", "+def g():", "+    return 0"]  # no context
    assert normalize_test("def test_a():\n    print('x')  # hi\n\ntest_a()\n") == normalize_test(
        "def test_b():\n    '''Doc.'''\n    print('x')\ntest_b()")


def test_edits_apply_only_inside_the_windows_shown_and_skeletons_elide_bodies():
    code = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"
    reply = ("Fix:\n```python\n### m.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n```\n"
             "```python\n### other.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```")
    edits = parse_edits(reply)
    assert edits == {"m.py": [("    return 1", "    return 2")], "other.py": [("x", "y")]}
    assert apply_edits(code, edits["m.py"], [(5, 6)]) == code.replace("def g():\n    return 1", "def g():\n    return 2")
    assert apply_edits(code, edits["m.py"], [(1, 6)]) == code.replace("return 1", "return 2")
    assert apply_edits(code, [("    return 3", "    return 4")], [(1, 6)]) == code
    long = "TABLE = [\n" + "".join(f"    {i},\n" for i in range(40)) + "]\n"
    shown = skeleton('"""Doc."""\nimport os\n' + long + 'class A:\n    """Doc."""\n    x = 1\n\n'
                     '    def m(self):\n        return os.sep\n')
    assert shown.split("\n")[:11] == ["TABLE = [", *[f"    {i}," for i in range(9)], "..."]
    assert shown.split("\n")[11:21] == [*[f"    {i}," for i in range(31, 40)], "]"]
    assert shown.endswith("class A:\n    x = 1\n\n    def m(self):\n        ...")


def test_make_patch_round_trips_through_apply_patch():
    old = {"p/a.py": "x = 1\ny = 2\n", "p/b.py": "no newline"}
    new = {"p/a.py": "x = 1\ny = 3\n", "p/b.py": "no newline at all"}
    patch = make_patch(old, new)
    assert "\\ No newline at end of file" in patch and patch.startswith("diff --git a/p/a.py b/p/a.py\n")
    assert apply_patch(old, patch) == new


def test_it_needs_a_repository_and_says_so():
    episode = HumanEval().episode(HumanEval().tasks()[0])
    with pytest.raises(ConfigError, match="needs the tools list_files, read_file, run_tests, run_script"):
        build_recipe("agentless", ScriptedModel([]), episode.tools)
    tools = [t for t in ENV.episode(task("ledger-1")).tools if t.name != "run_script"]
    assert build_recipe("agentless", ScriptedModel([]), tools, reproduction=False).reproduction is False
    with pytest.raises(ConfigError, match="location_samples must be at least 1"):
        build_recipe("agentless", ScriptedModel([]), tools, reproduction=False, location_samples=0)


async def test_a_retriever_adds_files_outside_the_folders_the_model_calls_irrelevant():
    seen = {}

    def retriever(issue, files):
        seen.update(files)
        return ["intervals/ops.py", "intervals/core.py"]

    def answer(name, request):
        if name == "files":
            return "```\nintervals/__init__.py\n```"
        if name == "irrelevant":
            return "```\ndocs/\n```"
        return None

    result, model, _ = await run("intervals-1", answer, location_samples=1, repair_samples=1, regression=False,
                                 reproduction=False, retriever=retriever)
    assert [role(r) for r in model.requests] == ["files", "irrelevant", "related", "lines", "repair"]
    assert sorted(seen) == ["intervals/__init__.py", "intervals/core.py", "intervals/ops.py"]
    related = model.requests[2].messages[-1]["content"]
    assert [line for line in related.splitlines() if line.startswith("### File:")] == [
        "### File: intervals/__init__.py ###", "### File: intervals/ops.py ###", "### File: intervals/core.py ###"]
    assert result.answer == patch_of("intervals-1", agentless_script.repair_reply("intervals-1"))


# --- journal: replay and resume --------------------------------------------------------------------


async def test_replay_makes_no_model_call_and_gives_the_same_patch(journal):
    def answer(name, request):
        return [FIX_A, FIX_B, FIX_B_COMMENTED][request.seed] if name == "repair" else None

    first, _, episode = await run("cachelib-1", answer, journal, location_samples=1, repair_samples=3,
                                  reproduction_samples=2)
    silent = ScriptedModel([])  # raises if it is ever asked
    replayed = await agentzoo.replay(build_recipe("agentless", silent, episode.tools, sampling={"seed": 0},
                                                  location_samples=1, repair_samples=3, reproduction_samples=2),
                                     first.run_id, journal=journal)
    assert replayed.ok and replayed.answer == first.answer == patch_of("cachelib-1", FIX_B)
    assert silent.calls == 0 and replayed.live_effects == 0 and replayed.model_calls == first.model_calls == 9


async def test_a_run_killed_in_the_middle_of_the_repair_samples_resumes_without_repeating_a_call(tmp_path):
    reference, _, episode = await run("cachelib-1", lambda name, request: None)
    assert reference.model_calls == 87  # 1 file + 1 related + 4 line + 40 repair + 1 test selection + 40 reproduction
    journal_path = tmp_path / "j.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2] / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    killed = subprocess.run([sys.executable, SCRIPT, journal_path, "cachelib-1", "20"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(journal_path) as journal:
        run_id = journal.get_run("latest").run_id
        done = [e for e in journal.entries(run_id) if e.kind == "model" and e.status == "ok"]
        assert len(done) >= 20 and sum(e.scope.startswith("repair#") for e in done) >= 14  # 6 localization calls before
        # (all 40 samples may be in: samples that end in the same loop turn share one commit)
        assert sum(e.scope.startswith("repair#") for e in done) <= 40
        model = ScriptedModel(agentless_script.play)
        resumed = await agentzoo.resume(build_recipe("agentless", model, episode.tools, sampling={"seed": 0}),
                                        run_id, journal=journal)
        assert resumed.ok and resumed.answer == reference.answer
        assert model.calls == 87 - len(done)  # only the calls the journal had not recorded
        entries = [e for e in journal.entries(run_id) if e.kind == "model"]
        assert len(entries) == 87 and len({(e.scope, e.seq) for e in entries}) == 87


# --- the harness -----------------------------------------------------------------------------------


async def test_the_harness_runs_agentless_on_seeded_bugs_with_a_scope_per_role(tmp_path):
    model = f"scripted:{SCRIPT}:play"
    samples = expand({ENV.name: ENV}, ["agentless"], [model], 1, limit=2)
    progress = await run_eval(samples, {ENV.name: ENV}, EvalConfig(out=tmp_path, concurrency=2))
    store = ResultStore(tmp_path / "results.db")
    try:
        got = list(store.rows())
    finally:
        store.close()
    assert progress.done == len(got) == 2 and progress.infra_errors == 0
    for row in got:
        assert row["success"] and row["status"] == "finished" and row["model_calls"] == 87, row["score"]
        roles = Counter()
        for scope, usage in row["scopes"].items():
            roles[role_of(scope)] += usage["model_calls"] + usage["tool_calls"]
            if usage["model_calls"]:
                assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        # Tool calls: list_files and one read_file; the baseline run; the greedy patch and the commented one
        # (regression and resolution); the one reproduction program on the original.
        assert roles == {"files": 1, "related": 1, "lines": 4, "repair/sample": 40, "select_tests": 1,
                         "reproduce": 40, "repo": 2, "tests/baseline": 1, "tests/regression": 2,
                         "tests/reproduce": 1, "tests/resolve": 2}
        assert sum(u["model_calls"] for u in row["scopes"].values()) == 87
