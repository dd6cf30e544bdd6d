"""Internet of Agents (#68): the protocol test of PAPERS.md (a sync task blocks the next discussion
turn until its result is in; an async task does not; conclude_group_discussion ends the chat with
no next speaker), team-up (discovery several times, 1 to 4 members), discovery by description,
nested teams, replies fed back, replay and reruns from the journal, and the command line.

A `Network` plays every role of the communication layer from the request (team-up calls, each
speaker's turns in order, owners' restatements, pauses, conclusions), so its answers never depend
on which concurrent branch asks first; members are stand-in agents that log what they do.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.agents.tool_calling import ToolCallingAgent
from agentzoo.catalog import get_kind
from agentzoo.errors import ConfigError
from agentzoo.recipes import RECIPES, build_recipe
from agentzoo.recipes._oracle.gold import Marker, system_of
from agentzoo.recipes.ioa import AgentCard, Registry, card_for
from agentzoo.recipes.ioa.asking import PROMPTS
from agentzoo.runtime.context import Context
from agentzoo.runtime.gateway import Gateway
from helpers import cli

ROOT = Path(__file__).parent.parent.parent
SPEAK, RESTATE, PAUSE, CONCLUDE, DECIDE, RETRY = (
    Marker.of(PROMPTS / f"{name}.j2") for name in ("speak", "rephrase", "pause", "conclude", "whether_team_up",
                                                   "reply_retry"))
LEADER = "Assistant"


def say(kind, to=None, content="my message"):
    """A speaker's JSON reply."""
    return json.dumps({"thought": "…", "content": content, "message_type": kind, "next_people": to})


def call(name, **arguments):
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


class Network:
    """The model of every member's communication layer; also of the tool-calling members (system prompt
    `WORKER <name>`) and of members without an agent (`experts`: their description -> their answer)."""

    def __init__(self, turns=(), teamup=(), *, triggers=(1,), teamwork=False, on_turn=None, experts=()):
        self.turns, self.teamup = list(turns), {k: list(v) for k, v in dict(teamup).items()}
        self.experts = dict(experts)  # a card's description -> what the model answers its tasks with
        self.triggers, self.teamwork, self.on_turn = list(triggers), teamwork, on_turn
        self.log = []

    def __call__(self, request):
        last = request.messages[-1]["content"] or ""
        asked = [m["content"] for m in request.messages if "You are " in (m["content"] or "")]
        name = re.search(r"You are ([A-Za-z0-9_-]+)", asked[-1])[1] if asked else ""
        if request.tools:
            self.log.append(f"teamup:{name}")
            return self.teamup[name].pop(0)
        if system_of(request) in self.experts:
            return self.experts[system_of(request)]
        if system_of(request).startswith("WORKER"):  # a `ToolCallingAgent` member doing its task
            self.log.append(f"work:{system_of(request).split()[1]}")
            return f"{system_of(request).split()[1]} found 42"
        if SPEAK.found_in(last) or RETRY.found_in(last):
            self.log.append(f"turn:{name}")
            if self.on_turn:
                self.on_turn(len([e for e in self.log if e.startswith("turn:")]), request)
            return self.turns.pop(0)
        if RESTATE.found_in(last):
            self.log.append(f"restate:{name}")
            return json.dumps({"thought": "…", "task_abstract": f"{name}'s part",
                               "task_description": f"do {name}'s part", "index_to_integrate": [1],
                               "context_information": "", "completion_criteria": "done"})
        if PAUSE.found_in(last):
            self.log.append(f"pause:{name}")
            return json.dumps({"thought": "…", "selected_task_indices": self.triggers})
        if DECIDE.found_in(last):
            self.log.append(f"decide:{name}")
            return json.dumps({"thought": "…", "decision": "teamwork" if self.teamwork else "individual"})
        if CONCLUDE.found_in(last):
            self.log.append(f"conclude:{name}")
            return f"FINAL from {name}"
        raise AssertionError(f"unexpected request: {last[:300]!r}")


