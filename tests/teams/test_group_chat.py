"""Group chat: rule-, function- and model-selected speakers, hand-off by reply marker, endings."""

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.errors import ConfigError
from agentzoo.teams.group_chat import (GroupChat, ModelSelector, Participant, SelectionState, marker_target,
                                       pick_name, round_robin, strip_markers)
from agentzoo.teams.orchestrator import LedgerPrompts, Orchestrator
from agentzoo.types import ModelRequest


class Member:
    """Replies from its list (then `<name> <n>`), each reply one model call in its own scope."""

    def __init__(self, name, replies=()):
        self.name, self.replies, self.prompts = name, list(replies), []
        self.model = ScriptedModel(self._reply, name=f"m-{name}")

    def _reply(self, request):
        return self.replies.pop(0) if self.replies else f"{self.name} {len(self.prompts)}"

    async def run(self, task, ctx):
        self.prompts.append(task)
        return (await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": task}]))).text


def chat(replies=None, **kw):
    replies = replies or {}
    members = {n: Member(n, replies.get(n, ())) for n in ("Ann", "Bob", "Cy")}
    return GroupChat([Participant(n, m, f"{n} helps") for n, m in members.items()], **kw), members


def said(result):
    return [(m["name"], m["content"]) for m in result.messages[1:]]


async def test_round_robin_whole_history_and_one_scope_per_turn(journal):
    team, members = chat(max_turns=4)
    result = await agentzoo.run(team, "Plan a picnic.", journal=journal)
    assert result.ok and result.answer == "Ann 2"
    assert said(result) == [("Ann", "Ann 1"), ("Bob", "Bob 1"), ("Cy", "Cy 1"), ("Ann", "Ann 2")]
    assert result.messages[0] == {"role": "user", "name": "user", "content": "Plan a picnic."}
    # The fourth speaker sees the task, the team and the three replies before it.
    last_prompt = members["Ann"].prompts[1]
    assert last_prompt.startswith("Plan a picnic.\n\nYou are Ann, one member of this team:\nAnn: Ann helps\n")
    assert "[Bob]\nBob 1" in last_prompt and "[Cy]\nCy 1" in last_prompt and "HANDOFF: <their name>" in last_prompt
    scopes = {e.scope for e in journal.entries(result.run_id)}
    assert scopes == {"Ann", "Bob", "Cy", "Ann#2"}


async def test_a_function_picks_the_speaker():
    team, _ = chat(max_turns=3, selector=lambda state: "Cy" if state.turn % 2 == 0 else "Bob")
    result = await agentzoo.run(team, "t")
    assert [name for name, _ in said(result)] == ["Cy", "Bob", "Cy"]


async def test_a_model_picks_the_speaker_and_is_asked_again_when_it_names_nobody(journal):
    selector_model = ScriptedModel(["I would ask Bob.", "Nobody yet", "Ann or Cy", "Cy"])
    team, _ = chat(max_turns=2, selector=ModelSelector(selector_model))
    result = await agentzoo.run(team, "t", journal=journal)
    assert [name for name, _ in said(result)] == ["Bob", "Cy"]
    second = selector_model.requests[3].messages
    assert [m["role"] for m in second] == ["user", "assistant", "user", "assistant", "user"]
    assert "Bob 1" in second[0]["content"] and "Reply with one name from Ann, Bob, Cy" in second[0]["content"]
    assert "names no member" in second[2]["content"] and "several members (Ann, Cy)" in second[4]["content"]
    calls = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert calls == ["selector", "Bob", "selector", "selector", "selector", "Cy"]


async def test_a_reply_marker_hands_the_conversation_over_and_terminate_ends_it():
    replies = {"Ann": ["Cy knows this one.\nHANDOFF: Cy"], "Cy": ["HANDOFF: Zed\nAnyone?"],
               "Bob": ["The answer is 4.\nTERMINATE"]}
    team, members = chat(replies=replies, max_turns=10)
    result = await agentzoo.run(team, "t")
    # Ann hands to Cy (round-robin would pick Bob); Cy names no member, so round-robin goes on (Ann).
    assert [name for name, _ in said(result)] == ["Ann", "Cy", "Ann", "Bob"]
    assert result.answer == "The answer is 4."


async def test_a_termination_function_ends_the_chat():
    team, _ = chat(max_turns=10, termination=lambda thread: len(thread) == 3)
    result = await agentzoo.run(team, "t")
    assert [name for name, _ in said(result)] == ["Ann", "Bob"] and result.answer == "Bob 1"


async def test_teams_nest_a_group_chat_as_an_orchestrator_member():
    inner, _ = chat(max_turns=2)
    director = ScriptedModel([
        "facts", "plan",
        '{"is_request_satisfied": {"reason": "", "answer": false}, "is_in_loop": {"reason": "", "answer": false},'
        ' "is_progress_being_made": {"reason": "", "answer": true}, "next_speaker": {"reason": "", "answer": "Panel"},'
        ' "instruction_or_question": {"reason": "", "answer": "discuss"}}',
        '{"is_request_satisfied": {"reason": "done", "answer": true}, "is_in_loop": {"reason": "", "answer": false},'
        ' "is_progress_being_made": {"reason": "", "answer": true}, "next_speaker": {"reason": "", "answer": ""},'
        ' "instruction_or_question": {"reason": "", "answer": ""}}',
        "final",
    ])
    from agentzoo.recipes.magentic_one import PROMPTS

    outer = Orchestrator(director, [Participant("Panel", inner, "a panel")], LedgerPrompts.from_dir(PROMPTS))
    result = await agentzoo.run(outer, "t")
    assert result.ok and result.answer == "final"
    assert {"role": "assistant", "name": "Panel", "content": "Bob 1"} in result.messages


async def test_replay_makes_no_model_call(journal):
    team, _ = chat(max_turns=3, selector=ModelSelector(ScriptedModel(["Cy", "Ann", "Cy"])))
    first = await agentzoo.run(team, "t", journal=journal)
    silent, _ = chat(max_turns=3, selector=ModelSelector(ScriptedModel([])))
    for p in silent.participants:
        p.agent.model = ScriptedModel([], name=f"m-{p.name}")
    again = await agentzoo.replay(silent, first.run_id, journal=journal)
    assert again.answer == first.answer == "Cy 2" and again.messages == first.messages and again.live_effects == 0


def test_markers_and_names():
    assert marker_target("ok\nHANDOFF: `Bob`\n", "HANDOFF") == "Bob"
    assert marker_target("handoff to Bob", "HANDOFF") is None
    assert strip_markers("4\nHANDOFF: Bob\nTERMINATE\n") == "4"
    assert pick_name(" **Bob** ", ["Bob", "Bobby"]) == ("Bob", "")
    assert pick_name("Bobby should", ["Bob", "Bobby"]) == ("Bobby", "")
    members = [Participant(n, Member(n)) for n in ("Ann", "Bob")]
    rule = round_robin()
    assert [rule(SelectionState("t", members, [], last, 0)) for last in (None, "Ann", "Bob")] == ["Ann", "Bob", "Ann"]


def test_bad_chats_are_config_errors():
    with pytest.raises(ConfigError, match="reserved"):
        GroupChat([Participant("selector", Member("x"))])
    with pytest.raises(ConfigError, match="max_turns"):
        GroupChat([Participant("a", Member("a"))], max_turns=0)
