"""The step protocol's machinery (`agentzoo.envs.stepping`) on the grid world: journaled resets and steps,
replay with no environment, resume and fork from the last snapshot, the episode rules, the tool adapter
and the text loop, and issue 14's evidence through the reusable conformance helpers."""

from __future__ import annotations

import asyncio
import json

import pytest

from agentzoo import _json
from agentzoo.agents.stepper import Stepper, build as build_stepper, read_action
from agentzoo.envs import stepping
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.gridworld import GridWorld
from agentzoo.envs.step import EpisodeRules, Observation, StepOutcome
from agentzoo.errors import InterruptedEffectError, UserError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.runtime.context import Context
from agentzoo.runtime.journal import Journal
from agentzoo.tools import ToolSet
from agentzoo.tools.calling import call_tool
from agentzoo.types import AgentResult, ToolCall

import step_conformance as conformance

ENV = GridWorld()
TASKS = ENV.tasks()
BIG = TASKS[4]  # maze-5x5-5: 14 steps on its shortest path


# --- issue 14, Evidence 1 on the grid world -------------------------------------------------------------


def test_the_oracle_scores_full_through_agentzoo_eval(tmp_path):
    rows = conformance.oracle_scores_full_through_cli("gridworld", tmp_path, agents="tool-calling,codeact")
    assert {r["agent"] for r in rows} == {"tool-calling", "codeact"}
    assert len(rows) == 2 * len(TASKS)


async def test_a_perturbed_oracle_scores_less():
    mean = await conformance.perturbed_oracle_scores_less(GridWorld(), TASKS)
    assert mean == 0.0  # one move short of the exit, every time


async def test_a_run_replays_byte_for_byte_without_the_environment(tmp_path):
    live = await conformance.replays_without_touching_the_environment(GridWorld(), BIG, tmp_path)
    assert "You are at the exit." in live.messages[-2]["content"]


def test_sigkill_mid_episode_then_resume_repeats_no_step(tmp_path):
    conformance.sigkill_then_resume_repeats_no_step("gridworld", BIG.id, tmp_path, pause_at=4)


async def test_snapshot_five_steps_restore_gives_the_same_observations():
    await conformance.restore_gives_the_same_observations(GridWorld(), BIG, prefix=BIG.gold[:3],
                                                          probe=BIG.gold[3:8] + ["west", "jump"])


# --- the records ------------------------------------------------------------------------------------------


async def test_each_reset_and_step_is_an_env_entry_with_outcome_snapshot_and_progress(tmp_path):
    journal = Journal(tmp_path / "j.db")
    episode = ENV.episode(TASKS[0])
    result = await runner.run(conformance.tool_agent(ENV, TASKS[0], episode), episode.prompt, journal=journal)
    entries = [e for e in journal.entries(result.run_id) if e.kind == "env"]
    assert [e.request["op"] for e in entries] == ["reset"] + ["step"] * len(TASKS[0].gold)
    assert [e.scope for e in entries[:3]] == ["env#1", "env#1", "env#3"]  # named after the act calls (seq 1, 3)
    last = stepping.Record.from_json(entries[-1].result)
    assert last.snapshot == {"cell": [2, 2], "moves": len(TASKS[0].gold)}
    assert last.progress.done and last.progress.reward == 1.0 and last.progress.steps == len(TASKS[0].gold)
    assert entries[0].result["start"]["rules"] == {"max_steps": 30, "max_parse_failures": 3, "max_repeated_actions": 3}
    # A step's request names the state it starts from (the hash of the actions before it).
    assert entries[2].request["after"] == stepping.Record.from_json(entries[1].result).progress.history
    assert episode.state["done"] and episode.state["reward"] == 1.0 and episode.state["steps"] == len(TASKS[0].gold)


async def test_outside_a_run_the_driver_steps_directly():
    driver = stepping.StepDriver(ENV, TASKS[0])
    first = await driver.reset()
    assert "row 0, column 0" in first.text
    outcome = await driver.step(TASKS[0].gold[0])
    assert driver.performed == 2 and driver.progress.steps == 1 and not outcome.done