class Member:
    """A stand-in agent: logs when it starts and ends; waits for `gate` (if any) before it ends."""

    def __init__(self, name, log, gate=None):
        self.name, self.log, self.gate, self.tasks = name, log, gate, []

    async def run(self, task, ctx):
        self.tasks.append(task)
        self.log.append(f"start:{self.name}")
        if self.gate is not None:
            await self.gate.wait()
        for _ in range(20):  # give the chat every chance to move on if it does not wait
            await asyncio.sleep(0)
        self.log.append(f"end:{self.name}")
        return f"{self.name}'s result"


def network(net, names=("B", "C"), team=(LEADER, "B", "C"), gates=None, **options):
    model = ScriptedModel(net, name="ioa-test")
    members = {n: Member(n, net.log, (gates or {}).get(n)) for n in names}
    cards = [AgentCard(n, f"{n} does the {n.lower()} part of any job", m) for n, m in members.items()]
    agent = build_recipe("ioa", model, members=[], participants=cards, team=list(team) if team else None, **options)
    return agent, model, members


async def chat(agent, task="Find the answer."):
    """The team's own result (thread, tasks, states), from a run with no journal."""
    return await agent.run(task, Context(Gateway(run_id="ioa-test")))


def kinds(result):
    return [(p.sender, p.message_type) for p in result.thread]


def speak_requests(model):
    """The requests for a speaker's turn, asked again after a reply that could not be used included."""
    return [r for r in model.requests if any(SPEAK.found_in(m["content"]) for m in r.messages if m["role"] == "user")]


def said(request):
    """The thread as a speaker's request holds it (between its system message and the closing turn)."""
    return [m["content"] for m in request.messages[1:-1]]


# --- the protocol test of PAPERS.md -------------------------------------------------------------


async def test_a_sync_task_blocks_the_next_discussion_turn_until_its_result_message_arrives():
    net = Network([say("sync_task_assign", ["B"], "B, please do your part."), say("discussion", "C"),
                   say("conclude_group_discussion")])
    agent, model, members = network(net)
    result = await chat(agent)
    assert result.answer == "FINAL from C" and result.stop_reason == "concluded"
    # B restated its task and carried it out, all before the leader's next turn.
    assert net.log == ["turn:Assistant", "restate:B", "start:B", "end:B", "turn:Assistant", "turn:C", "conclude:C"]
    assert kinds(result) == [("Assistant", "sync_task_assign"), ("B", "inform_task_result"),
                             ("Assistant", "discussion"), ("C", "conclude_group_discussion"), ("C", "conclusion")]
    assert result.states == ["teamup", "discussion", "execution", "discussion", "conclusion"]
    second = said(speak_requests(model)[1])
    assert second[0] == "[Assistant]: B, please do your part." and second[1].startswith("[B]: Task 1 is done.")
    assert "B's result" in second[1] and len(second) == 2
    assert "do B's part" in members["B"].tasks[0]  # the task as B restated it
    assert result.tasks == [{"index": 1, "owner": "B", "assigner": "Assistant", "mode": "sync", "abstract": "B's part",
                             "status": "completed", "conclusion": "B's result"}]


async def test_an_async_task_does_not_block_and_its_result_is_posted_when_a_pause_waits_for_it():
    gate = asyncio.Event()

    def open_gate(turn, request):  # B's task cannot end before the leader's second turn is asked
        if turn == 2:
            assert "end:B" not in net.log
            gate.set()

    net = Network([say("async_task_assign", ["B"], "B, work on it in the background."), say("discussion", "C"),
                   say("pause", "C"), say("conclude_group_discussion")], on_turn=open_gate)
    agent, model, _ = network(net, gates={"B": gate})
    result = await asyncio.wait_for(chat(agent), 60)  # a chat that waited for B would never ask turn 2: it would hang
    second = speak_requests(model)[1]  # the leader spoke again at once, with B's progress message in view
    assert said(second)[1].startswith("[B]: I am now working on task 1 in the background")
    assert not any("Task 1 is done" in text for text in said(second))
    assert "Status: in progress" in second.messages[-1]["content"]  # the task board
    # C pauses for task 1; the discussion resumes, with C, once B's result is posted.
    assert kinds(result) == [
        ("Assistant", "async_task_assign"), ("B", "inform_task_progress"), ("Assistant", "discussion"),
        ("C", "pause"), ("B", "inform_task_result"), ("C", "conclude_group_discussion"), ("C", "conclusion")]
    assert net.log.index("end:B") < net.log.index("turn:C", net.log.index("pause:C"))
    after_pause = speak_requests(model)[3]
    assert said(after_pause)[-1].startswith("[B]: Task 1 is done.")
    assert "Status: completed" in after_pause.messages[-1]["content"]


