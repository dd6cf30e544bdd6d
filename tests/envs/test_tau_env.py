"""tau-bench as environments in the harness: the oracle, perturbed gold, and the simulated customer."""

from __future__ import annotations

import json

import pytest

from agentzoo import ScriptedModel, run
from agentzoo.envs.registry import get_env
from agentzoo.envs.tau_env import ENDED, ModelUser
from agentzoo.agents.tool_calling import ToolCallingAgent
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore


def rows(out):
    store = ResultStore(out / "results.db")
    try:
        return list(store.rows())
    finally:
        store.close()


@pytest.mark.parametrize("name, count", [("tau-retail", 115), ("tau-airline", 50)])
async def test_the_oracle_earns_reward_one_on_every_task(tmp_path, name, count):
    env = get_env(name)
    samples = expand({name: env}, ["tool-calling"], ["oracle"], 1)
    samples += expand({name: env}, ["codeact"], ["oracle"], 1, limit=5)
    await run_eval(samples, {name: env}, EvalConfig(out=tmp_path, concurrency=4))
    got = rows(tmp_path)
    assert len(got) == count + 5
    assert all(r["reward"] == 1.0 and r["score"]["data_matches"] for r in got), [r["task"] for r in got
                                                                                  if r["reward"] != 1.0]


async def play(env, task, script):
    episode = env.episode(task)
    agent = ToolCallingAgent(ScriptedModel(script), episode.tools, system=episode.system, sampling={"seed": 0})
    result = await run(agent, episode.prompt, journal=None)
    return await env.score(episode, result.answer, None), episode


def gold_script(task, actions=None, outputs=None):
    actions = task.gold if actions is None else actions
    said = ", ".join(task.data["outputs"] if outputs is None else outputs) or "Done."
    return [*({"tool_calls": [{"name": a["name"], "arguments": a["kwargs"]}]} for a in actions), said]


async def test_perturbed_gold_scores_zero():
    env = get_env("tau-retail")
    task = next(t for t in env.tasks() if t.data["outputs"] and len(t.gold) >= 2
                and any(a["name"].startswith(("cancel", "modify", "return", "exchange")) for a in t.gold))
    assert (await play(env, task, gold_script(task)))[0].reward == 1.0
    last = task.gold[-1]
    wrong_value = {**last, "kwargs": {**last["kwargs"]}}
    key = next(k for k, v in last["kwargs"].items() if isinstance(v, str) and k != "order_id")
    wrong_value["kwargs"][key] = last["kwargs"][key] + "x"
    for actions, outputs in [(task.gold[:-1] + [wrong_value], None), (task.gold[:-1], None),
                             (task.gold, ["nothing useful"])]:
        score, _ = await play(env, task, gold_script(task, actions, outputs))
        assert score.reward == 0.0 and not score.success


async def test_the_scripted_customer_answers_through_the_tool_and_can_end_the_conversation():
    env = get_env("tau-retail")
    task = env.tasks()[0]
    script = [{"tool_calls": [{"name": "send_message_to_user",
                               "arguments": {"message": "Could you tell me your email or your name and zip code?"}}]},
              {"tool_calls": [{"name": "send_message_to_user", "arguments": {"message": "Anything else?"}}]},
              "Goodbye."]
    model = ScriptedModel(script)
    episode = env.episode(task)
    agent = ToolCallingAgent(model, episode.tools, system=episode.system, sampling={"seed": 0})
    await run(agent, episode.prompt, journal=None)
    first_reply = model.requests[1].messages[-1]["content"]
    assert "My name is" in first_reply or "My email is" in first_reply or "zip" in first_reply.lower()
    assert episode.state["sent"][0].startswith("Could you tell me")
    assert episode.system.startswith("You are a customer service agent") and "# Retail agent policy" in episode.system


async def test_a_model_can_play_the_customer(tmp_path):
    script = tmp_path / "user.json"
    script.write_text(json.dumps(["My order is #W0000000.", "Thanks! ###STOP###"]))
    env = get_env("tau-airline", user_model=f"scripted:{script}")
    episode = env.episode(env.tasks()[0])
    send = next(t for t in episode.tools if t.name == "send_message_to_user")
    assert await send.invoke({"message": "Which order?"}) == "My order is #W0000000."
    assert await send.invoke({"message": "Done."}) == ENDED
    user = ModelUser(ScriptedModel(["ok"]), "You want to cancel.")
    assert await user.respond([{"role": "assistant", "content": "Hello"}]) == "ok"
    assert user.model.requests[0].messages[1] == {"role": "user", "content": "Hello"}
