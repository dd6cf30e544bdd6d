"""DataEnvGym (Khan et al. 2024, #30): a teacher makes training data for a student, round by round, from a
report of what the student got wrong.

    skills   each evaluation task gets a skill (the task's own label, or the teacher names it)
    round-r  evaluate: the student (an agentzoo agent) attempts every task, each in its own child scope
                       `student#i`, scored by the environment;
             report:   accuracy overall and per skill, and the failed tasks (the Skill-List state and the
                       Open-Ended errors of the paper);
             plan:     the teacher reads the report and writes data specs (`specs_per_call` per call);
             generate: the data engine writes one example per spec (`engine#j`), at most
                       `data_per_round`, and never past `stop_at` in all: then the loop stops;
             update:   the student learns the round's data. Here in context (its system prompt shows the
                       latest examples); the paper fine-tunes the student, which needs a GPU: train on the
                       rows of each round outside agentzoo and serve the student for the next round.
    collect  one item per example made, with the round and the scope whose calls made it.

Roles (scope names, so a spec can give each its model): `teacher` (skill discovery and the data specs),
`engine` (the examples), `student` (the agent evaluated).

`round_reports(journal, run_id)` gives the report of every round (accuracy per skill, errors, data made).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from .... import replies
from ....agents.tool_calling import ToolCallingAgent
from ....envs.base import ScoringContext
from ....errors import AgentzooError, BudgetExceeded, ConfigError, FormatError
from ....prompts import render
from ....runtime.context import Context
from ....runtime.journal import Journal
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance, stage_records
from .._options import refuse_unknown

NAME = "dataenvgym"
PAPER = "Khan et al. 2024, DataEnvGym: data generation agents in teacher environments with student feedback (#30)"
SUMMARY = ("a teacher–student loop: the student is evaluated, a per-skill report of its errors goes to the "
           "teacher, which writes training data aimed at them; data and report per round")
ENVS = ("gsm8k",)

PROMPTS = Path(__file__).parent / "prompts"

OPTIONS: dict[str, object] = {
    "rounds": 10,
    "stop_at": 1000,
    "data_per_round": 120,
    "specs_per_call": 10,
    "skill_key": "skill",
    "student_update": "in-context",
    "demos": 4,
    "student_max_steps": 4,
    "max_tokens": 512,
    "temperature": None,
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "rounds": "DataEnvGym src/dataenvgym/gym/episode_runner.py run_episode(num_iterations=10)",
    "stop_at": "DataEnvGym episode_runner.py run_episode(stop_at_num_training_data=1000)",
    "data_per_round": "DataEnvGym open_ended DataGenerationAgent(num_training_data_per_invocation=120)",
    "specs_per_call": "DataEnvGym open_ended DataGenerationAgent(data_specs_per_llm_call=10)",
    "skill_key": "ours: the task data key holding a task's skill; tasks without it get one from the teacher "
                 "(the paper's skill discovery)",
    "student_update": "ours: `in-context` (the student sees the latest examples) or `none`; the paper trains "
                      "the student, which needs a GPU",
    "demos": "ours: how many of the latest examples the in-context student sees",
    "student_max_steps": "ours: the student agent's step limit per task",
    "max_tokens": "ours", "temperature": "ours: the model's default",
    "concurrency": "ours: student runs and engine calls at once",
}
DEVIATIONS: list[str] = [
    "The student is not fine-tuned (that needs a GPU): by default it learns each round's data in context "
    "(its system prompt shows the latest `demos` examples); the rows of each round are what a trainer would "
    "take. With student_update=none the student stays as it was, as with the paper's constant-answer stub.",
    "One environment type, Open-Ended errors plus the Skill-List per-skill accuracy, in one report; the "
    "Skill-Tree environment (adding subskills, allocating data over them) is not built.",
    "The student is evaluated on the environment's first `limit` tasks and the report never shows their gold "
    "answers (ours: the teacher's data should not copy test answers); the paper uses a validation split.",
    "The last round's request is cut to what remains of `stop_at` (ours), so the data never exceed it.",
    "No evaluation after the last round: the curve is the accuracy at the start of each round.",
]


def build(model, env, *, limit: int = 4, seed: int = 0, **options) -> Pipeline:
    refuse_unknown(NAME, OPTIONS, options)
    o = {**OPTIONS, **options}
    if env is None:
        raise ConfigError(f"dataenvgym needs an environment whose tasks the student is evaluated on: "
                          f"--env {' | '.join(ENVS)}")
    if o["student_update"] not in ("in-context", "none"):
        raise ConfigError(f"dataenvgym: student_update must be in-context or none, not {o['student_update']!r}")
    for key in ("rounds", "stop_at", "data_per_round", "specs_per_call"):
        if not isinstance(o[key], int) or o[key] < 1:  # type: ignore[operator]
            raise ConfigError(f"dataenvgym: {key} must be a whole number of at least 1, not {o[key]!r}")
    tasks = env.tasks()[:limit]
    if not tasks:
        raise ConfigError(f"dataenvgym: environment {env.name} has no tasks")
    gym = _Gym(model, env, {t.id: t for t in tasks}, o)
    stages = [Stage("skills", gym.skills)]
    rounds = int(o["rounds"])  # type: ignore[call-overload]
    stages += [Stage(f"round-{r}", gym.round_stage(r)) for r in range(1, rounds + 1)]
    stages.append(Stage("collect", gym.collect, batch=True))
    state = {"tasks": [t.id for t in tasks], "data": [], "reports": [], "stopped": False}
    meta = {"pipeline": NAME, "env": env.name, "limit": limit, "seed": seed, "options": o}
    return Pipeline(NAME, stages, seeds=[state], meta=meta)


class _Gym:
    def __init__(self, model, env, tasks: dict[str, Any], options: dict[str, Any]) -> None:
        self.model, self.env, self.tasks, self.o = model, env, tasks, options

    def request(self, messages: list[dict[str, Any]], *, json_reply: bool = False) -> ModelRequest:
        fields: dict[str, Any] = {"messages": messages, "max_tokens": self.o["max_tokens"]}
        if self.o["temperature"] is not None:
            fields["temperature"] = self.o["temperature"]
        if json_reply:
            fields["response_format"] = {"type": "json_object"}
        return ModelRequest(**fields)

    async def skills(self, state: Item, ctx: Context) -> list[Item]:
        """A skill per task: the task's own label, else one the teacher names (skill discovery)."""
        ids = state["tasks"]
        scopes = [ctx.child("teacher", i) for i in range(len(ids))]

        async def one(task_id: str, scope: Context) -> str:
            task = self.tasks[task_id]
            label = task.data.get(self.o["skill_key"]) if isinstance(task.data, dict) else None
            if isinstance(label, str) and label.strip():
                return label.strip().lower()
            reply = await scope.model(self.model, self.request(
                [{"role": "user", "content": render(PROMPTS / "skill.j2", task=task.prompt)}]))
            return _skill_name(reply.text)
        found = await _gather(self.o, [one(t, s) for t, s in zip(ids, scopes)])
        return [{**state, "skills": dict(zip(ids, found))}]

    def round_stage(self, r: int):
        async def fn(state: Item, ctx: Context) -> list[Item] | Drop:
            if state["stopped"]:  # the data budget is spent: nothing more is asked
                return [{**state, "note": {"round": r, "skipped": "data budget reached"}}]
            report = await self.evaluate(state, r, ctx)
            wanted = min(int(self.o["data_per_round"]), int(self.o["stop_at"]) - len(state["data"]))
            made = await self.generate(report, r, wanted, state, ctx)
            report["data_made"] = len(made)
            data = state["data"] + made
            stopped = len(data) >= int(self.o["stop_at"])
            note = {"round": r, "accuracy": report["accuracy"], "data_made": len(made), "data_total": len(data)}
            return [{**state, "data": data, "reports": state["reports"] + [report], "stopped": stopped,
                     "note": note}]
        return fn

    async def evaluate(self, state: Item, r: int, ctx: Context) -> dict[str, Any]:
        """The student attempts every task, each in `student#i`; the report of how it did, per skill."""
        ids = state["tasks"]
        scopes = [ctx.child("student", i) for i in range(len(ids))]
        demos = state["data"][-int(self.o["demos"]):] if self.o["student_update"] == "in-context" else []
        outcomes = await _gather(self.o, [self.attempt(self.tasks[t], demos, s) for t, s in zip(ids, scopes)])
        per_skill: dict[str, dict[str, Any]] = {}
        errors = []
        for task_id, (answer, success) in zip(ids, outcomes):
            skill = state["skills"][task_id]
            s = per_skill.setdefault(skill, {"correct": 0, "total": 0})
            s["total"] += 1
            s["correct"] += int(success)
            if not success:
                errors.append({"task_id": task_id, "skill": skill, "prompt": self.tasks[task_id].prompt,
                               "answer": answer})
        for s in per_skill.values():
            s["accuracy"] = s["correct"] / s["total"]
        correct = sum(int(ok) for _, ok in outcomes)
        return {"round": r, "accuracy": correct / len(ids), "correct": correct, "total": len(ids),
                "per_skill": dict(sorted(per_skill.items())), "errors": errors,
                "outcomes": {t: ok for t, (_, ok) in zip(ids, outcomes)}}

    async def attempt(self, task, demos: list[dict[str, Any]], ctx: Context) -> tuple[str | None, bool]:
        episode = self.env.episode(task)
        system = render(PROMPTS / "student_system.j2", system=episode.system or "", demos=demos) or None
        agent = ToolCallingAgent(self.model, episode.tools, system=system, name="student",
                                 max_steps=int(self.o["student_max_steps"]),
                                 sampling={"max_tokens": self.o["max_tokens"]})
        try:
            answer: str | None = (await agent.run(episode.prompt or task.prompt, ctx)).answer
        except BudgetExceeded:
            raise
        except AgentzooError:  # the student's failure (no answer in its steps, a format it kept breaking)
            answer = None

        async def score() -> dict[str, Any]:
            verdict = await self.env.score(episode, answer, ScoringContext())
            return {"reward": verdict.reward, "success": verdict.success}
        # Scored as an effect: a replay reads the verdict and runs no scorer (a code env's runs a sandbox).
        verdict = await ctx.effect("env", "score", {"env": self.env.name, "task": task.id, "answer": answer},
                                   score, local=True)
        return answer, bool(verdict["success"])

    async def generate(self, report: dict[str, Any], r: int, wanted: int, state: Item,
                       ctx: Context) -> list[dict[str, Any]]:
        """Plan specs from the report (teacher), then one example per spec (engine)."""
        if wanted <= 0:
            return []
        per_call = int(self.o["specs_per_call"])
        plan_scopes = [ctx.child("teacher", k) for k in range(math.ceil(wanted / per_call))]
        prompts = [render(PROMPTS / "plan.j2", round=r, rounds=self.o["rounds"], report=report,
                          n=min(per_call, wanted - k * per_call)) for k in range(len(plan_scopes))]
        plans = await _gather(self.o, [s.model(self.model, self.request([{"role": "user", "content": p}],
                                                                        json_reply=True))
                                       for s, p in zip(plan_scopes, prompts)])
        specs = []
        for k, reply in enumerate(plans):
            specs += _specs(reply.text, min(per_call, wanted - k * per_call))
        by_skill = {}
        for task_id, skill in state["skills"].items():
            by_skill.setdefault(skill, self.tasks[task_id].prompt)
        example = next(iter(by_skill.values()))
        engine_scopes = [ctx.child("engine", j) for j in range(len(specs))]
        made = await _gather(self.o, [s.model(self.model, self.request([{"role": "user", "content": render(
            PROMPTS / "engine.j2", spec=spec, example=by_skill.get(spec["skill"], example))}], json_reply=True))
            for s, spec in zip(engine_scopes, specs)])
        data = []
        for spec, scope, reply in zip(specs, engine_scopes, made):
            datum = _datum(reply.text)
            if datum is not None:
                data.append({**datum, "skill": spec["skill"], "focus": spec["focus"], "round": r,
                             "scope": scope.scope.path})
        return data

    async def collect(self, states: list[Item], ctx: Context) -> list[Item]:
        """One item per example, its provenance cut at the round that made it, ending at the engine's scope
        (a batch stage: it stamps nothing of its own, so the last scope is the one whose call made it)."""
        out = []
        for state in states:
            out += self._examples(state)
        return out

    def _examples(self, state: Item) -> list[Item]:
        out = []
        history = state["provenance"]
        for datum in state["data"]:
            upto = [p for p in history if p["stage"] in ("skills",) or
                    (p["stage"].startswith("round-") and int(p["stage"][6:]) <= datum["round"])]
            made_by = next(p for p in history if p["stage"] == f"round-{datum['round']}")
            out.append({**datum, "provenance": upto + [{**made_by, "scope": datum["scope"]}],
                        "report": next(x for x in state["reports"] if x["round"] == datum["round"])["per_skill"]})
        return out