async def test_conclude_group_discussion_ends_the_chat_with_no_next_speaker():
    net = Network([say("discussion", "B"), say("conclude_group_discussion", LEADER, "We are done.")])
    agent, model, _ = network(net)
    result = await chat(agent)
    # B named the leader in next_people, but a conclusion names no one: nobody speaks after it.
    assert net.log == ["turn:Assistant", "turn:B", "conclude:B"] and len(speak_requests(model)) == 2
    assert result.answer == "FINAL from B" and result.thread[-1].message_type == "conclusion"
    conclusion = model.requests[-1].messages  # the whole thread, then the request for the final answer
    assert [m["content"] for m in conclusion[:-1]] == ["[Assistant]: my message", "[B]: We are done."]
    assert CONCLUDE.found_in(conclusion[-1]["content"])


async def test_the_conclusion_waits_for_tasks_still_in_progress_and_reads_their_results():
    net = Network([say("async_task_assign", ["B", "C"], "B and C, in the background."),
                   say("conclude_group_discussion")])
    agent, model, _ = network(net)
    result = await chat(agent)
    assert kinds(result) == [("Assistant", "async_task_assign"), ("B", "inform_task_progress"),
                             ("C", "inform_task_progress"), ("Assistant", "conclude_group_discussion"),
                             ("B", "inform_task_result"), ("C", "inform_task_result"), ("Assistant", "conclusion")]
    assert "C's result" in model.requests[-1].messages[-2]["content"]  # the conclusion is written with both results
    assert [t["status"] for t in result.tasks] == ["completed", "completed"]


async def test_a_sync_assignment_to_two_owners_runs_both_and_posts_their_results_in_the_order_named():
    net = Network([say("sync_task_assign", ["C", "B"], "C and B, both now."), say("conclude_group_discussion")])
    agent, model, _ = network(net)
    result = await chat(agent)
    assert kinds(result)[:3] == [("Assistant", "sync_task_assign"), ("C", "inform_task_result"),
                                 ("B", "inform_task_result")]
    assert {e for e in net.log if e.startswith("end:")} == {"end:B", "end:C"}
    assert net.log.index("end:B") < net.log.index("turn:Assistant", 1)


# --- replies that cannot be used ----------------------------------------------------------------


async def test_a_malformed_reply_is_sent_back_with_the_allowed_values_until_it_is_right():
    net = Network(["I think we should discuss.", say("shout", "B"), say("discussion", "Zed"), say("discussion", "B"),
                   say("conclude_group_discussion")])
    agent, model, _ = network(net)
    result = await chat(agent)
    assert kinds(result)[0] == ("Assistant", "discussion") and result.steps == 2
    first, second, third, fourth = speak_requests(model)[:4]
    assert second.messages[:-2] == first.messages  # the same request, then the reply and what was wrong with it
    assert second.messages[-2] == {"role": "assistant", "content": "I think we should discuss."}
    feedback = [r.messages[-1]["content"] for r in (second, third, fourth)]
    assert "holds no JSON object" in feedback[0]
    assert "message_type is 'shout'" in feedback[1] and "discussion, sync_task_assign, async_task_assign, pause, " \
        "conclude_group_discussion" in feedback[1]
    assert "'Zed', who is not on the team (Assistant, B, C)" in feedback[2]
    assert all("must name team members: Assistant, B, C" in f for f in feedback)


