"""The ledger orchestrator, driven by scripted models, asserted as whole histories.

Templates here are one-liners (`FACTS? <task>`, `PROGRESS? <names>`, …) so that what the
orchestrator sends can be written out in full; the Magentic-One wording is the recipe's.
"""

import json

import pytest

import agentzoo
from agentzoo import ScriptedModel
from agentzoo.errors import ConfigError, StepLimitExceeded
from agentzoo.runtime.context import Context
from agentzoo.runtime.gateway import Gateway
from agentzoo.teams.group_chat import Participant
from agentzoo.teams.orchestrator import (BoundedReplans, DecayingStalls, LedgerPrompts, Orchestrator,
                                         parse_progress_ledger, InvalidLedger)
from agentzoo.types import ModelRequest

TEMPLATES = {
    "facts": "FACTS? {{ task }}",
    "plan": "PLAN? {{ team }}",
    "ledger": "LEDGER {{ facts }} / {{ plan }}",
    "progress": "PROGRESS? {{ names | join(',') }}",
    "facts_update": "FACTS UPDATE? {{ facts }}",
    "plan_update": "PLAN UPDATE?",
    "final_answer": "FINAL? {{ task }}",
    "turn": "{{ name }}, please: {{ instruction }} ({{ thread | length }} messages)",
    "retry": "RETRY: {{ problem }}",
}


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger_prompts")
    for name, text in TEMPLATES.items():
        (folder / f"{name}.j2").write_text(text)
    return LedgerPrompts.from_dir(folder)


def L(sat=False, progress=True, loop=False, to="Coder", say="go on"):
    """A progress ledger as the model would write it."""
    f = lambda answer: {"reason": "because", "answer": answer}  # noqa: E731
    return json.dumps({"is_request_satisfied": f(sat), "is_in_loop": f(loop), "is_progress_being_made": f(progress),
                       "next_speaker": f(to), "instruction_or_question": f(say)})


STALL = L(progress=False)


class Director:
    """The orchestrator's model: numbered fact sheets and plans, the given progress ledgers in
    order, and a log of what it was asked (shared with the members, so the log is the run)."""

    def __init__(self, ledgers, log):
        self.ledgers, self.log, self.n = list(ledgers), log, {"facts": 0, "plan": 0}

    def __call__(self, request):
        last = request.messages[-1]["content"]
        for prefix, kind in [("FACTS UPDATE?", "facts_update"), ("FACTS?", "facts"), ("PLAN UPDATE?", "plan_update"),
                             ("PLAN?", "plan"), ("PROGRESS?", "progress"), ("RETRY:", "progress"),
                             ("FINAL?", "final")]:
            if last.startswith(prefix):
                self.log.append(kind)
                break
        if kind in ("facts", "facts_update", "plan", "plan_update"):
            key = kind.split("_")[0]
            self.n[key] += 1
            return f"{key[0].upper()}{self.n[key]}"
        if kind == "progress":
            return self.ledgers.pop(0)
        return "the answer"


