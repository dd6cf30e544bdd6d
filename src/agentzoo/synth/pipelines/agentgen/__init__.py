"""AgentGen (Hu et al. 2024, #63): synthesise environments, tasks in them at graded difficulty, and solved
trajectories for instruction tuning.

    inspiration text ─specify→ environment spec ─implement→ Python code, checked in the sandbox (the library)
        ─tasks→ seed tasks (each checked: valid start, goal not met, a plan exists) ─bi-evol→ each seed task
        with one easier and one harder variant ─solve→ trajectories, kept when they reach the goal

Stages and their roles (each role's calls in a child scope of that name, so a spec can give each its model):
`specify` (designer), `implement` (designer: code, plus `repair_rounds` repairs that see the check's error),
`tasks` (task_writer), `bi-evol` (evolver), `solve` (solver). The environment's code runs only in the
sandbox (`world.py`): `actions(state)` and `step(state, action)` over a JSON state, a goal being the state
values that must hold, as PDDL's goal facts. A breadth-first search in the sandbox gives each task its
shortest plan: its length is the difficulty Bi-Evol's variants are checked against.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .... import replies
from ....errors import ConfigError, FormatError
from ....prompts import render
from ....runtime.context import Context
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .world import SandboxSettings, World
from .._options import refuse_unknown

NAME = "agentgen"
PAPER = "Hu et al. 2024, AgentGen: environment and task generation for planning agents (#63)"
SUMMARY = ("environments written by a model and checked by running them in the sandbox, seed tasks with "
           "Bi-Evol easier and harder variants, and the trajectories that solve them (SFT)")
ENVS: tuple[str, ...] = ()  # it makes its own environments; `env` is not used

HERE = Path(__file__).parent
PROMPTS = HERE / "prompts"
INSPIRATION = HERE / "inspiration.jsonl"
DIRECTIONS = ("easier", "harder")  # Bi-Evol: each seed task evolves both ways (PAPERS.md #63)

OPTIONS: dict[str, object] = {
    "tasks_per_env": 2,
    "bi_evol": True,
    "order_check": True,
    "repair_rounds": 1,
    "check_actions": 8,
    "max_states": 2000,
    "max_steps": 12,
    "max_tokens": 1024,
    "temperature": None,
    "sandbox_tier": "auto",
    "allow_unsafe": False,
    "sandbox_seconds": 10.0,
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "tasks_per_env": "ours: a small default (the paper builds hundreds of environments with many tasks each)",
    "bi_evol": "paper (PAPERS.md #63): Bi-Evol evolves each seed task towards an easier and a harder version",
    "order_check": "ours: a variant is kept only if its shortest plan is shorter (easier) or longer (harder) "
                   "than its seed's",
    "repair_rounds": "ours: the code is shown its check's error this many times before the environment is dropped",
    "check_actions": "ours: how many of the example state's actions the parse-and-execute check performs",
    "max_states": "ours: the breadth-first plan search's bound (states seen)",
    "max_steps": "ours: the solver's step limit per task",
    "max_tokens": "ours", "temperature": "ours: the model's default",
    "sandbox_tier": "agentzoo.sandbox: the strongest isolation this machine has",
    "allow_unsafe": "agentzoo.sandbox: refuse to run generated code without isolation",
    "sandbox_seconds": "ours: wall-clock limit of one sandboxed operation",
    "concurrency": "ours: items per stage at once",
}
DEVIATIONS: list[str] = [
    "Environments are Python (two functions over a JSON state), not PDDL: the sandbox runs Python, and a "
    "breadth-first search there stands in for a PDDL planner as the verifier of each task.",
    "The inspiration corpus is eight short paragraphs of our own (inspiration.jsonl), not the paper's corpus.",
    "Bi-Evol's variants are checked by plan length (order_check); the paper evolves tasks without this check.",
    "Trajectories come from the model given (the paper uses a strong LLM); only those reaching the goal are kept.",
    "Training on the rows (the paper's instruction tuning of Llama-3) needs GPUs and stays outside.",
]


def inspiration(limit: int, seed: int) -> list[Item]:
    """`limit` inspiration texts from the shipped corpus, rotated by `seed` (deterministic)."""
    texts = [json.loads(line) for line in INSPIRATION.read_text().splitlines() if line.strip()]
    start = seed % len(texts)
    ordered = texts[start:] + texts[:start]
    chosen = (ordered * (limit // len(texts) + 1))[:limit]
    return [{"inspiration_id": t["id"], "inspiration": t["text"]} for t in chosen]


def build(model, env=None, *, limit: int = 4, seed: int = 0, **options) -> Pipeline:
    refuse_unknown(NAME, OPTIONS, options)
    o = {**OPTIONS, **options}
    if limit < 1:
        raise ConfigError(f"agentgen: limit must be at least 1, not {limit}")
    settings = SandboxSettings(str(o["sandbox_tier"]), bool(o["allow_unsafe"]), float(o["sandbox_seconds"]))
    g = _Gen(model, o, settings)
    c = int(o["concurrency"])  # type: ignore[call-overload]
    stages = [Stage("specify", g.specify, concurrency=c), Stage("implement", g.implement, concurrency=c),
              Stage("tasks", g.tasks, concurrency=c)]
    if o["bi_evol"]:
        stages.append(Stage("bi-evol", g.evolve, concurrency=c))
    stages.append(Stage("solve", g.solve, concurrency=c))
    meta = {"pipeline": NAME, "limit": limit, "seed": seed, "options": o}
    return Pipeline(NAME, stages, seeds=inspiration(limit, seed), meta=meta)


class _Gen:
    def __init__(self, model, options: dict[str, Any], settings: SandboxSettings) -> None:
        self.model, self.o, self.settings = model, options, settings

    async def ask(self, ctx: Context, messages: list[dict[str, Any]], *, json_reply: bool = False) -> str:
        request: dict[str, Any] = {"messages": list(messages), "max_tokens": self.o["max_tokens"]}
        if self.o["temperature"] is not None:
            request["temperature"] = self.o["temperature"]
        if json_reply:
            request["response_format"] = {"type": "json_object"}
        return (await ctx.model(self.model, ModelRequest(**request))).text or ""

    async def specify(self, item: Item, ctx: Context) -> list[Item] | Drop:
        text = await self.ask(ctx.child("designer"), [
            {"role": "user", "content": render(PROMPTS / "specify.j2", inspiration=item["inspiration"])}],
            json_reply=True)
        try:
            spec = _spec(text)
        except FormatError:
            return Drop("spec unreadable")
        return [{"inspiration_id": item["inspiration_id"], "spec": spec}]

    async def implement(self, item: Item, ctx: Context) -> list[Item] | Drop:
        """Write the code, and check it by running it (parse and execute) in the sandbox; repair on failure."""
        spec, designer, world = item["spec"], ctx.child("designer"), World(self.settings)
        messages = [{"role": "user", "content": render(PROMPTS / "implement.j2", spec=spec,
                                                       example_state=_dump(spec["example_state"]))}]
        errors: list[str] = []
        try:
            for attempt in range(int(self.o["repair_rounds"]) + 1):
                reply = await self.ask(designer, messages)
                code = replies.find_code(reply)
                if code is None:
                    error = "the reply has no ```python block"
                else:
                    report = await world.run(ctx, {"op": "check", "code": code, "state": spec["example_state"],
                                                   "max_actions": self.o["check_actions"]})
                    if report["ok"]:
                        env = {"name": spec["name"], "description": spec["description"], "code": code,
                               "example_state": spec["example_state"], "actions": report["actions"]}
                        return [{"inspiration_id": item["inspiration_id"], "env": env,
                                 "note": {"check": "passed", "repairs": attempt, "errors": errors}}]
                    error = report["error"]
                errors.append(error)
                messages += [{"role": "assistant", "content": reply},
                             {"role": "user", "content": render(PROMPTS / "repair.j2", error=error)}]
        finally:
            await world.close()
        return Drop("environment failed its check")

    async def tasks(self, item: Item, ctx: Context) -> list[Item] | Drop:
        env, n = item["env"], int(self.o["tasks_per_env"])
        text = await self.ask(ctx.child("task_writer"), [{"role": "user", "content": render(
            PROMPTS / "tasks.j2", env=env, example_state=_dump(env["example_state"]), n=n)}], json_reply=True)
        try:
            proposed = _task_list(text)[:n]
        except FormatError:
            return Drop("tasks unreadable")
        world, out, rejected = World(self.settings), [], []
        try:
            for j, task in enumerate(proposed):
                checked = await self.check_task(world, ctx, env, task)
                if isinstance(checked, str):
                    rejected.append({"task": j, "why": checked})
                    continue
                out.append({"env": env, "task": checked, "task_id": f"{env['name']}/{j}", "difficulty": "seed"})
        finally:
            await world.close()
        for task in out:  # each kept task notes why its siblings were not kept
            task["note"] = {"plan_length": task["task"]["plan_length"], "rejected": rejected}
        return out or Drop("no task passed its check")

    async def check_task(self, world: World, ctx: Context, env: dict[str, Any], task: Any) -> dict[str, Any] | str:
        """The task with its shortest plan, or why it is not a task (a string)."""
        if not isinstance(task, dict) or not isinstance(task.get("instruction"), str):
            return "a task needs an instruction"
        report = await world.run(ctx, {"op": "task", "code": env["code"], "init": task.get("init"),
                                       "goal": task.get("goal"), "max_states": self.o["max_states"]})
        if not report["ok"]:
            return report["error"]
        return {"instruction": task["instruction"], "init": task["init"], "goal": task["goal"],
                "plan": report["plan"], "plan_length": len(report["plan"])}

    async def evolve(self, item: Item, ctx: Context) -> list[Item] | Drop:
        """Bi-Evol: the seed task, and one easier and one harder variant of it (each checked)."""
        env, seed_task = item["env"], item["task"]
        evolver, world = ctx.child("evolver"), World(self.settings)
        rejected: list[dict[str, str]] = []
        out: list[Item] = [{**item, "note": {"variant": "seed", "plan_length": seed_task["plan_length"],
                                             "rejected": rejected}}]
        try:
            for direction in DIRECTIONS:
                text = await self.ask(evolver, [{"role": "user", "content": render(
                    PROMPTS / "evolve.j2", env=env, task=seed_task, init=_dump(seed_task["init"]),
                    goal=_dump(seed_task["goal"]), steps=seed_task["plan_length"], direction=direction)}],
                    json_reply=True)
                try:
                    checked = await self.check_task(world, ctx, env, replies.json_object(text))
                except FormatError as exc:
                    checked = f"unreadable: {_first_words(exc)}"
                if isinstance(checked, str):
                    rejected.append({"variant": direction, "why": checked})
                    continue
                if self.o["order_check"] and not _in_order(direction, checked["plan_length"], seed_task["plan_length"]):
                    rejected.append({"variant": direction, "why": f"not {direction}: {checked['plan_length']} "
                                                                  f"actions, the seed {seed_task['plan_length']}"})
                    continue
                out.append({"env": env, "task": checked, "task_id": f"{item['task_id']}/{direction}",
                            "difficulty": direction, "parent": item["task_id"],
                            "note": {"variant": direction, "plan_length": checked["plan_length"],
                                     "seed_plan_length": seed_task["plan_length"]}})
        finally:
            await world.close()
        return out

    async def solve(self, item: Item, ctx: Context) -> list[Item] | Drop:
        """The solver acts in the environment (each step in the sandbox) until the goal holds or steps run out."""
        env, task = item["env"], item["task"]
        solver, world = ctx.child("solver"), World(self.settings)
        state = task["init"]
        try:
            first = await world.run(ctx, {"op": "step", "code": env["code"], "state": state, "action": "",
                                          "goal": task["goal"]})
            if not first["ok"]:
                return Drop("environment failed")
            actions = first["actions"]
            messages = [{"role": "system", "content": render(PROMPTS / "solve_system.j2",
                                                             description=env["description"])},
                        {"role": "user", "content": render(PROMPTS / "solve_task.j2", instruction=task["instruction"],
                                                           state=_dump(state), actions=actions)}]
            for steps in range(1, int(self.o["max_steps"]) + 1):
                reply = await self.ask(solver, messages)
                messages.append({"role": "assistant", "content": reply})
                action = _action(reply)
                if action is None:
                    messages.append({"role": "user", "content": render(PROMPTS / "no_action.j2")})
                    continue
                report = await world.run(ctx, {"op": "step", "code": env["code"], "state": state, "action": action,
                                               "goal": task["goal"]})
                if not report["ok"]:
                    return Drop("environment failed")
                if report["valid"]:
                    state, actions = report["state"], report["actions"]
                    if report["done"]:
                        return [{**item, "messages": messages, "steps": steps,
                                 "note": {"solved": True, "steps": steps, "plan_length": task["plan_length"]}}]
                messages.append({"role": "user", "content": render(
                    PROMPTS / "observation.j2", valid=report["valid"], action=action,
                    observation=report["observation"], state=_dump(state), actions=actions)})
        finally:
            await world.close()
        return Drop("not solved")


def rows(items: list[Item], run_id: str) -> list[dict[str, Any]]:
    """One SFT row per solved trajectory; its provenance adds the environment, the task, its difficulty (seed,
    easier, harder), its parent task, its shortest plan's length and the steps taken."""
    out = []
    for item in items:
        if "messages" not in item:
            continue
        out.append({"kind": "sft", "messages": item["messages"], "provenance": {
            **provenance(item, NAME, run_id), "env_name": item["env"]["name"], "task_id": item["task_id"],
            "difficulty": item["difficulty"], "parent": item.get("parent"),
            "plan_length": item["task"]["plan_length"], "steps": item["steps"]}})
    return out