async def test_a_speaker_that_never_replies_usably_fails_the_run_after_the_retries(journal):
    net = Network(["no"] * 3)
    agent, model, _ = network(net, max_reply_retries=2)
    result = await agentzoo.run(agent, "Find the answer.", journal=journal)
    assert not result.ok and result.error["type"] == "UnexpectedModelBehavior"
    assert "Assistant's turn: no usable reply in 3 attempts" in result.error["message"]
    assert model.calls == 3


async def test_past_max_turns_the_speaker_is_told_to_conclude_and_the_chat_ends_even_if_it_does_not():
    net = Network([say("discussion", "B"), say("discussion", LEADER), say("discussion", "B")])
    agent, model, _ = network(net, max_turns=2)
    result = await chat(agent)
    turns = speak_requests(model)
    assert ["must be `conclude_group_discussion`" in r.messages[-1]["content"] for r in turns] == [False, False, True]
    assert result.stop_reason == "max_turns" and result.answer == "FINAL from Assistant"


async def test_discussion_only_allows_discussion_and_conclusion():
    net = Network([say("sync_task_assign", ["B"]), say("conclude_group_discussion")])
    agent, model, _ = network(net, **get_kind("ioa").options_for("discussion", {}))
    result = await chat(agent)
    assert "sync_task_assign" not in speak_requests(model)[0].messages[-1]["content"]
    assert "must be one of: discussion, conclude_group_discussion" in speak_requests(model)[1].messages[-1]["content"]
    assert kinds(result)[0] == ("Assistant", "conclude_group_discussion")


# --- team-up and discovery ------------------------------------------------------------------------

CARDS = [("Coder", "Writes Python programs and runs them to compute results and test code."),
         ("Browser", "Searches the web and reads web pages to find facts."),
         ("Translator", "Translates texts between English, French and German."),
         ("Statistician", "Analyses data sets: statistics, regressions and plots."),
         ("Poet", "Writes poems and short stories.")]


def registry_network(net, **options):
    model = ScriptedModel(net, name="ioa-test")
    cards = [AgentCard(name, text, Member(name, net.log)) for name, text in CARDS]
    return build_recipe("ioa", model, members=[], participants=cards, **options), model


async def test_the_leader_searches_several_times_then_teams_up_and_an_agent_found_is_not_shown_twice():
    net = Network([say("conclude_group_discussion")], teamup={LEADER: [
        call("agent_discovery", queries=["run Python code", "search the web for facts"]),
        call("agent_discovery", queries=["Python code", "translate a text to French"]),
        call("team_up", team_members=[LEADER, "Coder", "Browser"])]})
    agent, model = registry_network(net)
    result = await chat(agent)
    assert result.team == [LEADER, "Coder", "Browser"] and net.log[:3] == ["teamup:Assistant"] * 3
    first, second, third = (r.messages for r in model.requests[:3])
    found = json.loads(second[-2]["content"])
    assert second[-2]["role"] == "tool" and [a["name"] for a in found][:2] == ["Coder", "Browser"]
    assert found[0] == {"name": "Coder", "type": "Thing Assistant", "desc": CARDS[0][1]}
    again = [a["name"] for a in json.loads(third[-2]["content"])]
    assert "Coder" not in again and again[0] == "Translator"  # Coder was found already; the new query finds more
    assert model.requests[0].tool_choice == "auto"
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["agent_discovery", "team_up"]


@pytest.mark.parametrize("names,problem", [
    ([LEADER, "Coder", "Browser", "Translator", "Statistician"], "the team would have 5 members"),
    (["Coder", "Browser", "Translator", "Statistician"], "the team would have 5 members"),  # the leader counts too
    (["Coder", "Coder"], "Coder is named more than once"),
    (["Coder", "Wizard"], "no assistant in the network is called 'Wizard'"),
])
async def test_team_up_refuses_a_team_it_cannot_form_says_why_and_the_leader_tries_again(names, problem):
    net = Network([say("conclude_group_discussion")], teamup={LEADER: [
        call("team_up", team_members=names), call("team_up", team_members=["Coder"])]})
    agent, model = registry_network(net)
    result = await chat(agent)
    refusal = model.requests[1].messages[-2]
    assert refusal["role"] == "tool" and problem in refusal["content"]
    assert "1 to 4 distinct members" in refusal["content"]
    assert result.team == [LEADER, "Coder"]


