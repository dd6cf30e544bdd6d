"""The pipeline of roles over a publish/subscribe message pool, driven by scripted models.

The protocol: a role acts only on the message types it watches (or on messages addressed to
it), a document that does not validate is sent back to the model with the validation error and
the corrected one goes on, the run ends when no role has news (or at the round limit); roles
act in their own scopes, concurrently within a round, and replay and resume deterministically.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pydantic import BaseModel

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool
from agentzoo.teams.pipeline import (ALL, NOBODY, AgentRole, DocumentInvalid, DocumentRole, Message, Pipeline,
                                     Turn, describe_schema, parse_json, write_document)

HELPER = Path(__file__).parent.parent / "recipes" / "crash_metagpt.py"


class Draft(BaseModel):
    title: str
    points: list[str]


def system_of(request) -> str:
    return request.messages[0]["content"]


def prompt(name):
    """A role's prompt: its name as the system prompt, the news it got as the user message."""
    return lambda turn: [{"role": "system", "content": name},
                         {"role": "user", "content": "\n".join(f"{m.cause_by}: {m.content}" for m in turn.news)}]


def role(name, model, watch, action, **kw):
    return DocumentRole(name, model, watch=watch, action=action, schema=Draft, prompt=prompt(name), **kw)


def doc(title, *points):
    return json.dumps({"title": title, "points": list(points)})


def trace(result):
    """The whole history: who published what, caused by what, to whom."""
    return [(m.sent_from, m.cause_by, m.send_to) for m in result.history]


class Keep:
    """Runs a team and keeps its whole outcome (the history with `cause_by` and `send_to`)."""

    def __init__(self, team):
        self.team, self.name = team, team.name

    async def run(self, task, ctx):
        self.outcome = await self.team.run(task, ctx)
        return self.outcome


def scopes(journal, run_id, kind="model"):
    return [e.scope for e in journal.entries(run_id) if e.kind == kind]


# --- the protocol ---------------------------------------------------------------------------


async def test_each_role_acts_only_on_the_types_it_watches(journal):
    model = ScriptedModel(lambda request: doc(system_of(request), "ok"))
    team = Pipeline([
        role("critic", model, ["Draft"], "Critique"),      # listed first, acts only after the writer
        role("writer", model, ["UserRequirement"], "Draft"),
        role("editor", model, ["Draft", "Critique"], "Edit"),
        role("bystander", model, ["Funding"], "Spend"),    # nobody ever publishes a Funding message
    ])
    kept = Keep(team)
    result = await agentzoo.run(kept, "Write about owls.", journal=journal)
    outcome = kept.outcome
    assert trace(outcome) == [
        ("user", "UserRequirement", (ALL,)),
        ("writer", "Draft", (ALL,)),      # round 1: only the writer watches UserRequirement
        ("critic", "Critique", (ALL,)),   # round 2: critic and editor both watch Draft, in roster order
        ("editor", "Edit", (ALL,)),
        ("editor", "Edit", (ALL,)),       # round 3: the editor also watches Critique; nobody watches Edit
    ]
    assert (outcome.rounds, outcome.idle) == (3, True)
    # Each role in its own scope; the bystander never acted.
    assert scopes(journal, result.run_id) == ["writer", "critic", "editor", "editor"]
    assert result.messages[0] == {"role": "user", "name": "user", "content": "Write about owls."}
    assert result.answer == doc("editor", "ok")  # by default the last message published


async def test_the_news_a_role_gets_is_what_it_watches_or_what_is_addressed_to_it():
    seen: dict[str, list[list[str]]] = {}

    class Probe:
        def __init__(self, name, watch, says=()):
            self.name, self.watch, self.says = name, frozenset(watch), list(says)

        async def act(self, turn: Turn, ctx):
            seen.setdefault(self.name, []).append([f"{m.sent_from}:{m.cause_by}" for m in turn.news])
            return self.says.pop(0) if self.says else None

    team = Pipeline([
        Probe("boss", ["UserRequirement"], [[Message("go", "Order", send_to=("worker",)),  # addressed: delivered
                                             Message("fyi", "Memo"),                      # to ALL: watched by none
                                             Message("log", "Order", send_to=NOBODY)]]),  # to nobody: only recorded
        Probe("worker", ["Memo2"], [Message("done", "Report", send_to=("worker",))]),      # to itself
        Probe("clerk", ["Order"]),  # watches Order, but the Order messages were not sent to ALL
    ])
    result = await agentzoo.run(team, "start")
    assert result.ok
    assert seen == {"boss": [["user:UserRequirement"]], "worker": [["boss:Order"], ["worker:Report"]]}
    assert [m["content"] for m in result.messages] == ["start", "go", "fyi", "log", "done"]