def rows(items: list[Item], run_id: str) -> list[dict[str, Any]]:
    """One SFT row per example: the task as the user's message, the answer as the assistant's; its provenance
    adds the round that made it, the skill and the focus of its spec."""
    return [{"kind": "sft", "messages": [{"role": "user", "content": i["instruction"]},
                                         {"role": "assistant", "content": i["response"]}],
             "provenance": {**provenance(i, NAME, run_id), "round": i["round"], "skill": i["skill"],
                            "focus": i["focus"]}} for i in items]


def round_reports(journal: Journal, run_id: str) -> list[dict[str, Any]]:
    """The report of every round the run finished: accuracy overall and per skill, errors, data made."""
    records = [r for r in stage_records(journal, run_id) if r.stage.startswith("round-")]
    if not records or not records[-1].items:
        return []
    return list(records[-1].items[0]["reports"])


async def _gather(o: dict[str, Any], calls: list) -> list:
    gate = asyncio.Semaphore(int(o["concurrency"]))

    async def one(call):
        async with gate:
            return await call
    return await asyncio.gather(*(one(c) for c in calls))


def _skill_name(text: str | None) -> str:
    line = next((ln for ln in (text or "").splitlines() if ln.strip()), "")
    name = " ".join(line.strip().strip("\"'`*.").lower().split()[:5])
    return name or "unnamed skill"


def _specs(text: str | None, n: int) -> list[dict[str, str]]:
    try:
        specs = replies.json_object(text).get("specs")
    except FormatError:
        return []
    out = []
    for spec in specs if isinstance(specs, list) else []:
        if isinstance(spec, dict) and isinstance(spec.get("skill"), str) and isinstance(spec.get("focus"), str):
            out.append({"skill": spec["skill"].strip().lower(), "focus": spec["focus"].strip()})
    return out[:n]


def _datum(text: str | None) -> dict[str, str] | None:
    try:
        data = replies.json_object(text)
    except FormatError:
        return None
    instruction, response = data.get("instruction"), data.get("response")
    if not isinstance(instruction, str) or not isinstance(response, str) or not instruction.strip() \
            or not response.strip():
        return None
    return {"instruction": instruction.strip(), "response": response.strip()}