async def test_a_step_in_a_run_outside_any_effect_names_no_scope_and_is_refused(tmp_path):
    driver = stepping.StepDriver(ENV, TASKS[0])

    async def agent(task, ctx):
        await driver.step("east")

    class Agent:
        name = "a"
        run = staticmethod(agent)

    result = await runner.run(Agent(), "t")
    assert result.error["type"] == "UserError" and "through a context" in result.error["message"]


# --- the episode rules -----------------------------------------------------------------------------------


def progress_after(actions, outcomes, rules=EpisodeRules()):
    progress, last = stepping.Progress(), None
    for action, outcome in zip(actions, outcomes, strict=True):
        progress, last = progress.after(action, outcome, rules)
    return progress, last


def plain(**info):
    return StepOutcome(Observation("o"), info=info)


def test_three_identical_actions_end_the_episode_with_the_reason():
    progress, outcome = progress_after(["click [3]", "click  [3] ", "click [3]"], [plain()] * 3)
    assert outcome.done and outcome.info["stopped"] == "3 identical actions" and progress.stopped == "3 identical actions"
    progress, outcome = progress_after(["a", "a", "b", "a", "a"], [plain()] * 5)
    assert not outcome.done and progress.repeats == 2


def test_identical_is_the_action_as_the_environment_read_it():
    outcomes = [plain(action="north"), plain(action="north"), plain(action="north")]
    _, outcome = progress_after(["north", "North", "  north"], outcomes)
    assert outcome.info["stopped"] == "3 identical actions"


def test_three_unparsable_actions_in_a_row_end_the_episode():
    bad = plain(parse_error="unknown action")
    _, outcome = progress_after(["x", "y", "z"], [bad] * 3)
    assert outcome.info["stopped"] == "3 unparsable actions in a row"
    progress, outcome = progress_after(["x", "y", "east", "z"], [bad, bad, plain(), bad])
    assert not outcome.done and progress.parse_failures == 1
    # An unparsable action breaks a run of identical ones (WebArena counts it as an action of its own).
    progress, outcome = progress_after(["a", "a", "?", "a"], [plain(), plain(), bad, plain()])
    assert not outcome.done and progress.repeats == 1


def test_the_step_limit_ends_the_episode_and_the_environment_ending_it_is_not_a_stop():
    _, outcome = progress_after(["a", "b", "c"], [plain()] * 3, EpisodeRules(max_steps=3))
    assert outcome.info["stopped"] == "3 steps (the limit)"
    won = StepOutcome(Observation("won"), 1.0, True)
    progress, outcome = progress_after(["a", "a", "a"], [plain(), plain(), won])
    assert outcome.done and "stopped" not in outcome.info and progress.stopped is None and progress.reward == 1.0


def test_webarenas_rules_are_the_defaults():
    assert EpisodeRules() == EpisodeRules(max_steps=30, max_parse_failures=3, max_repeated_actions=3)


async def test_the_text_loop_stops_after_three_identical_actions_and_asks_no_more(tmp_path):
    model = ScriptedModel(["Action: north", "I go north again.\nAction: north", "Action: north", "Action: east"])
    episode = ENV.episode(TASKS[2])  # the start cell has no way north
    agent = build_stepper(model, episode=episode)
    result = await runner.run(agent, TASKS[2].prompt, journal=Journal(tmp_path / "j.db"))
    assert result.ok and len(model.requests) == 3
    assert episode.state["stopped"] == "3 identical actions" and episode.state["info"]["stopped"] == "3 identical actions"
    assert "A wall blocks the way north" in result.messages[-1]["content"]


async def test_the_adapter_says_the_episode_ended_and_takes_no_step_after_it(tmp_path):
    task = TASKS[0]
    script = [{"tool_calls": [{"name": "act", "arguments": {"action": a}}]} for a in [*task.gold, "west"]]
    episode = ENV.episode(task)
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(conformance.tool_agent(ENV, task, episode, [*script, "out"]), episode.prompt,
                              journal=journal)
    assert result.ok
    tool_results = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert "The episode has ended. Total reward: 1." in tool_results[-2]
    assert tool_results[-1].startswith("The episode has already ended")
    assert len([e for e in journal.entries(result.run_id) if e.kind == "env"]) == 1 + len(task.gold)


# --- the tool adapter --------------------------------------------------------------------------------------