async def test_the_last_team_up_attempt_forces_team_up_and_the_leader_alone_is_a_team():
    net = Network([say("conclude_group_discussion")],
                  teamup={LEADER: [call("agent_discovery", queries=["code"])] * 2 + [call("team_up", team_members=[])]})
    agent, model = registry_network(net, max_team_up_attempts=3)
    result = await chat(agent)
    assert [r.tool_choice for r in model.requests[:3]] == ["auto", "auto", {"type": "function",
                                                                            "function": {"name": "team_up"}}]
    assert result.team == [LEADER] and result.answer == "FINAL from Assistant"


async def test_no_team_after_the_last_attempt_fails_the_run_naming_the_last_problem(journal):
    net = Network(teamup={LEADER: [call("team_up", team_members=["Wizard"])] * 2})
    agent, _ = registry_network(net, max_team_up_attempts=2)
    result = await agentzoo.run(agent, "Find the answer.", journal=journal)
    assert not result.ok and result.error["type"] == "UnexpectedModelBehavior"
    assert "Assistant formed no team in 2 attempts" in result.error["message"] and "'Wizard'" in result.error["message"]


async def test_discovery_ranks_the_agent_whose_description_fits_first_without_an_embedder():
    registry = Registry([AgentCard(n, d) for n, d in CARDS])
    index = await registry.index(Context(Gateway(run_id="r")))
    ctx = Context(Gateway(run_id="r"))
    assert [c.name for c in await index.search(["compute with a Python program"], ctx)][0] == "Coder"
    assert [c.name for c in await index.search(["statistics of a data set"], ctx)][0] == "Statistician"
    assert [c.name for c in await index.search(["find facts on web pages"], ctx)][0] == "Browser"
    assert await index.search(["zebra"], ctx) == []  # no word in common: nothing found
    assert len(await index.search(["writes"], ctx)) == 2 and Registry().limit == 3


class WordEmbedder:
    """A deterministic embedder for tests: counts of a few words."""

    name, dimensions = "word-embedder", 5
    VOCABULARY = ("python", "web", "translate", "statistic", "poem")

    def __init__(self):
        self.calls = []

    async def embed(self, texts):
        self.calls.append(list(texts))
        return [[float(w in t.lower()) + 0.01 for w in self.VOCABULARY] for t in texts]


async def test_with_an_embedder_discovery_ranks_by_cosine_and_every_embedding_is_a_journaled_effect(journal):
    from agentzoo.recipes.ioa import IoA, Settings

    embedder = WordEmbedder()
    net = Network([say("conclude_group_discussion")], teamup={LEADER: [
        call("agent_discovery", queries=["statistical work"]), call("team_up", team_members=["Statistician"])]})
    model = ScriptedModel(net, name="ioa-test")
    lexical = await Registry([AgentCard(n, d) for n, d in CARDS]).index(Context(Gateway(run_id="r")))
    assert await lexical.search(["statistical work"], Context(Gateway(run_id="r"))) == []  # no word in common
    settings = Settings(max_turns=16, max_team_size=4, max_team_up_attempts=10, max_team_up_depth=1,
                        nested_teams=False, discussion_only=False, rephrase_tasks=True, max_reply_retries=3)
    cards = [AgentCard(LEADER, "leads", None, "human")] + [AgentCard(n, d) for n, d in CARDS]
    agent = IoA(model, Registry(cards, embedder=embedder), settings, leader=LEADER)
    result = await agentzoo.run(agent, "Summarise the data.", journal=journal)
    assert result.ok and json.loads(model.requests[1].messages[-2]["content"])[0]["name"] == "Statistician"
    embeds = [(e.scope, e.seq, e.request["input"]) for e in journal.entries(result.run_id) if e.kind == "embed"]
    assert embeds[0][:2] == ("registry", 0) and len(embeds[0][2]) == 6  # the descriptions, once
    assert embeds[1] == (LEADER, 1, ["statistical work"])  # the query, in the leader's scope
    # replay serves the vectors: an embedder that would be asked again is not
    silent = IoA(ScriptedModel([], name="ioa-test"), Registry(cards, embedder=WordEmbedder()), settings, leader=LEADER)
    replayed = await agentzoo.replay(silent, result.run_id, journal=journal)
    assert replayed.answer == result.answer and silent.registry.embedder.calls == [] and replayed.live_effects == 0


