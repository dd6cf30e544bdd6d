"""Runs to look at, made through the real gateway with scripted models (no network, no sandbox):
a tool-calling run, a team with parallel branches, code run as a sandbox effect, a fork, an
eval folder, and text written to attack the page."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import agentzoo
from agentzoo import Journal, ModelRequest, ScriptedModel, ToolCallingAgent, tool
from agentzoo.types import AgentResult

HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'
           '<b>bold</b> [red]rich[/red] **markdown** {{ jinja }} ${template} </pre></textarea>')


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def echo(text: str) -> str:
    """Give the text back."""
    return text


def call(name, arguments, id="c1"):
    return {"tool_calls": [{"id": id, "name": name, "arguments": arguments}]}


async def tool_run(journal: Journal, answer: str = "5", task: str = "add 2 and 3") -> str:
    agent = ToolCallingAgent(ScriptedModel([call("add", '{"a": 2, "b": 3}'), answer]), [add], system="sys")
    result = await agentzoo.run(agent, task, journal=journal,
                                config={"version": 1, "agent": "tool-calling", "model": "scripted:add.json",
                                        "budgets": {"tokens": 10_000, "model_calls": 5}})
    return result.run_id


async def hostile_run(journal: Journal, big: int = 0) -> str:
    """A model and a tool that write markup, and (with `big`) a tool result of `big` characters."""
    payload = HOSTILE + ("x" * big)
    agent = ToolCallingAgent(ScriptedModel([call("echo", '{"text": "' + HOSTILE.replace('"', '\\"') + '"}'),
                                            {"content": HOSTILE}]), [echo], system=HOSTILE)
    agent_result = await agentzoo.run(agent, HOSTILE, journal=journal,
                                      config={"version": 1, "agent": HOSTILE, "model": "scripted:" + HOSTILE})
    if big:  # one more effect holding the big string, as a tool result
        journal.put(agentzoo.Entry(agent_result.run_id, "", 99, "tool", "echo", {"name": "echo", "arguments": {}},
                                   "h", {"content": payload, "is_error": False}, started_at=time.time(),
                                   ended_at=time.time()))
    return agent_result.run_id


class Team:
    """A lead that asks two coders at once, each in its own branch scope, then writes code that runs."""

    def __init__(self, model: ScriptedModel, pause: float = 0.0) -> None:
        self.model, self.pause = model, pause

    async def run(self, task: str, ctx) -> AgentResult:
        team = ctx.child("team")
        lead = team.child("lead")
        plan = await lead.model(self.model, ModelRequest(messages=[{"role": "user", "content": f"plan: {task}"}]))
        coders = [team.child("coder", i) for i in (1, 2)]
        drafts = await asyncio.gather(*(c.model(self.model, ModelRequest(
            messages=[{"role": "user", "content": f"coder {i}: {plan.text}"}])) for i, c in enumerate(coders, 1)))
        if self.pause:
            await asyncio.sleep(self.pause)

        async def perform():
            return {"ok": False, "stdout": "partial output\n", "stderr": "warning: <b>careful</b>\n",
                    "error": {"type": "ZeroDivisionError", "message": "division by zero",
                              "traceback": "Traceback (most recent call last):\n  File \"<action>\", line 2\nZeroDivisionError"},
                    "tier": "bwrap", "duration_s": 0.01, "limits": {}, "notes": []}

        await lead.effect("sandbox", "exec", {"code": "print('partial output')\n1 / 0"}, perform)
        answer = await lead.model(self.model, ModelRequest(messages=[
            {"role": "user", "content": "merge: " + " | ".join(d.text for d in drafts)}]))
        return AgentResult(answer.text, [])


def team_model() -> ScriptedModel:
    def reply(request: ModelRequest):
        text = request.messages[-1]["content"]
        if text.startswith("plan"):
            return "split it in two"
        if text.startswith("coder"):
            return f"draft from {text.split(':')[0]}"
        return "merged answer"
    return ScriptedModel(reply)


async def team_run(journal: Journal, pause: float = 0.0) -> str:
    result = await agentzoo.run(Team(team_model(), pause), "build it", journal=journal,
                                config={"version": 1, "agent": "team", "model": "scripted:team",
                                        "role_budgets": {"team/coder#1": {"tokens": 1000}}})
    return result.run_id


async def fork_pair(journal: Journal) -> tuple[str, str]:
    """A run and a fork of it whose second reply differs (so the third request diverges)."""
    parent = await agentzoo.run(ToolCallingAgent(ScriptedModel([call("add", '{"a": 1, "b": 2}'), call(
        "add", '{"a": 3, "b": 4}', "c2"), "7"]), [add], system="sys"), "sum", journal=journal,
        config={"version": 1, "agent": "tool-calling", "model": "scripted:a"})
    child = await agentzoo.fork(ToolCallingAgent(ScriptedModel([call("add", '{"a": 1, "b": 2}'), call(
        "add", '{"a": 30, "b": 40}', "c2"), "70"]), [add], system="sys changed"), parent.run_id, journal=journal,
        config={"version": 1, "agent": "tool-calling", "model": "scripted:b"})
    return parent.run_id, child.run_id


def eval_folder(folder: Path) -> Path:
    """A results folder as `agentzoo eval` leaves it: results.db with rows whose runs are in its
    journal.db, and the reports (summary.json, summary.md, the plot)."""
    from agentzoo.eval.report import write_reports
    from agentzoo.eval.store import ResultStore

    folder.mkdir(parents=True, exist_ok=True)
    store = ResultStore(folder / "results.db")
    with Journal(folder / "journal.db") as journal:
        for agent in ("tool-calling", "codeact"):
            for task in range(4):
                for seed in (0, 1):
                    success = (task + seed) % 2 == 0 if agent == "codeact" else task < 3
                    run_id = asyncio.run(tool_run(journal, answer=str(task), task=f"task {task}"))
                    store.put({"key": f"{agent}|gsm8k|t{task}|{seed}", "env": "gsm8k", "task": f"t{task}",
                               "agent": agent, "model": "scripted:x", "seed": seed, "run_id": run_id,
                               "reward": float(success), "success": success, "answer": str(task),
                               "status": "finished" if success else "failed", "input_tokens": 10,
                               "output_tokens": 5, "cost_usd": 0.001, "unpriced_calls": 0, "model_calls": 2,
                               "tool_calls": 1, "wall_seconds": 0.1, "model_latencies": [0.01],
                               "scopes": {"": {"model_calls": 2, "tool_calls": 1, "input_tokens": 10,
                                               "output_tokens": 5, "cost_usd": 0.001}}}, time.time())
        store.set_meta("eval", {"envs": ["gsm8k"], "agents": ["tool-calling", "codeact"], "models": ["scripted:x"],
                                "seeds": [0, 1]})
    store.close()
    write_reports(folder)
    return folder
