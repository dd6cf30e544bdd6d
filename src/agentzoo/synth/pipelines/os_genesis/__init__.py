"""OS-Genesis: explore a GUI with no task, write tasks backwards from what the actions did, run them, score
the trajectories 1–5 with a reward model, and keep them by score.

Sun et al. 2024, "OS-Genesis: Automating GUI Agent Trajectory Construction via Reverse Task Synthesis"
(arXiv:2412.19723); facts from OS-Copilot/OS-Genesis (`collection/random_walk_aw.py`, `genesis_rm.py`,
README) as ../shared/recipes/PAPERS.md (#3) records them. On the screens world, one journaled run:

1. `explore`: `limit` seeded random walks of `explore_steps` actions from the home screen (`explore.py`), no
   task and no model: one ⟨s_pre, a, s_post⟩ triple per step, each step a journaled `env` effect.
2. `low_level`: per triple, a model (scope `synthesizer`) writes the instruction that makes that action happen.
3. `high_level`: from it and the screens around it, the model (scope `synthesizer`) writes the task the step
   belongs to (reverse task synthesis).
4. `execute`: the agent (scope `agent`) plays each high-level task from the home screen (the text loop).
5. `trm`: the trajectory reward model (scope `trm`; `RubricJudge`, scale 1–5, temperature 0.5) scores each
   trajectory on completion and coherence from the task, the actions and the last three screens.
6. `sample`: trajectories scored below `threshold` are dropped (and the unscored); with `sample_size`, that
   many of the rest are drawn with probability proportional to their score.

`rows`: each kept trajectory as an SFT row, its TRM score and reasons in the provenance, the triple and the
low-level instruction it came from beside it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ....envs.step import EpisodeRules
from ....errors import ConfigError
from ....prompts import render
from ....replies import json_format, object_schema
from ....protocols import Model
from ....runtime.context import Context
from ...judges import RubricJudge
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .._asking import SENTENCE, STRING, ask_json, text_field
from .._options import number, refuse_unknown, whole
from .._open_tasks import OpenTasks, attempt
from .explore import random_walk, walk_seed

NAME = "os-genesis"
PAPER = "Sun et al. 2024, OS-Genesis: reverse task synthesis (#3)"
SUMMARY = "task-free GUI exploration → tasks written backwards → executed trajectories kept by a 1–5 reward model"
ENVS = ("screens",)
PROMPTS = Path(__file__).parent / "prompts"
SCALE = (1, 5)  # genesis_rm.py: "Rate the trajectory on a scale of 1 to 5"

OPTIONS: dict[str, object] = {
    "explore_steps": 8,
    "max_steps": 10,
    "threshold": 3,
    "sample_size": None,
    "trm_temperature": 0.5,
    "trm_observations": 3,
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "explore_steps": "ours: actions per random walk (random_walk_aw.py walks a set number of steps per episode; "
                     "each walk here starts from the home screen)",
    "max_steps": "ours: the agent's step limit when it executes a synthesised task (the environment's own "
                 "rules, WebArena's 30, still apply when lower)",
    "threshold": "ours: PAPERS.md gives no cut-off; the paper samples by TRM score rather than discarding "
                 "incomplete trajectories, and the issue asks that every trajectory below a threshold be "
                 "dropped: 3, the middle of the 1–5 scale",
    "sample_size": "ours: None keeps every trajectory at or above the threshold; a number draws that many, "
                   "with probability proportional to the score (the paper's reward-based sampling)",
    "trm_temperature": "genesis_rm.py: the reward model is called at temperature 0.5",
    "trm_observations": "genesis_rm.py: the last three screenshots with the action history",
    "concurrency": "ours: items of a stage that run at once",
}
DEVIATIONS: list[str] = [
    "text screens (the screens world's element lists) instead of screenshots and accessibility trees",
    "the random walk types texts from a fixed list of our own; the paper's collector has a model write the text",
    "each walk starts from the home screen, and each synthesised task is executed from the home screen",
    "the reward model's unreadable reply is asked again once (RubricJudge), not up to 5 times as genesis_rm.py "
    "does; an unscored trajectory is dropped",
    "reward-based sampling draws without replacement, so a trajectory is at most once in the dataset",
    "the same model writes the instructions, plays the agent and scores, unless a spec gives the roles "
    "(synthesizer, agent, trm) their own models",
]


def build(model: Model, env: Any, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    """OS-Genesis on `env` (a screens world): `limit` random walks of `explore_steps` actions each."""
    refuse_unknown(NAME, OPTIONS, options)
    s = {**OPTIONS, **options}
    if env is None or getattr(env, "name", None) not in ENVS:
        raise ConfigError(f"os-genesis explores the GUI world (screens), not "
                          f"{getattr(env, 'name', None) or type(env).__name__!r}")
    for key in ("explore_steps", "max_steps", "trm_observations", "concurrency"):
        s[key] = whole(NAME, key, s[key])
    if limit < 1 or min(s["explore_steps"], s["max_steps"], s["trm_observations"], s["concurrency"]) < 1:
        raise ConfigError("os-genesis: limit, explore_steps, max_steps, trm_observations and concurrency must each "
                          "be at least 1")
    if s["sample_size"] is not None:
        s["sample_size"] = whole(NAME, "sample_size", s["sample_size"])
    threshold = number(NAME, "threshold", s["threshold"])
    trm = RubricJudge(model, render(PROMPTS / "trm_rubric.j2"), scale=SCALE, threshold=threshold,
                      sampling={"temperature": number(NAME, "trm_temperature", s["trm_temperature"]),
                                "response_format": TRM_FORMAT})
    rules = env.rules
    world = OpenTasks(env, EpisodeRules(min(s["max_steps"], rules.max_steps), rules.max_parse_failures,
                                        rules.max_repeated_actions))
    steps, last, concurrency = s["explore_steps"], s["trm_observations"], s["concurrency"]

    async def explore(item: Item, ctx: Context) -> list[Item] | Drop:
        triples = await random_walk(world, steps, walk_seed(seed, item["walk"]), ctx.child("env"))
        if not triples:
            return Drop("no action to take")
        return [{**t, "walk": item["walk"], "step": k} for k, t in enumerate(triples)]

    async def low_level(item: Item, ctx: Context) -> list[Item] | Drop:
        messages = [{"role": "system", "content": render(PROMPTS / "low_level_system.j2")},
                    {"role": "user", "content": render(PROMPTS / "low_level.j2", s_pre=item["s_pre"],
                                                       action=item["action"], element=item["element"],
                                                       s_post=item["s_post"])}]
        text, _ = await ask_json(model, messages, ctx.child("synthesizer"), lambda d: text_field(d, "instruction"),
                                 retry=PROMPTS / "retry.j2", schema=object_schema(instruction=SENTENCE))
        return Drop("low-level: unreadable") if text is None else [{**item, "low_level": text}]

    async def high_level(item: Item, ctx: Context) -> list[Item] | Drop:
        messages = [{"role": "system", "content": render(PROMPTS / "high_level_system.j2")},
                    {"role": "user", "content": render(PROMPTS / "high_level.j2", low_level=item["low_level"],
                                                       app=item["app"], s_pre=item["s_pre"], s_post=item["s_post"])}]
        text, _ = await ask_json(model, messages, ctx.child("synthesizer"), lambda d: text_field(d, "task"),
                                 retry=PROMPTS / "retry.j2", schema=object_schema(task=SENTENCE))
        return Drop("high-level: unreadable") if text is None else [{**item, "task": text}]

    async def execute(item: Item, ctx: Context) -> list[Item]:
        task = world.task(item["task"], "home")
        done = await attempt(model, world, task, ctx.child("agent"))
        return [{**item, "task_id": task.id, **done.to_json()}]

    async def score(item: Item, ctx: Context) -> list[Item]:
        example = render(PROMPTS / "trm_example.j2", task=item["task"], actions=item["actions"],
                         stopped=item["stopped"], finished=item["stopped"] is None and item["steps"] > 0,
                         answer=item["answer"], observations=item["observations"][-last:])
        verdict = (await trm.judge(example, ctx.child("trm"))).to_json()
        return [{**item, "trm": verdict, "note": verdict}]

    async def sample(items: list[Item], ctx: Context) -> list[Item]:
        kept = [i for i in items if i["trm"]["score"] is not None and i["trm"]["score"] >= threshold]
        size = s["sample_size"]
        if size is None or size >= len(kept):
            return kept
        return weighted_sample(kept, size, random.Random(walk_seed(seed, -1)))

    stages = [Stage("explore", explore, concurrency=concurrency),
              Stage("low_level", low_level, concurrency=concurrency),
              Stage("high_level", high_level, concurrency=concurrency),
              Stage("execute", execute, concurrency=concurrency),
              Stage("trm", score, concurrency=concurrency),
              Stage("sample", sample, batch=True)]
    meta = {"env": env.name, "limit": limit, "seed": seed, **s}
    return Pipeline(NAME, stages, seeds=[{"walk": i} for i in range(limit)], meta=meta)


TRM_FORMAT = json_format(object_schema(reasons=STRING,
                                          score={"type": "integer", "enum": list(range(SCALE[0], SCALE[1] + 1))}))
"""The reward model's reply as a JSON schema (a score on the scale), so a small model writes both keys."""


