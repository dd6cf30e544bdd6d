"""AEGIS (#9): the code agent under the FSM on a seeded-bugs repository: an action outside the current state's
allowed set is refused and never performed, the state moves only on execution feedback, and the patch the
reproduction script's F→P check accepts is the answer; replay, the harness with the oracle, the local model."""

import json

import pytest

from agentzoo.envs.seeded_bugs import SeededBugs
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.aegis import quoted_identifiers
from agentzoo.runtime import runner
from agentzoo.tools import tool

ENV = SeededBugs()
TASK = next(t for t in ENV.tasks() if t.id.startswith("textkit"))
PATCH = TASK.gold
PASSING = "from textkit import slugify\nprint(slugify('a b'))\n"
FAILING = "from textkit import slugify\nassert slugify('  Hello, World!  ') == 'hello-world', slugify('  Hello, World!  ')\n"
EXTRACTED = json.dumps({"summary": "slugify leaves separators at the ends", "expected": "hello-world",
                        "actual": "-hello-world-", "keywords": ["slugify"]})


def call(name, **arguments):
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def counted_tools(runs):
    """The episode's tools, with run_script counting what it was asked to run."""
    tools = list(ENV.episode(TASK).tools)
    inner = next(t for t in tools if t.name == "run_script")

    async def run_script(code: str, patch: str = "") -> dict:
        """Run a script on a patched copy.

        Args:
            code: the program
            patch: a diff to apply first
        """
        runs.append((code, patch))
        return await inner.fn(code, patch)

    return [t for t in tools if t.name != "run_script"] + [tool(run_script)]


SCRIPT = [EXTRACTED,
          call("check_fix", patch=PATCH),            # refused in explore: nothing runs
          call("run_reproduction", script=PASSING),  # runs, does not reproduce: still explore
          call("read_file", path="textkit/slug.py"),  # allowed, not execution feedback: still explore
          call("run_reproduction", script=FAILING),  # reproduces: reproduced
          call("check_fix", patch=PATCH),            # F→P holds and the tests pass: verified
          "done"]


async def test_a_refused_action_is_never_performed_and_only_execution_feedback_moves_the_state(journal):
    runs = []
    model = ScriptedModel(SCRIPT)
    agent = build_recipe("aegis", model, counted_tools(runs))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.ok, result.error
    # the first check_fix was refused: the first script run is the passing reproduction attempt
    assert runs[0] == (PASSING, "") and runs[1] == (FAILING, "")
    assert runs[2:] == [(FAILING, ""), (FAILING, PATCH)]  # check_fix: the script before and after the patch
    assert agent.control.fsm.history == [("explore", "run_reproduction", "reproduced"),
                                         ("reproduced", "check_fix", "verified")]
    coder = [r for r in model.requests if r.tools]
    shown = [sorted(spec["function"]["name"] for spec in r.tools) for r in coder]
    assert shown[:4] == [["read_file", "run_reproduction", "search_code"]] * 4  # explore, until a script fails
    assert shown[4:] == [["check_fix", "read_file", "run_reproduction", "search_code"]]  # then verified: none
    refusal = next(m for m in result.messages if m.get("role") == "tool")
    assert "not allowed in state 'explore'" in refusal["content"] and "run_reproduction" in refusal["content"]
    assert "State: verified." in model.requests[-1].messages[-1]["content"]
    assert result.answer == f"```diff\n{PATCH.rstrip()}\n```"
    score = await ENV.score(ENV.episode(TASK), result.answer, None)
    assert score.success
    # the context: the extracted facts and the searched code are in the coder's task
    task = next(m["content"] for m in coder[0].messages if m["role"] == "user")
    assert "slugify leaves separators at the ends" in task and "textkit/slug.py:" in task


async def test_a_patch_that_fails_the_reproduction_is_not_verified(journal):
    wrong = PATCH.replace(".strip(separator)", ".lstrip(separator)")
    model = ScriptedModel([EXTRACTED, call("run_reproduction", script=FAILING), call("check_fix", patch=wrong),
                           "giving up"])
    agent = build_recipe("aegis", model, ENV.episode(TASK).tools)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert agent.control.state == "reproduced" and agent.control.patch is None
    checked = json.loads([m for m in result.messages if m.get("role") == "tool"][-1]["content"])
    assert checked["fail_to_pass"] is False and checked["script_after"] == "failed"
    assert result.answer == "giving up"


async def test_a_script_that_is_not_python_is_no_reproduction_and_is_not_run(journal):
    runs = []
    prose = "First I import the package, then I check that slugify strips the separators."
    model = ScriptedModel([EXTRACTED, call("run_reproduction", script=prose), "giving up"])
    agent = build_recipe("aegis", model, counted_tools(runs))
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert runs == [] and agent.control.state == "explore" and agent.control.fsm.history == []
    answer = json.loads([m for m in result.messages if m.get("role") == "tool"][-1]["content"])
    assert answer["reproduced"] is False and "not Python" in answer["error"] and "nothing was run" in answer["error"]


async def test_replay_makes_no_model_call_and_runs_nothing(journal):
    result = await runner.run(build_recipe("aegis", ScriptedModel(SCRIPT), ENV.episode(TASK).tools), TASK.prompt,
                              journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("aegis", again, ENV.episode(TASK).tools), result.run_id,
                                   journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


async def test_the_harness_with_the_oracle_resolves_seeded_bugs(tmp_path):
    tasks = ENV.tasks()[:2]
    samples = [Sample("seeded-bugs", t, "aegis", "oracle", 0) for t in tasks]
    await run_eval(samples, {"seeded-bugs": ENV}, EvalConfig(out=tmp_path / "oracle"))
    store = ResultStore(tmp_path / "oracle" / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert len(rows) == 2 and all(r["success"] for r in rows)


def test_identifiers_and_bad_options_are_named():
    assert quoted_identifiers("`slugify(x)` and leap_years_between, isLeap") == ["slugify", "leap_years_between",
                                                                                  "isLeap"]
    with pytest.raises(ConfigError, match="max_steps"):
        build_recipe("aegis", ScriptedModel([]), ENV.episode(TASK).tools, max_steps=0)
    with pytest.raises(ConfigError, match="needs the tools"):
        build_recipe("aegis", ScriptedModel([]), [])


async def test_the_shipped_local_model_extracts_and_takes_a_first_allowed_step(journal):
    """SmolLM2-135M: the extraction call and one code-agent call (the mechanics; a 135M model does not fix bugs)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=4096&max_tokens=48")
    agent = build_recipe("aegis", model, ENV.episode(TASK).tools, max_steps=1)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.model_calls == 2
    assert agent.control.state in ("explore", "reproduced")  # one step cannot verify
