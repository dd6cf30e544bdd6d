"""PoAct (#47) on M3ToolEval: the tools shown in the Code stage are only the top-k retrieved for the current
sub-goal, a reviewer "reject" sends control back to Planning; replay, the harness with the oracle, the local
model."""

import numpy as np
import pytest

from agentzoo.envs.m3tooleval.env import M3ToolEval
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.memory.hashing import HashingEmbedder
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.runtime import runner

ENV = M3ToolEval()
TASK = ENV.tasks()[0]  # decode a hex message: to ASCII, reversed, Caesar shift 5 (six decoder tools)
HEX = "7a686b7a686d666d686b"
FIRST, SECOND, THIRD = "convert the hex string to ascii text", "reverse the string", "caesar decode with shift 5"


def call(name, **arguments):
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def top_k(goal, k=3):
    """The k tools whose `name: description` is nearest the goal, by the cosine of hashed words."""
    tools = list(ENV.episode(TASK).tools)
    embed = HashingEmbedder()
    vectors = np.array([embed.vector(f"{t.name}: {t.description}") for t in tools])
    scores = vectors @ np.array(embed.vector(goal))
    return sorted(tools[i].name for i in np.argsort(-scores, kind="stable")[:k])


SCRIPT = [
    call("plan", subgoals=[SECOND]),                        # a wrong plan: reversing the hex first
    call("think", thought="reverse the message"),
    call("reverse_string", string=HEX),
    "reject: the message must be converted from hex before it is reversed",  # the reviewer
    call("plan", subgoals=[FIRST, SECOND, THIRD]),
    call("think", thought="convert_hex_to_ascii on the message"),
    call("convert_hex_to_ascii", hex_string=HEX),
    "accept",
    call("think", thought="reverse_string on zhkzhmfmhk"),
    call("reverse_string", string="zhkzhmfmhk"),
    "accept",
    call("think", thought="caesar_decode with shift 5"),
    call("caesar_decode", message="khmfmhzkhz", shift=5),
    "accept",
    "fchahcufcu",
]


def shown(request):
    return sorted(spec["function"]["name"] for spec in request.tools)


def stage_of(request):
    return request.messages[-1]["content"].split(".", 1)[0].removeprefix("Stage: ")


async def test_code_shows_only_the_top_k_for_the_sub_goal_and_a_reject_returns_to_planning(journal):
    model = ScriptedModel(SCRIPT)
    agent = build_recipe("poact", model, ENV.episode(TASK).tools)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.ok, result.error
    assert (await ENV.score(ENV.episode(TASK), result.answer, None)).success
    asked = [r for r in model.requests if r.messages[0]["role"] == "system"]  # the agent's, not the reviewer's
    stages = [stage_of(r) for r in asked]
    assert stages == ["Planning", "Thought", "Code", "Planning", "Thought", "Code", "Thought", "Code", "Thought",
                      "Code", "Code"]
    code = [r for r in asked if stage_of(r) == "Code"]
    assert [shown(r) for r in code[:4]] == [top_k(SECOND), top_k(FIRST), top_k(SECOND), top_k(THIRD)]
    assert all(len(shown(r)) == 3 for r in code[:4]) and shown(code[0]) != shown(code[1])
    notes = [r.messages[-1]["content"].splitlines()[-1] for r in code]
    assert notes == ["Current sub-goal 1 of 1: " + SECOND, "Current sub-goal 1 of 3: " + FIRST,
                     "Current sub-goal 2 of 3: " + SECOND, "Current sub-goal 3 of 3: " + THIRD,
                     "Every sub-goal is done: reply with the final answer now, in text."]
    assert shown(code[4]) == []  # every sub-goal accepted: the answer, with no tool
    assert [shown(r) for r in asked if stage_of(r) == "Planning"] == [["plan"], ["plan"]]
    assert [shown(r) for r in asked if stage_of(r) == "Thought"] == [["think"]] * 4
    # the reject came back to Planning, with its reason in the note
    replanning = asked[3].messages[-1]["content"]
    assert "The reviewer rejected your last path: the message must be converted from hex" in replanning
    assert agent.controller.reviews == [(SECOND, "reject"), (FIRST, "accept"), (SECOND, "accept"),
                                        (THIRD, "accept")]


async def test_an_action_of_another_stage_is_refused_and_not_performed(journal):
    model = ScriptedModel([call("reverse_string", string=HEX), call("plan", subgoals=[SECOND]),
                           call("think", thought="t"), "the answer"])
    result = await runner.run(build_recipe("poact", model, ENV.episode(TASK).tools), TASK.prompt, journal=journal)
    refused = next(m for m in result.messages if m.get("role") == "tool")["content"]
    assert "does not belong to the Planning stage" in refused and "Use: plan" in refused
    assert result.tool_calls == 2  # plan and think: the refused call never ran


async def test_replay_makes_no_model_call(journal):
    result = await runner.run(build_recipe("poact", ScriptedModel(SCRIPT), ENV.episode(TASK).tools), TASK.prompt,
                              journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("poact", again, ENV.episode(TASK).tools), result.run_id,
                                   journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


async def test_the_harness_with_the_oracle_solves_m3tooleval_tasks(tmp_path):
    tasks = ENV.tasks()[:3]
    samples = [Sample("m3tooleval", t, "poact", "oracle", 0) for t in tasks]
    await run_eval(samples, {"m3tooleval": ENV}, EvalConfig(out=tmp_path / "oracle"))
    store = ResultStore(tmp_path / "oracle" / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    assert len(rows) == 3 and all(r["success"] for r in rows)


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="k must be"):
        build_recipe("poact", ScriptedModel([]), ENV.episode(TASK).tools, k=0)
    with pytest.raises(ConfigError, match="max_steps"):
        build_recipe("poact", ScriptedModel([]), ENV.episode(TASK).tools, max_steps=0)


async def test_the_shipped_local_model_takes_a_planning_step(journal):
    """SmolLM2-135M, one call: the Planning request shows only `plan` (the mechanics; a 135M model plans poorly)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=4096&max_tokens=48")
    agent = build_recipe("poact", model, ENV.episode(TASK).tools, max_steps=1)
    result = await runner.run(agent, TASK.prompt, journal=journal)
    assert result.model_calls == 1
    assert agent.controller.stage in ("Planning", "Thought")