async def test_an_invalid_document_is_sent_back_with_the_error_and_the_corrected_one_goes_on(journal):
    replies = {"writer": ['{"title": "Owls", "points": "they hoot"}',          # points: not a list
                          "Here it is: [CONTENT]{\"title\": \"Owls\"}[/CONTENT]",  # points missing
                          doc("Owls", "they hoot")],
               "critic": [doc("Fine", "short")]}
    model = ScriptedModel(lambda request: replies[system_of(request)].pop(0))
    team = Pipeline([role("writer", model, ["UserRequirement"], "Draft"), role("critic", model, ["Draft"], "Critique")],
                    schemas={"Draft": Draft, "Critique": Draft})
    result = await agentzoo.run(team, "Owls, please.", journal=journal)
    assert result.ok
    first, second, third, critic = (r.messages for r in model.requests)
    assert second[:3] == first + [{"role": "assistant", "content": '{"title": "Owls", "points": "they hoot"}'}]
    assert second[3]["role"] == "user" and "points: Input should be a valid list" in second[3]["content"]
    assert third[:4] == second and third[4]["content"].startswith("Here it is")
    assert "points: Field required" in third[5]["content"]
    # Only the accepted document was published; the critic read it, and nothing of the rejected ones.
    assert [m["content"] for m in result.messages[1:]] == [doc("Owls", "they hoot"), doc("Fine", "short")]
    assert critic[1]["content"] == f"Draft: {doc('Owls', 'they hoot')}"
    assert scopes(journal, result.run_id) == ["writer", "writer", "writer", "critic"]


async def test_a_document_that_never_validates_fails_the_run_after_max_attempts():
    model = ScriptedModel(["not json", '{"title": 3}', "[]"])
    team = Pipeline([role("writer", model, ["UserRequirement"], "Draft", max_attempts=3)])
    result = await agentzoo.run(team, "Owls.")
    assert result.status == "failed" and result.error["type"] == "DocumentInvalid"
    assert "after 3 attempts" in result.error["message"] and model.calls == 3
    assert issubclass(DocumentInvalid, agentzoo.errors.UnexpectedModelBehavior)  # the model's fault, not the caller's
    feedback = [r.messages[-1]["content"] for r in model.requests[1:]]
    assert "the reply holds no JSON object" in feedback[0]
    assert "title: Input should be a valid string" in feedback[1] and "points: Field required" in feedback[1]


async def test_a_role_cannot_hand_an_invalid_document_to_the_next_stage():
    class Sloppy:
        name, watch = "sloppy", frozenset({"UserRequirement"})

        async def act(self, turn, ctx):
            return Message("here", "Draft", document={"title": "no points"})

    team = Pipeline([Sloppy(), role("critic", ScriptedModel([]), ["Draft"], "Critique")], schemas={"Draft": Draft})
    result = await agentzoo.run(team, "Owls.")
    assert result.error["type"] == "DocumentInvalid"
    assert ("sloppy published a Draft document that is not a valid Draft: points: Field required"
            in result.error["message"])


async def test_the_run_ends_when_idle_or_at_the_round_limit():
    model = ScriptedModel(lambda request: doc(system_of(request), "ok"))
    chain = Pipeline([role("a", model, ["UserRequirement"], "A"), role("b", model, ["A"], "B")], n_round=10)
    done = await chain.run("go", _ctx())
    assert (done.rounds, done.idle, len(done.history)) == (2, True, 3)

    ping_pong = Pipeline([role("ping", model, ["UserRequirement", "Pong"], "Ping"),
                          role("pong", model, ["Ping"], "Pong")], n_round=5)
    capped = await ping_pong.run("go", _ctx())
    assert (capped.rounds, capped.idle, capped.steps) == (5, False, 5)
    assert [m.sent_from for m in capped.history] == ["user", "ping", "pong", "ping", "pong", "ping"]


def test_bad_rosters_are_config_errors():
    model = ScriptedModel([])
    with pytest.raises(agentzoo.errors.ConfigError, match="unique"):
        Pipeline([role("a", model, ["X"], "Y"), role("a", model, ["X"], "Y")])
    with pytest.raises(agentzoo.errors.ConfigError, match="reserved"):
        Pipeline([role("user", model, ["X"], "Y")])
    with pytest.raises(agentzoo.errors.ConfigError, match="at least one"):
        Pipeline([])


# --- concurrency, scopes, replay, resume ------------------------------------------------------