def _spec(text: str) -> dict[str, Any]:
    data = replies.json_object(text)
    for key in ("name", "description", "rules"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise FormatError(f"the spec needs a text `{key}`")
    acts = data.get("actions")
    if not isinstance(acts, list) or not acts or not all(isinstance(a, str) for a in acts):
        raise FormatError("the spec needs `actions`, a list of texts")
    if not isinstance(data.get("example_state"), dict) or not data["example_state"]:
        raise FormatError("the spec needs `example_state`, a JSON object")
    name = "".join(ch if ch.isalnum() else "_" for ch in data["name"].strip().lower())[:40] or "env"
    return {"name": name, "description": data["description"].strip(), "actions": acts, "rules": data["rules"],
            "example_state": data["example_state"]}


def _task_list(text: str) -> list[Any]:
    data = replies.json_object(text)
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise FormatError("the reply needs `tasks`, a non-empty list")
    return tasks


def _action(reply: str) -> str | None:
    """The action of the reply's last `Action:` line, or None."""
    for line in reversed(reply.splitlines()):
        stripped = line.strip().strip("`*").strip()
        if stripped.lower().startswith("action:"):
            action = stripped[len("action:"):].strip().strip("`\"'").strip()
            return action or None
    return None


def _in_order(direction: str, length: int, seed_length: int) -> bool:
    return length < seed_length if direction == "easier" else length > seed_length


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _first_words(exc: Exception) -> str:
    return str(exc).split("\n")[0][:80]