def weighted_sample(items: list[Item], k: int, rng: random.Random) -> list[Item]:
    """`k` of `items` drawn without replacement, each draw with probability proportional to its TRM score;
    returned in their original order."""
    pool = list(range(len(items)))
    chosen: list[int] = []
    for _ in range(k):
        weights = [items[i]["trm"]["score"] for i in pool]
        pick = rng.choices(range(len(pool)), weights=weights)[0]
        chosen.append(pool.pop(pick))
    return [items[i] for i in sorted(chosen)]


def rows(items: list[dict], run_id: str) -> list[dict]:
    """One SFT row per kept trajectory, its TRM score in the provenance (whose `stage` and `scope` are the
    execution's agent, whose calls wrote the assistant messages) with the triple and instruction it came from."""
    out = []
    for item in items:
        messages = item["messages"]
        replies = [m for m in messages if m["role"] == "assistant"]
        if not replies or any(not m.get("content") for m in replies):
            continue  # no action, or an empty reply: nothing to learn from
        prov = provenance(item, NAME, run_id)
        execute_scope = prov["scopes"][prov["stages"].index("execute")]
        prov.update(stage="execute", scope=f"{execute_scope}/agent", trm_score=item["trm"]["score"],
                    task=item["task"], task_id=item["task_id"], low_level=item["low_level"],
                    triple={"s_pre": item["s_pre"], "action": item["action"], "s_post": item["s_post"]})
        out.append({"kind": "sft", "messages": messages, "loss": [True] * len(replies), "provenance": prov})
    return out