async def test_roles_of_one_round_run_concurrently_in_their_own_scopes_and_replay(journal):
    events: list[str] = []

    async def play(request):
        name = system_of(request)
        events.append(f"start {name}")
        await asyncio.sleep(0.01 if name == "slow" else 0)
        events.append(f"end {name}")
        return doc(name, "ok")

    def team(model):
        return Pipeline([role("lead", model, ["UserRequirement"], "Plan"), role("slow", model, ["Plan"], "Part"),
                         role("fast", model, ["Plan"], "Part"), role("merge", model, ["Part"], "Whole")])

    result = await agentzoo.run(team(ScriptedModel(play)), "Build it.", journal=journal)
    assert events == ["start lead", "end lead", "start slow", "start fast", "end fast", "end slow",
                      "start merge", "end merge"]
    # The fast role finished first, yet the history is in roster order: it does not depend on timing.
    assert [m["name"] for m in result.messages] == ["user", "lead", "slow", "fast", "merge"]
    assert journal.usage_by_scope(result.run_id).keys() == {"lead", "slow", "fast", "merge"}

    silent = ScriptedModel([])
    again = await agentzoo.replay(team(silent), result.run_id, journal=journal)
    assert (again.answer, again.messages, silent.calls, again.live_effects) == (result.answer, result.messages, 0, 0)


def test_resuming_a_run_killed_in_the_middle_of_a_parallel_round_repeats_no_completed_call(tmp_path):
    """Three solvers act concurrently in round 2, two calls each; SIGKILL after the 4th journaled call."""
    (tmp_path / "task.txt").write_text("Plan and solve.")
    src = str(Path(__file__).parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))

    def helper(*args):
        return subprocess.run([sys.executable, HELPER, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=60)

    ref = helper("run", "fanout", tmp_path / "ref.db", tmp_path / "task.txt")
    assert ref.returncode == 0, ref.stderr
    reference = json.loads(ref.stdout)
    assert reference["model_calls"] == 1 + 3 * 2 + 1

    killed = helper("run", "fanout", tmp_path / "j.db", tmp_path / "task.txt", 4)
    assert killed.returncode == -signal.SIGKILL
    with Journal(tmp_path / "j.db") as j:
        run = j.get_run("latest")
        before = Counter(scopes(j, run.run_id))
    assert before == {"planner": 1, "solver_1": 1, "solver_2": 1, "solver_3": 1}  # each solver half way

    resumed = helper("resume", "fanout", tmp_path / "j.db")
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["model_calls"] == reference["model_calls"] - 4  # nothing journaled was asked again
    assert (out["status"], out["answer"]) == ("finished", reference["answer"])
    with Journal(tmp_path / "j.db") as j:
        entries = list(j.entries(run.run_id))
        assert len({e.key for e in entries}) == len(entries) and j.integrity_check() == "ok"
        assert Counter(scopes(j, run.run_id)) == {"planner": 1, "solver_1": 2, "solver_2": 2, "solver_3": 2, "judge": 1}


# --- building blocks -----------------------------------------------------------------------------


async def test_any_agent_can_be_a_role_and_pipelines_nest(journal):
    @tool
    def count_letters(word: str) -> int:
        """Count the letters of a word."""
        return len(word)

    def play(request):
        if request.tools and request.messages[-1]["role"] == "user":
            return {"tool_calls": [{"name": "count_letters", "arguments": {"word": "owl"}}]}
        if request.tools:
            return "owl has 3 letters"
        return doc(system_of(request), "ok")

    model = ScriptedModel(play)
    inner = Pipeline([role("drafter", model, ["UserRequirement"], "Draft"),
                      role("polisher", model, ["Draft"], "Polish")])
    outer = Pipeline([
        AgentRole("counter", ToolCallingAgent(model, [count_letters]), watch=["UserRequirement"], action="Count"),
        AgentRole("writers", inner, watch=["Count"], action="Text"),
    ])
    result = await agentzoo.run(outer, "How long is 'owl'?", journal=journal)
    assert [(m["name"], m["content"]) for m in result.messages] == [
        ("user", "How long is 'owl'?"), ("counter", "owl has 3 letters"), ("writers", doc("polisher", "ok"))]
    assert scopes(journal, result.run_id) == ["counter", "counter", "writers/drafter", "writers/polisher"]
    assert scopes(journal, result.run_id, "tool") == ["counter"]


async def test_write_document_alone_and_the_schema_description():
    model = ScriptedModel(["```json\n" + doc("Owls", "hoot") + "\n```"])
    written = await write_document(_ctx(), model, [{"role": "user", "content": "Draft."}], Draft)
    assert (written.document, written.attempts) == (Draft(title="Owls", points=["hoot"]), 1)
    assert parse_json("[CONTENT]\n```json\n{\"a\": 1}\n```\n[/CONTENT]") == {"a": 1}
    assert describe_schema(Draft) == '- "title" (string)\n- "points" (list of strings)'


def _ctx():
    return agentzoo.Context(agentzoo.Gateway(run_id="test"))