def test_the_prompt_has_the_task_the_actions_and_the_first_observation():
    episode = ENV.episode(TASKS[1])
    assert episode.prompt.startswith(TASKS[1].prompt)
    assert "Actions: north, south, east or west" in episode.prompt
    assert "What you observe at the start:\nYou are in row 0, column 0 of a 3x4 maze." in episode.prompt
    assert [t.name for t in episode.tools] == ["act", "observe"]


async def test_without_a_first_observation_the_agent_is_told_to_observe_and_observe_resets(tmp_path):
    task = TASKS[0]
    episode = stepping.episode_for(ENV, task)
    assert "Call `observe` first" in episode.prompt
    script = [{"tool_calls": [{"name": "observe", "arguments": {}}]}, *ENV.oracle(task, "tool-calling")]
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(conformance.tool_agent(ENV, task, episode, script), episode.prompt, journal=journal)
    assert result.ok and episode.state["reward"] == 1.0
    first_result = next(m for m in result.messages if m["role"] == "tool")
    assert first_result["content"].startswith("You are in row 0, column 0")
    assert [e.request["op"] for e in journal.entries(result.run_id) if e.kind == "env"].count("reset") == 1


def test_oracle_replies_in_each_agents_shape():
    assert stepping.oracle_replies(["east", "south"], "tool-calling", "ok") == [
        {"tool_calls": [{"name": "act", "arguments": {"action": "east"}}]},
        {"tool_calls": [{"name": "act", "arguments": {"action": "south"}}]}, "ok"]
    assert stepping.oracle_replies(["east"], "codeact", "ok") == ["Action:\nprint(act('east'))\nEnd Action", "Answer: ok"]
    assert stepping.oracle_replies(["east"], "stepper") == ["Action: east"]
    # The tool-calling agent does not make the same call a third time in a row: the oracle looks between.
    names = [s["tool_calls"][0]["name"] for s in stepping.oracle_replies(["south"] * 5, "tool-calling")[:-1]]
    assert names == ["act", "act", "observe", "act", "act", "observe", "act"]


async def test_one_tool_per_action_name_takes_that_action(tmp_path):
    task = TASKS[1]
    episode = stepping.episode_for(ENV, task, action_tools=True)
    assert [t.name for t in episode.tools] == ["act", "observe", "north", "south", "east", "west"]
    script = stepping.oracle_replies(task.gold, "tool-calling", action_tools=list(stepping.action_space_of(ENV, task).actions))
    assert script[0] == {"tool_calls": [{"name": task.gold[0], "arguments": {}}]}
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(conformance.tool_agent(ENV, task, episode, script), episode.prompt, journal=journal)
    assert result.ok and stepping.progress_of(episode).reward == 1.0
    assert stepping.oracle_replies(["click [3]"], "tool-calling", action_tools=["click", "go back"])[0] == {
        "tool_calls": [{"name": "click", "arguments": {"argument": "[3]"}}]}
    assert stepping.oracle_replies(["go back"], "tool-calling", action_tools=["go", "go back"])[0] == {
        "tool_calls": [{"name": "go_back", "arguments": {}}]}


# --- resume and fork ------------------------------------------------------------------------------------


class ActionsAgent:
    """Calls `act` with each action in turn (no model): a fork with other actions diverges at a tool call."""

    name = "actions"

    def __init__(self, tools, actions):
        self.toolset, self.actions = ToolSet(tools), actions

    async def run(self, task: str, ctx: Context) -> AgentResult:
        seen = []
        for i, action in enumerate(self.actions):
            outcome = await call_tool(ctx, self.toolset, ToolCall(f"c{i}", "act", json.dumps({"action": action})))
            seen.append(outcome.content)
        return AgentResult(seen[-1], [{"role": "tool", "content": s} for s in seen])


