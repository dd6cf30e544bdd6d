"""PAE: a proposer writes practice tasks, the agent attempts them, an evaluator gives each attempt a 0/1 reward,
and the successful trajectories are the training data (filtered behaviour cloning).

Zhou et al. 2024, "Proposer-Agent-Evaluator: Autonomous Skill Discovery for Foundation Model Internet Agents"
(arXiv:2412.13194); facts from amazon-science/PAE (README, `pae/algorithms/filteredbc`, the config files) as
../shared/recipes/PAPERS.md (#22) records them. Stages, one journaled run:

1. `propose`: per site (webworld) or app (screens), the proposer (scope `proposer`) is told its name, where the
   agent starts and the actions, and writes `tasks_per_context` tasks (JSON).
2. `attempt`: the agent (scope `agent`) plays each task with the text loop from the environment's start
   state; every step is a journaled `env` effect (`_open_tasks.attempt`).
3. `evaluate`: the evaluator (scope `evaluator`) reads the task, the actions, the last observations and the
   answer, and says success or not: the outcome reward, 1 or 0, noted in the item's provenance.
4. `filter`: only reward 1 passes (PAE's `filteredbc`: the update keeps the successful trajectories).

`rows`: each kept trajectory as an SFT row (the agent's conversation, ending on its last action), with the
reward and the evaluator's reasons in its provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ....envs.step import EpisodeRules
from ....envs.stepping import action_space_of
from ....errors import ConfigError, FormatError
from ....prompts import render
from ....replies import object_schema
from ....protocols import Model
from ....runtime.context import Context
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .._asking import SENTENCE, STRING, ask_json, text_field
from .._options import number, refuse_unknown, whole
from .._open_tasks import OpenTasks, attempt, contexts

NAME = "pae"
PAPER = "Zhou et al. 2024, Proposer-Agent-Evaluator (#22)"
SUMMARY = "proposed tasks attempted in the environment; the evaluator's successes (reward 1) as SFT trajectories"
ENVS = ("screens", "webworld")
PROMPTS = Path(__file__).parent / "prompts"

OPTIONS: dict[str, object] = {
    "tasks_per_context": 2,
    "max_steps": 10,
    "last_observations": 3,
    "agent_temperature": None,
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "tasks_per_context": "ours: PAE's proposer writes a list of tasks per website (README); a small number per "
                         "site or app per seed keeps a local run short",
    "max_steps": "ours: the agent's step limit per task (PAE's horizon is set per benchmark in its configs; the "
                 "environment's own rules, WebArena's 30, still apply when lower)",
    "last_observations": "ours: PAE's evaluator judges from the final screenshots and the answer "
                         "(pae/models/claude_agent.py); here the last k observations as text",
    "agent_temperature": "ours: None leaves the model's default (PAE samples its LLaVA policy)",
    "concurrency": "ours: attempts and evaluations run at once",
}
DEVIATIONS: list[str] = [
    "text observations (screens, or webworld's accessibility tree) instead of set-of-marks screenshots; the "
    "evaluator reads the last observations as text",
    "one round of data collection: the update itself (filtered BC, or RL) is training and stays outside",
    "the proposer is told the site or app by name, where the agent starts and the actions (PAE's proposer reads "
    "the website name, or demos); it is the same model as the agent unless a spec gives roles their own models",
    "an evaluator reply that cannot be read after one retry is reward 0 (nothing unjudged reaches the buffer)",
]


def build(model: Model, env: Any, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    """The PAE pipeline on `env` (a screens or webworld instance): `limit` proposer calls, one per site or app
    in turn, each writing `tasks_per_context` tasks."""
    refuse_unknown(NAME, OPTIONS, options)
    settings = {**OPTIONS, **options}
    if env is None:
        raise ConfigError("pae: give an environment (screens or webworld): its tasks are played in it")
    if limit < 1:
        raise ConfigError(f"pae: limit (proposer calls) must be at least 1, got {limit}")
    count, max_steps, last = (whole(NAME, "tasks_per_context", settings["tasks_per_context"]),
                              whole(NAME, "max_steps", settings["max_steps"]),
                              whole(NAME, "last_observations", settings["last_observations"]))
    if count < 1 or max_steps < 1 or last < 1:
        raise ConfigError("pae: tasks_per_context, max_steps and last_observations must each be at least 1")
    rules = env.rules
    world = OpenTasks(env, EpisodeRules(min(max_steps, rules.max_steps), rules.max_parse_failures,
                                        rules.max_repeated_actions))
    places = contexts(env)
    rotation = [places[(seed + i) % len(places)] for i in range(limit)]
    seeds = [{**place, "batch": i + 1} for i, place in enumerate(rotation)]
    actions = action_space_of(world, world.task("", places[0]["start"])).description.strip()
    temperature = settings["agent_temperature"]
    sampling = {"temperature": number(NAME, "agent_temperature", temperature)} if temperature is not None else {}
    concurrency = whole(NAME, "concurrency", settings["concurrency"])

    async def propose(item: Item, ctx: Context) -> list[Item] | Drop:
        kind = "a phone and its apps" if item["env"] == "screens" else "web sites"
        messages = [{"role": "system", "content": render(PROMPTS / "proposer_system.j2", env_kind=kind)},
                    {"role": "user", "content": render(PROMPTS / "proposer.j2", count=count, site=item["site"],
                                                       start=item["start"], actions=actions, batch=item["batch"],
                                                       start_observation=item["start_observation"])}]
        schema = object_schema(tasks={"type": "array", "items": SENTENCE, "minItems": 1, "maxItems": count})
        tasks, _ = await ask_json(model, messages, ctx.child("proposer"), _read_tasks,
                                        retry=PROMPTS / "proposer_retry.j2", schema=schema)
        if tasks is None:
            return Drop("proposer: unreadable")
        return [{"task": text, "site": item["site"], "start": item["start"], "env": item["env"]}
                for text in dict.fromkeys(tasks[:count])]

    async def attempt_task(item: Item, ctx: Context) -> list[Item]:
        task = world.task(item["task"], item["start"])
        done = await attempt(model, world, task, ctx.child("agent"), sampling=sampling)
        return [{**item, "task_id": task.id, "prompt": task.prompt, **done.to_json()}]

    async def evaluate(item: Item, ctx: Context) -> list[Item]:
        messages = [{"role": "system", "content": render(PROMPTS / "evaluator_system.j2")},
                    {"role": "user", "content": render(PROMPTS / "evaluator.j2", task=item["task"],
                                                       actions=item["actions"], answer=item["answer"],
                                                       observations=item["observations"][-last:])}]
        verdict, problem = await ask_json(model, messages, ctx.child("evaluator"), _read_verdict,
                                          retry=PROMPTS / "evaluator_retry.j2", schema=VERDICT)
        success, reasons = verdict if verdict is not None else (False, f"unreadable evaluator reply: {problem}")
        reward = 1.0 if success else 0.0
        return [{**item, "reward": reward, "reasons": reasons, "note": {"reward": reward, "reasons": reasons}}]

    async def keep_successes(items: list[Item], ctx: Context) -> list[Item]:
        return [item for item in items if item["reward"] == 1.0]  # filtered BC: successes only

    stages = [Stage("propose", propose, concurrency=concurrency),
              Stage("attempt", attempt_task, concurrency=concurrency),
              Stage("evaluate", evaluate, concurrency=concurrency),
              Stage("filter", keep_successes, batch=True)]
    meta = {"env": env.name, "limit": limit, "seed": seed, **settings}
    return Pipeline(NAME, stages, seeds=seeds, meta=meta)


VERDICT = object_schema(reasons=STRING, success={"type": "boolean"})


def _read_tasks(data: dict[str, Any]) -> list[str]:
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise FormatError(f"`tasks` must be a non-empty list of strings, got {tasks!r}")
    texts = [" ".join(t.split())[:400] for t in tasks if isinstance(t, str) and t.strip()]
    if not texts:
        raise FormatError("`tasks` holds no non-empty string")
    return texts


def _read_verdict(data: dict[str, Any]) -> tuple[bool, str]:
    success = data.get("success")
    if isinstance(success, str) and success.strip().lower() in ("true", "false"):
        success = success.strip().lower() == "true"
    if not isinstance(success, bool):
        raise FormatError(f"`success` must be true or false, got {success!r}")
    reasons = text_field(data, "reasons") if data.get("reasons") else ""
    return success, reasons


def rows(items: list[dict], run_id: str) -> list[dict]:
    """One SFT row per kept trajectory: the agent's conversation, with its reward in the provenance (whose
    `stage` and `scope` are the attempt's agent, whose calls wrote the assistant messages)."""
    out = []
    for item in items:
        messages = item["messages"]
        replies = [m for m in messages if m["role"] == "assistant"]
        if not replies or any(not m.get("content") for m in replies):
            continue  # no action, or an empty reply: nothing to learn from
        prov = provenance(item, NAME, run_id)
        attempt_scope = prov["scopes"][prov["stages"].index("attempt")]
        prov.update(stage="attempt", scope=f"{attempt_scope}/agent", reward=item["reward"], task=item["task"],
                    task_id=item["task_id"], site=item["site"], env=item["env"], steps=item["steps"])
        out.append({"kind": "sft", "messages": messages, "loss": [True] * len(replies), "provenance": prov})
    return out