async def test_an_embedder_named_by_string_is_made_on_first_use_and_replay_needs_no_server(journal):
    from agentzoo.testing.fake_openai import FakeOpenAIServer

    def scenario(model_net=None):
        net = model_net or Network([say("conclude_group_discussion")], teamup={LEADER: [
            call("agent_discovery", queries=["poems"]), call("team_up", team_members=["Poet"])]})
        return registry_network(net, embedder=f"openai-compatible:embedder@{url}")

    async with FakeOpenAIServer([]) as server:
        url = server.base_url
        agent, _ = scenario()
        result = await agentzoo.run(agent, "Write a poem.", journal=journal)
        assert result.ok and len(server.embedding_requests) == 2  # the descriptions, then the query
    embeds = [e for e in journal.entries(result.run_id) if e.kind == "embed"]
    assert [e.name for e in embeds] == [f"openai-compatible:embedder@{url}"] * 2
    replayed = await agentzoo.replay(scenario(Network())[0], result.run_id, journal=journal)  # the server is gone
    assert replayed.ok and replayed.answer == result.answer and replayed.live_effects == 0


# --- nested teams --------------------------------------------------------------------------------


async def test_a_member_may_team_up_for_its_task_one_level_down_and_no_further(journal):
    net = Network([say("sync_task_assign", ["Coder"], "Coder, compute it."),  # the top chat
                   say("sync_task_assign", ["Statistician"], "Statistician, check it."),  # Coder's nested chat
                   say("conclude_group_discussion"),  # Coder concludes its chat
                   say("conclude_group_discussion")],  # the leader concludes
                  teamup={LEADER: [call("team_up", team_members=["Coder"])],
                          "Coder": [call("agent_discovery", queries=["statistics"]),
                                    call("team_up", team_members=["Statistician"])]},
                  teamwork=True)
    agent, model = registry_network(net, nested_teams=True)
    result = await agentzoo.run(agent, "Compute and check.", journal=journal)
    assert result.ok, result.error
    assert net.log == ["teamup:Assistant", "turn:Assistant", "restate:Coder", "decide:Coder", "teamup:Coder",
                       "teamup:Coder", "turn:Coder", "restate:Statistician", "start:Statistician", "end:Statistician",
                       "turn:Coder", "conclude:Coder", "turn:Assistant", "conclude:Assistant"]
    # depth 1: the Statistician, one level down, is not asked whether to team up; its team's answer is Coder's result
    scopes = {e.scope for e in journal.entries(result.run_id)}
    assert {"Assistant", "Coder", "Coder/task#1", "Coder/task#1/Coder", "Coder/task#1/Statistician"} <= scopes
    top = [m for m in result.messages if m["name"] == "Coder"][0]["content"]
    assert "FINAL from Coder" in top


async def test_with_depth_zero_a_member_is_never_asked_to_team_up():
    net = Network([say("sync_task_assign", ["B"]), say("conclude_group_discussion")], teamwork=True)
    agent, _, _ = network(net, nested_teams=True, max_team_up_depth=0)
    await chat(agent)
    assert not any(e.startswith("decide:") for e in net.log) and "start:B" in net.log


# --- members, registry and configuration -----------------------------------------------------