async def test_a_tool_that_steps_twice_keeps_both_steps_in_its_scope_and_replays(tmp_path):
    from agentzoo.tools import tool

    task = BIG
    episode = stepping.episode_for(ENV, task)
    driver = stepping.driver_of(episode)

    @tool
    async def twice(first: str, second: str) -> str:
        """Take two actions; returns what you observe after the second."""
        await driver.step(first)
        return (await driver.step(second)).observation.text

    class Twice(ActionsAgent):
        async def run(self, task_text: str, ctx: Context) -> AgentResult:
            outcome = await call_tool(ctx, self.toolset, ToolCall("c0", "twice", json.dumps(
                {"first": self.actions[0], "second": self.actions[1]})))
            return AgentResult(outcome.content, [])

    journal = Journal(tmp_path / "j.db")
    result = await runner.run(Twice([twice], task.gold[:2]), "walk", journal=journal)
    assert result.ok, result.error
    nested = [(e.scope, e.seq, e.kind) for e in journal.entries(result.run_id) if e.scope]
    # The reset and both steps, one after the other in the tool call's own scope (the second step once
    # started at seq 0 again, over the first).
    assert nested == [("env#0", 0, "env"), ("env#0", 1, "env"), ("env#0", 2, "env")]
    assert stepping.progress_of(episode).steps == 2
    replayed = await runner.replay(Twice([twice], task.gold[:2]), result.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and replayed.answer == result.answer


async def test_a_fork_restores_the_parents_snapshot_before_its_first_live_step(tmp_path):
    task = BIG
    journal = Journal(tmp_path / "j.db")
    log = tmp_path / "steps.log"
    env = conformance.instrument(GridWorld(), log)
    parent = await runner.run(ActionsAgent(env.episode(task).tools, task.gold[:6]), "walk", journal=journal)
    assert parent.ok
    fork_actions = task.gold[:4] + ["west", "east"]  # the same first four moves, then others
    episode = env.episode(task)
    forked = await runner.fork(ActionsAgent(episode.tools, fork_actions), parent.run_id, journal=journal)
    assert forked.ok and forked.fork_point["seq"] == 4
    ops = [line["op"] for line in conformance.performed(log)]
    assert ops == ["reset"] + ["step"] * 6 + ["restore", "step", "step"]  # the fork repeats none of the four
    assert stepping.progress_of(episode).steps == 6
    # A scorer of a run whose steps were all served learns where the episode stands from the journal.
    late = env.episode(task)
    assert stepping.driver_of(late).follow(journal, forked.run_id).progress.steps == 6
    assert stepping.driver_of(late).follow(journal, parent.run_id).snapshot == {"cell": [0, 4], "moves": 6}
    # The fork's run holds its own records: a resume or replay of it needs nothing of the parent's episode.
    replayed = await runner.replay(ActionsAgent([], fork_actions), forked.run_id, journal=journal)
    assert replayed.answer == forked.answer


async def test_a_fork_of_a_fork_finds_the_records_of_its_ancestors(tmp_path):
    task = BIG
    journal = Journal(tmp_path / "j.db")
    env = conformance.instrument(GridWorld(), tmp_path / "steps.log")
    first = await runner.run(ActionsAgent(env.episode(task).tools, task.gold[:5]), "walk", journal=journal)
    second = await runner.fork(ActionsAgent(env.episode(task).tools, task.gold[:5] + ["west"]), first.run_id,
                               journal=journal)
    episode = env.episode(task)
    third = await runner.fork(ActionsAgent(episode.tools, task.gold[:4] + ["south"]), second.run_id, journal=journal)
    assert third.ok and stepping.progress_of(episode).steps == 5
    assert stepping.driver_of(episode).restores == 1


async def test_resume_after_an_interrupted_side_effecting_step_refuses_to_run_it_again(tmp_path):
    class Cut(GridWorld):
        side_effects = True  # its steps reach something the snapshot does not hold

    class Cutting:
        def __init__(self, inner, at):
            self.inner, self.at, self.action_space, self.n = inner, at, inner.action_space, 0

        async def reset(self, seed=None):
            return await self.inner.reset(seed)

        async def step(self, action):
            self.n += 1
            if self.n == self.at:
                raise asyncio.CancelledError  # cut mid-step, as by Ctrl-C
            return await self.inner.step(action)

        def snapshot(self):
            return self.inner.snapshot()

        def restore(self, state):
            self.inner.restore(state)

        async def close(self):
            pass

    env = Cut()
    make = env.step_episode
    env.step_episode = lambda task: Cutting(make(task), 3)
    journal = Journal(tmp_path / "j.db")
    episode = env.episode(BIG)
    with pytest.raises(asyncio.CancelledError):
        await runner.run(conformance.tool_agent(env, BIG, episode), episode.prompt, journal=journal, run_id="cut")
    again = Cut()
    episode = again.episode(BIG)
    result = await runner.resume(conformance.tool_agent(again, BIG, episode), "cut", journal=journal)
    assert result.error["type"] == "InterruptedEffectError"
    rerun = await runner.resume(conformance.tool_agent(again, BIG, again.episode(BIG)), "cut", journal=journal,
                                rerun_interrupted=True)
    assert rerun.ok
    assert InterruptedEffectError.__name__ == result.error["type"]


async def test_a_step_that_fails_is_an_error_the_agent_sees_and_the_next_starts_from_the_last_record(tmp_path):
    class Flaky(GridWorld):
        def step_episode(self, task):
            episode = super().step_episode(task)
            inner, calls = episode.step, [0]

            async def step(action):
                calls[0] += 1
                if calls[0] == 3:
                    episode.cell = (9, 9)  # half-way through, the state is broken, then it fails
                    raise RuntimeError("the page did not load")
                return await inner(action)

            episode.step = step
            return episode

    env, task = Flaky(), TASKS[0]
    episode = env.episode(task)
    first, rest = env.oracle(task, "tool-calling")[:3], env.oracle(task, "tool-calling")[2:]
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(conformance.tool_agent(env, task, episode, [*first, *rest]), episode.prompt,
                              journal=journal)
    assert result.ok and stepping.progress_of(episode).reward == 1.0  # the third move, tried again, worked
    failed = [m for m in result.messages if m["role"] == "tool" and "the page did not load" in m["content"]]
    assert len(failed) == 1
    assert [e.status for e in journal.entries(result.run_id) if e.kind == "env"].count("error") == 1
    assert stepping.driver_of(episode).restores == 1


# --- the text loop ----------------------------------------------------------------------------------------


def test_read_action_takes_the_last_action_line_else_the_reply():
    assert read_action("Thought: a wall.\nAction: east\n") == "east"
    assert read_action("Action: north\nAction: go west now") == "go west now"
    assert read_action("  south \n") == "south"


async def test_the_text_loop_walks_the_gold_path_and_replays_with_no_environment_at_all(tmp_path):
    task = BIG
    episode = ENV.episode(task)
    model = ScriptedModel(ENV.oracle(task, "stepper"))
    journal = Journal(tmp_path / "j.db")
    result = await runner.run(build_stepper(model, episode=episode), task.prompt, journal=journal)
    assert result.ok and result.answer.endswith("You are at the exit.")
    assert (await ENV.score(episode, result.answer, ScoringContext())).reward == 1.0
    opening = result.messages[1]["content"]
    assert "Actions: north, south, east or west" in opening and "after 30 actions" in opening
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "env"] == ["env"] * (1 + len(task.gold))

    replayed = await runner.replay(build_stepper(ScriptedModel([])), result.run_id, journal=journal)
    assert replayed.ok and _json.dumps(replayed.messages) == _json.dumps(result.messages)


