"""Controllers of the single-agent loop: an FSM never performs a disallowed action and moves on execution
feedback; a stage controller switches stages; a retriever shows only the top-k tools; all replay."""

import pytest

from agentzoo.agents.controllers import (
    ActionFSM, Controllers, Stage, StageController, ToolRetriever, Transition,
)
from agentzoo.agents.tool_calling import ToolCallingAgent
from agentzoo.errors import ConfigError
from agentzoo.memory.hashing import HashingEmbedder
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.tools import ToolSet, tool

performed: list[str] = []


@tool
def search(query: str) -> str:
    """Search the repository for code matching the query."""
    performed.append("search")
    return f"found {query} in calc.py"


@tool
def write_script(code: str) -> str:
    """Write the reproduction script."""
    performed.append("write_script")
    return "written"


@tool
def run_script() -> str:
    """Run the reproduction script and report whether it failed."""
    performed.append("run_script")
    if "fail" in performed:
        raise ValueError("the script crashed before reproducing")
    return "AssertionError reproduced"


def call(name, **arguments):
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def fsm():
    return ActionFSM({"locate": ["search"], "reproduce": ["write_script", "run_script"], "done": []}, "locate",
                     [Transition("locate", "search", "reproduce"),
                      Transition("reproduce", "run_script", "done", when=lambda seen: "reproduced" in seen.content),
                      Transition("reproduce", "run_script", "reproduce", when="error")], final=["done"])


async def test_a_disallowed_action_is_refused_with_the_allowed_set_and_never_performed(journal):
    performed.clear()
    model = ScriptedModel([call("run_script"), call("search", query="divide"), call("write_script", code="x"),
                           call("run_script"), "reproduced the bug"])
    machine = fsm()
    agent = ToolCallingAgent(model, [search, write_script, run_script], controller=machine)
    result = await runner.run(agent, "reproduce the bug", journal=journal)
    assert result.ok and performed == ["search", "write_script", "run_script"]  # the first run_script never ran
    refused = [m["content"] for m in result.messages if m["role"] == "tool"][0]
    assert "'run_script' is not allowed in state 'locate'" in refused and "Allowed now: search" in refused
    assert machine.history == [("locate", "search", "reproduce"), ("reproduce", "run_script", "done")]
    # each request shows only the state's tools and says the state, without changing the conversation
    shown = [[t["function"]["name"] for t in r.tools] for r in model.requests]
    assert shown == [["search"], ["search"], ["write_script", "run_script"], ["write_script", "run_script"], []]
    assert model.requests[2].messages[-1]["content"].startswith("State: reproduce.")
    assert not any(m["content"].startswith("State:") for m in result.messages if m["role"] == "user")
    transitions = [e.request for e in journal.entries(result.run_id) if e.kind == "controller"]
    assert [(t["from"], t["to"]) for t in transitions] == [("locate", "reproduce"), ("reproduce", "done")]


async def test_the_state_moves_only_on_execution_feedback(journal):
    performed.clear()
    performed.append("fail")  # run_script raises: an error result keeps the machine in reproduce
    model = ScriptedModel([call("search", query="x"), call("run_script"), "gave up"])
    machine = fsm()
    result = await runner.run(ToolCallingAgent(model, [search, write_script, run_script], controller=machine),
                              "t", journal=journal)
    assert result.ok and machine.state == "reproduce" and not machine.finished
    assert machine.history[-1] == ("reproduce", "run_script", "reproduce")


async def test_a_replay_makes_the_same_decisions_with_no_tool_or_model_call(journal):
    performed.clear()
    script = [call("run_script"), call("search", query="d"), call("write_script", code="x"), call("run_script"), "ok"]
    result = await runner.run(ToolCallingAgent(ScriptedModel(script), [search, write_script, run_script],
                                               controller=fsm()), "t", journal=journal)
    performed.clear()
    again = ScriptedModel([])
    machine = fsm()
    replayed = await runner.replay(ToolCallingAgent(again, [search, write_script, run_script], controller=machine),
                                   result.run_id, journal=journal)
    assert replayed.ok and again.requests == [] and performed == [] and machine.state == "done"


def test_machine_definitions_are_checked():
    with pytest.raises(ConfigError, match="initial state 'start'"):
        ActionFSM({"a": ["search"]}, "start", [])
    with pytest.raises(ConfigError, match="names state 'b'"):
        ActionFSM({"a": ["search"]}, "a", [Transition("a", "search", "b")])
    with pytest.raises(ConfigError, match="which that state does not allow"):
        ActionFSM({"a": ["search"], "b": []}, "a", [Transition("a", "run_script", "b")])


async def test_a_stage_controller_switches_stage_and_refuses_tools_of_another_stage(journal):
    performed.clear()
    stages = {"plan": Stage("Stage: plan. Decide what to look for.", ("search",)),
              "code": Stage("Stage: code. Write and run the script.", ("write_script", "run_script"))}

    def next_stage(stage, item, seen):  # a failed step sends control back to planning (PoAct's reviewer reject)
        return "plan" if seen.is_error else ("code" if stage == "plan" else stage)

    control = StageController(stages, "plan", next_stage)
    model = ScriptedModel([call("write_script", code="x"), call("search", query="d"), call("run_script"), "done"])
    result = await runner.run(ToolCallingAgent(model, [search, write_script, run_script], controller=control),
                              "t", journal=journal)
    assert result.ok and performed == ["search", "run_script"]
    notes = [r.messages[-1]["content"] for r in model.requests]
    assert notes == ["Stage: plan. Decide what to look for.", "Stage: plan. Decide what to look for.",
                     "Stage: code. Write and run the script.", "Stage: code. Write and run the script."]
    stages_seen = [(e.request["from"], e.request["to"]) for e in journal.entries(result.run_id)
                   if e.kind == "controller"]
    assert stages_seen == [("plan", "code")]  # the refused write_script was an error: stayed in plan


async def test_the_retriever_shows_the_top_k_tools_for_the_goal_and_replays_its_ranking(journal):
    def make(i, words):
        def fn(x: str = "") -> str:
            return words
        fn.__name__ = f"tool_{i}"
        fn.__doc__ = words
        return tool(fn)

    topics = ["weather forecast rain", "stock price market", "flight booking airline", "recipe cooking pasta",
              "translate language french", "calendar meeting schedule"]
    tools = [make(i, t) for i, t in enumerate(topics)]
    retriever = ToolRetriever(ToolSet(tools), HashingEmbedder(), k=2)
    model = ScriptedModel(["fine"])
    result = await runner.run(ToolCallingAgent(model, tools, controller=retriever),
                              "book a flight with an airline", journal=journal)
    [request] = model.requests
    names = [t["function"]["name"] for t in request.tools]
    assert len(names) == 2 and "tool_2" in names
    replayed = await runner.replay(ToolCallingAgent(ScriptedModel([]), tools,
                                                    controller=ToolRetriever(ToolSet(tools), HashingEmbedder(), k=2)),
                                   result.run_id, journal=journal)
    assert replayed.ok


async def test_combined_controllers_intersect_tools_and_the_first_refusal_wins(journal):
    performed.clear()
    stages = {"any": Stage("Go.", None)}
    both = Controllers(fsm(), StageController(stages, "any", lambda s, i, o: s))
    model = ScriptedModel([call("write_script", code="x"), "stop"])
    result = await runner.run(ToolCallingAgent(model, [search, write_script, run_script], controller=both),
                              "t", journal=journal)
    assert result.ok and performed == []
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["search"]
    assert model.requests[0].messages[-1]["content"].endswith("Go.")