def test_members_are_agentzoo_agents_and_recipes_by_name_and_any_agent_on_a_card():
    model = ScriptedModel([])

    class Remote:  # what a remote (A2A) agent offers: a name, a description, run(task, ctx)
        name, description = "remote-helper", "Answers questions about train timetables."

        async def run(self, task, ctx):
            return "the 8:15"

    agent = build_recipe("ioa", model, members=["tool-calling", "cot", "codeact"], participants=[card_for(Remote())])
    assert agent.registry.names == [LEADER, "tool-calling", "cot", "codeact", "remote-helper"]
    assert agent.registry.get("cot").description == " ".join(importlib.import_module(RECIPES["cot"]).__doc__
                                                              .split("\n\n")[0].split())
    assert isinstance(agent.registry.get("tool-calling").agent, ToolCallingAgent)
    assert agent.registry.get(LEADER).agent is None and agent.registry.get(LEADER).kind == "human"
    with pytest.raises(ConfigError, match="unknown member 'wizard'"):
        build_recipe("ioa", model, members=["wizard"])
    with pytest.raises(ConfigError, match="cannot be the ioa recipe itself"):
        build_recipe("ioa", model, members=["ioa"])
    with pytest.raises(ConfigError, match="needs a description"):
        card_for(Member("x", []))
    with pytest.raises(ConfigError, match=r"team \['tool-calling', 'nobody'\]: no assistant .* 'nobody'"):
        build_recipe("ioa", model, team=["tool-calling", "nobody"])
    with pytest.raises(ConfigError, match="registered twice"):
        build_recipe("ioa", model, members=["codeact"], participants=[AgentCard("codeact", "again")])


async def test_a_member_without_an_agent_has_its_task_done_by_the_model_with_its_description(journal):
    net = Network([say("sync_task_assign", ["Geo"]), say("conclude_group_discussion")],
                  experts={"Knows every capital city.": "Paris"})
    agent = build_recipe("ioa", ScriptedModel(net), members=[], team=["Geo"],
                         participants=[AgentCard("Geo", "Knows every capital city.")])
    result = await agentzoo.run(agent, "Capital of France?", journal=journal)
    assert result.ok and "Paris" in [m for m in result.messages if m["name"] == "Geo"][0]["content"]
    assert [e.kind for e in journal.entries(result.run_id) if e.scope == "Geo/task#1"] == ["model"]


# --- the journal: replay and reruns ------------------------------------------------------------


class Slow:
    """An agent that lets the event loop run `delay` times before the agent it wraps starts."""

    def __init__(self, agent, delay):
        self.agent, self.delay, self.name = agent, delay, agent.name

    async def run(self, task, ctx):
        for _ in range(self.delay):
            await asyncio.sleep(0)
        return await self.agent.run(task, ctx)


def worker_network(turns, teamup=None, delays=None, model=None):
    """Members that are tool-calling agents on the same scripted model (their calls are journaled too),
    each started after the given number of event-loop turns."""
    net = Network(turns, teamup or {})
    model = model or ScriptedModel(net, name="ioa-test")
    cards = [AgentCard(n, f"{n} works on numbers", Slow(ToolCallingAgent(model, (), system=f"WORKER {n}", name=n),
                                                        (delays or {}).get(n, 0))) for n in ("B", "C", "D")]
    return build_recipe("ioa", model, members=[], participants=cards), model, net


SCENARIO = dict(
    turns=[say("async_task_assign", ["B", "C"], "B and C, in the background."),
           say("sync_task_assign", ["D"], "D, now."), say("pause", LEADER), say("discussion", "D"),
           say("conclude_group_discussion")],
    teamup={LEADER: [call("agent_discovery", queries=["numbers"]), call("team_up", team_members=["B", "C", "D"])]})