class Member:
    """A team member that makes one model call per turn (in its own scope) and logs its turns."""

    def __init__(self, name, log, fail=False):
        self.name, self.log, self.fail, self.resets, self.prompts = name, log, fail, 0, []
        self.model = ScriptedModel(lambda request: f"{name} did it")

    async def run(self, task, ctx):
        self.prompts.append(task)
        self.log.append(f"turn:{self.name}")
        if self.fail:
            raise StepLimitExceeded("no answer in 3 steps")
        return (await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": task}]))).text

    def reset(self):
        self.resets += 1


def team(prompts, ledgers, *, names=("Coder", "Writer"), policy=None, **kw):
    log = []
    director = ScriptedModel(Director(ledgers, log), name="director")
    members = {n: Member(n, log) for n in names}
    parts = [Participant(n, m, f"{n.lower()}s") for n, m in members.items()]
    return Orchestrator(director, parts, prompts, policy=policy or DecayingStalls(), **kw), director, members, log


def msgs(request):
    return [{k: v for k, v in m.items()} for m in request.messages]


A = lambda content: {"role": "assistant", "content": content}  # noqa: E731
U = lambda content, name=None: {"role": "user", "content": content} | ({"name": name} if name else {})  # noqa: E731
PROGRESS = U("PROGRESS? Coder,Writer")
LEDGER1 = A("LEDGER F1 / P1")


# --- the loop, whole history ------------------------------------------------------------------


async def test_a_run_asks_facts_then_plan_broadcasts_the_ledger_and_follows_the_progress_ledger(prompts, journal):
    orchestrator, director, members, log = team(prompts, [L(to="Coder", say="compute it"), L(to="Writer", say="write it"),
                                                          L(sat=True)])
    result = await agentzoo.run(orchestrator, "T", journal=journal)
    assert result.ok and result.answer == "the answer"
    assert log == ["facts", "plan", "progress", "turn:Coder", "progress", "turn:Writer", "progress", "final"]
    after_coder = [LEDGER1, A("compute it"), U("Coder did it", "Coder")]
    after_writer = after_coder + [A("write it"), U("Writer did it", "Writer")]
    assert [msgs(r) for r in director.requests] == [
        [U("FACTS? T")],
        [U("FACTS? T"), A("F1"), U("PLAN? Coder: coders\nWriter: writers")],
        [LEDGER1, PROGRESS],
        after_coder + [PROGRESS],
        after_writer + [PROGRESS],
        after_writer + [U("FINAL? T")],
    ]
    assert [r.response_format for r in director.requests] == [None, None] + [{"type": "json_object"}] * 3 + [None]
    # Each member sees the thread so far and its instruction; the broadcast transcript is the history.
    assert members["Coder"].prompts == ["Coder, please: compute it (2 messages)"]
    assert members["Writer"].prompts == ["Writer, please: write it (4 messages)"]
    assert result.messages == [
        {"role": "assistant", "name": "orchestrator", "content": "LEDGER F1 / P1"},
        {"role": "assistant", "name": "orchestrator", "content": "compute it"},
        {"role": "assistant", "name": "Coder", "content": "Coder did it"},
        {"role": "assistant", "name": "orchestrator", "content": "write it"},
        {"role": "assistant", "name": "Writer", "content": "Writer did it"},
        {"role": "assistant", "name": "orchestrator", "content": "the answer"},
    ]
    # Every role in its own scope of the journal.
    scopes = journal.usage_by_scope(result.run_id)
    assert {s: u["model_calls"] for s, u in scopes.items()} == {"orchestrator": 6, "Coder": 1, "Writer": 1}


async def test_after_the_stall_limit_it_updates_facts_and_plan_resets_the_team_and_broadcasts_the_new_ledger(prompts):
    orchestrator, director, members, log = team(prompts, [STALL, L(progress=False, to="Writer"), STALL, L(sat=True)])
    result = await agentzoo.run(orchestrator, "T")
    assert log == ["facts", "plan", "progress", "turn:Coder", "progress", "turn:Writer", "progress",
                   "facts_update", "plan_update", "progress", "final"]
    thread = [LEDGER1, A("go on"), U("Coder did it", "Coder"), A("go on"), U("Writer did it", "Writer")]
    facts_update, plan_update, progress = director.requests[5:8]
    assert msgs(facts_update) == thread + [U("FACTS UPDATE? F1")]
    assert msgs(plan_update) == thread + [U("FACTS UPDATE? F1"), A("F2"), U("PLAN UPDATE?")]
    assert msgs(progress) == [A("LEDGER F2 / P2"), PROGRESS]  # the thread was cleared, the new ledger broadcast
    assert [m.resets for m in members.values()] == [2, 2]  # at the start and at the re-plan
    assert "LEDGER F2 / P2" in [m["content"] for m in result.messages]
    assert result.answer == "the answer"


async def test_decaying_stalls_count_down_on_progress_and_keep_the_count_after_a_replan(prompts):
    # stalls: 1, 0, 1, 2, 3 -> re-plan (kept at 3); progress -> 2; stall -> 3 -> re-plan again.
    ledgers = [STALL, L(), STALL, STALL, STALL, L(), STALL, L(sat=True)]
    orchestrator, director, _, log = team(prompts, ledgers)
    await agentzoo.run(orchestrator, "T")
    assert log == ["facts", "plan"] + ["progress", "turn:Coder"] * 4 + ["progress", "facts_update", "plan_update",
                                                                         "progress", "turn:Coder",
                                                                         "progress", "facts_update", "plan_update",
                                                                         "progress", "final"]


async def test_bounded_replans_replan_on_the_fourth_stall_reset_the_count_and_stop_after_three(prompts):
    orchestrator, _, _, log = team(prompts, [STALL] * 16, policy=BoundedReplans())
    result = await agentzoo.run(orchestrator, "T")
    one_plan = ["progress", "turn:Coder"] * 3 + ["progress"]
    assert log == ["facts", "plan"] + (one_plan + ["facts_update", "plan_update"]) * 3 + one_plan + ["final"]
    assert result.answer == "the answer"


async def test_the_round_limit_ends_with_the_final_answer(prompts):
    orchestrator, _, _, log = team(prompts, [L()] * 3, policy=DecayingStalls(max_turns=2))
    await agentzoo.run(orchestrator, "T")
    assert log == ["facts", "plan"] + ["progress", "turn:Coder"] * 3 + ["final"]  # rounds > max_turns: 3 rounds


# --- the progress ledger is validated and asked again -----------------------------------------


BAD = [
    ("Sure! The team should go on.", "not one JSON object"),
    (json.dumps({k: v for k, v in json.loads(L()).items() if k != "is_in_loop"}), "'is_in_loop'"),
    (L(to="WebSurfer"), "next_speaker 'WebSurfer' is not on the team"),
    (L().replace('"answer": false', '"answer": "false"', 1), "is_request_satisfied.answer must be a JSON boolean"),
]


async def test_an_invalid_progress_ledger_is_asked_again_with_the_same_request_then_accepted(prompts):
    orchestrator, director, _, log = team(prompts, [bad for bad, _ in BAD] + [L(), L(sat=True)])
    result = await agentzoo.run(orchestrator, "T")
    assert result.ok and log == ["facts", "plan"] + ["progress"] * 5 + ["turn:Coder", "progress", "final"]
    asked = [msgs(r) for r in director.requests[2:7]]
    assert all(a == [LEDGER1, PROGRESS] for a in asked)  # agentchat: the same request again, no feedback


async def test_with_retry_feedback_each_bad_reply_goes_back_with_its_problem(prompts):
    orchestrator, director, _, _ = team(prompts, [bad for bad, _ in BAD] + [L(sat=True)], retry_feedback=True)
    result = await agentzoo.run(orchestrator, "T")
    assert result.ok
    last = msgs(director.requests[6])  # the fifth attempt: every bad reply and its problem before it
    assert last[:2] == [LEDGER1, PROGRESS]
    assert [m["content"] for m in last[2::2]] == [bad for bad, _ in BAD]
    feedback = last[3::2]
    assert all(m["role"] == "user" and m["content"].startswith("RETRY: ") for m in feedback)
    assert all(problem in m["content"] for m, (_, problem) in zip(feedback, BAD))
    assert [len(msgs(r)) for r in director.requests[2:7]] == [2, 4, 6, 8, 10]  # each attempt extends the last


async def test_the_run_fails_when_no_valid_ledger_comes_within_the_retries(prompts):
    orchestrator, director, _, log = team(prompts, [L(to="Nobody")] * 3, max_json_retries=3)
    result = await agentzoo.run(orchestrator, "T")
    assert result.status == "failed" and result.error["type"] == "UnexpectedModelBehavior"
    assert "no valid progress ledger in 3 attempts" in result.error["message"] and "'Nobody'" in result.error["message"]
    assert log == ["facts", "plan", "progress", "progress", "progress"]


def test_ledger_parsing_rules():
    names = ["Coder", "Writer"]
    assert parse_progress_ledger(f"```json\n{L(to='Writer')}\n```", names).next_speaker == "Writer"
    satisfied = parse_progress_ledger(L(sat=True, to="Anyone"), names)  # the speaker does not matter when done
    assert satisfied.is_request_satisfied and satisfied.next_speaker == "Anyone"
    assert parse_progress_ledger(L(to="Nobody"), ["Coder"]).next_speaker == "Coder"  # one member: forced
    assert parse_progress_ledger(L(loop=True), names).stalled and not parse_progress_ledger(L(), names).stalled
    for bad, problem in BAD:
        with pytest.raises(InvalidLedger, match=problem.replace("(", r"\(")):
            parse_progress_ledger(bad, names)


# --- members, nesting, replay, configuration ---------------------------------------------------


async def test_a_member_that_gives_no_answer_replies_with_what_happened(prompts):
    orchestrator, _, members, _ = team(prompts, [L(), L(sat=True)])
    members["Coder"].fail = True
    result = await agentzoo.run(orchestrator, "T")
    assert result.ok
    assert {"role": "assistant", "name": "Coder",
            "content": "(Coder gave no answer: StepLimitExceeded: no answer in 3 steps)"} in result.messages


async def test_replay_makes_no_model_call_and_gives_the_same_answer(prompts, journal):
    orchestrator, _, _, _ = team(prompts, [STALL, STALL, STALL, L(to="Writer"), L(sat=True)])
    first = await agentzoo.run(orchestrator, "T", journal=journal)
    silent = [Participant(n, Member(n, []), f"{n.lower()}s") for n in ("Coder", "Writer")]
    for p in silent:
        p.agent.model = ScriptedModel([])
    again = Orchestrator(ScriptedModel([], name="director"), silent, orchestrator.prompts)
    replayed = await agentzoo.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.answer == first.answer and replayed.messages == first.messages
    assert replayed.live_effects == 0 and replayed.model_calls == first.model_calls == 13


async def test_it_runs_as_an_agent_in_a_plain_context(prompts):
    orchestrator, _, _, _ = team(prompts, [L(sat=True)], names=("Solo",))
    result = await orchestrator.run("T", Context(Gateway(run_id="direct")))
    assert (result.answer, result.stop_reason, result.replans, result.turns) == ("the answer", "satisfied: because", 0, 0)
    assert result.ledgers[0]["decision"] == "satisfied"


def test_bad_teams_are_config_errors(prompts):
    model = ScriptedModel([])
    with pytest.raises(ConfigError, match="at least one participant"):
        Orchestrator(model, [], prompts)
    with pytest.raises(ConfigError, match="used twice"):
        Orchestrator(model, [Participant("A", Member("A", [])), Participant("A", Member("A", []))], prompts)
    with pytest.raises(ConfigError, match="reserved"):
        Orchestrator(model, [Participant("orchestrator", Member("x", []))], prompts)
    with pytest.raises(ConfigError, match="must match"):
        Orchestrator(model, [Participant("web surfer", Member("x", []))], prompts)