async def test_the_text_loop_resumes_from_the_last_snapshot(tmp_path):
    task = BIG
    journal = Journal(tmp_path / "j.db")
    cut = ScriptedModel([*ENV.oracle(task, "stepper")[:5], KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        await runner.run(build_stepper(cut, episode=ENV.episode(task)), task.prompt, journal=journal, run_id="r")
    log = tmp_path / "steps.log"
    env = conformance.instrument(GridWorld(), log)
    episode = env.episode(task)
    result = await runner.resume(build_stepper(ScriptedModel(ENV.oracle(task, "stepper")), episode=episode), "r",
                                 journal=journal)
    assert result.ok and stepping.progress_of(episode).reward == 1.0
    ops = [line["op"] for line in conformance.performed(log)]
    assert ops == ["restore"] + ["step"] * (len(task.gold) - 5)


async def test_a_window_keeps_the_opening_and_the_last_exchanges():
    task = BIG
    model = ScriptedModel(ENV.oracle(task, "stepper"))
    agent = Stepper(model, stepping.driver_of(ENV.episode(task)), window=2)
    result = await runner.run(agent, task.prompt)
    assert result.ok
    assert all(len(r.messages) <= 2 + 4 for r in model.requests)
    assert model.requests[-1].messages[1]["content"].startswith(task.prompt)