async def test_a_run_replays_from_the_journal_with_no_model_call(journal):
    agent, model, _ = worker_network(**SCENARIO)
    result = await agentzoo.run(agent, "Sum the numbers.", journal=journal)
    assert result.ok and result.answer == "FINAL from D"
    assert {"B/task#1", "C/task#2", "D/task#3"} <= {e.scope for e in journal.entries(result.run_id)}
    silent = ScriptedModel([], name="ioa-test")  # raises if asked anything
    again, _, _ = worker_network(**SCENARIO, model=silent)
    replayed = await agentzoo.replay(again, result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer and replayed.messages == result.messages
    assert silent.calls == 0 and replayed.live_effects == 0 and replayed.model_calls == result.model_calls


async def test_the_same_run_twice_gives_the_same_journal_whatever_the_background_tasks_timing(tmp_path):
    def recorded(journal, run_id):
        return sorted((e.scope, e.seq, e.kind, e.request_hash, json.dumps(e.result, sort_keys=True))
                      for e in journal.entries(run_id))

    runs, orders = [], []
    with Journal(tmp_path / "j.db") as journal:
        for delays in ({"B": 50, "C": 0}, {"B": 0, "C": 50}):  # the background tasks end in one order, then the other
            agent, _, net = worker_network(**SCENARIO, delays=delays)
            result = await agentzoo.run(agent, "Sum the numbers.", journal=journal)
            runs.append(recorded(journal, result.run_id))
            orders.append([e for e in net.log if e in ("work:B", "work:C")])
    assert orders == [["work:C", "work:B"], ["work:B", "work:C"]]
    # team-up 2, turns 5, restatements 3, the members' own calls 3, the pause 1, the conclusion 1
    assert runs[0] == runs[1] and len(runs[0]) == 15


async def test_a_run_cut_by_a_provider_error_resumes_without_repeating_a_finished_call(journal):
    from agentzoo.errors import ServerError

    class Failing(Network):
        def __call__(self, request):
            if CONCLUDE.found_in(request.messages[-1]["content"] or ""):
                raise ServerError("the provider is down", status=503)
            return super().__call__(request)

    agent, _, _ = worker_network(**SCENARIO, model=ScriptedModel(Failing(**SCENARIO), name="ioa-test"))
    failed = await agentzoo.run(agent, "Sum the numbers.", journal=journal)
    assert not failed.ok and failed.error["type"] == "ServerError"
    again, model, _ = worker_network(**SCENARIO)
    resumed = await agentzoo.resume(again, failed.run_id, journal=journal)
    assert resumed.ok and resumed.answer == "FINAL from D"
    assert model.calls == 1 and CONCLUDE.found_in(model.requests[0].messages[-1]["content"])  # only the conclusion


# --- the command line ----------------------------------------------------------------------------


def az(*args):
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    return cli.agentzoo(*args, env={"PYTHONPATH": path}, check=False, timeout=120)


def test_a_run_from_the_command_line_with_a_scripted_model_file(tmp_path):
    script = tmp_path / "ioa.json"
    restated = json.dumps({"task_abstract": "multiply", "task_description": "Compute 6 times 7.",
                           "index_to_integrate": [1]})
    script.write_text(json.dumps([
        call("agent_discovery", queries=["runs tools"]),            # the leader searches
        call("team_up", team_members=[LEADER, "tool-calling"]),     # and teams up
        say("sync_task_assign", ["tool-calling"], "tool-calling, compute 6 times 7."),
        restated,                                                   # the owner restates its task
        "6 times 7 is 42.",                                         # the tool-calling agent's answer
        say("conclude_group_discussion"),
        "The answer is 42.",                                        # the conclusion
    ]))
    out = az("run", "What is 6 times 7?", "--agent", "ioa", "--model", f"scripted:{script}",
             "--journal", tmp_path / "j.db")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "answer: The answer is 42." in out.stdout
    with Journal(tmp_path / "j.db") as j:
        run = j.list_runs()[0]
        scopes = [e.scope for e in j.entries(run.run_id)]
    assert run.config["agent"] == "ioa" and scopes == [LEADER, LEADER, LEADER, "tool-calling", "tool-calling/task#1",
                                                       LEADER, LEADER]


def test_recipes_show_lists_the_options_with_their_sources():
    out = az("recipes", "show", "ioa")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("ioa\n===") and "Internet of Agents" in text
    for line in ("max_turns: int = 16", "max_team_size: int = 4", "max_team_up_attempts: int = 10",
                 "max_team_up_depth: int = 1", "discovery_limit: int = 3", "temperature: float | None = 0.1"):
        assert line in text, line
    assert "from code: scripts/gaia/test_gaia.py, max_turns 16" in text
    assert "@flat (default)" in text and "from Python only: participants" in text
