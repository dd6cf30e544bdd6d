"""AgentRefine (Fu et al. 2025, PAPERS.md #38): agent trajectories that hold a mistake and its correction, each
in an environment a model wrote for a persona, checked by rules.

    script    → for each persona (and, with an environment, one of its tasks shown as inspiration: its actions
                and its start, read by a journaled reset), the model writes an environment script: description,
                actions with typed parameters, task, starting state; a malformed one is written again
    simulate  → the model plays agent and environment master for a whole trajectory in one reply, with at
                least one mistake the agent later corrects; the verifier (`verify.py`) checks the format, that
                every action is in the script's list with exactly its parameters and types, and that an
                error turn is followed by a correcting one; a rejected trajectory is written again, up to
                `max_retries` times (the problem is told), then dropped with the check that failed
    dedup     → the same task with the same actions once

Rows are OpenAI chat conversations with tools (the script's actions as functions): one assistant tool call and
its tool result per turn; the loss flag is off on the turns the environment marked as mistakes (`mask_errors`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ....envs.stepping import StepDriver
from ....errors import ConfigError, FormatError
from ....prompts import render
from ....protocols import Model
from ....replies import json_object
from ....runtime.context import Context
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .._options import read_options
from .verify import Action, Rejected, check_script, check_trajectory, has_correction

__all__ = ["DEVIATIONS", "ENVS", "NAME", "OPTIONS", "OPTION_SOURCES", "PAPER", "SUMMARY", "build", "personas", "rows"]

NAME = "agentrefine"
PAPER = "Fu et al. 2025, AgentRefine: enhancing agent generalization through refinement tuning (#38)"
SUMMARY = ("persona → environment script → one simulated trajectory with a mistake and its correction, "
           "rule-verified (actions in the script's list, exact parameters, an error→correction pair), "
           "regenerated on failure; SFT rows with tools and the wrong turns' loss masked")
ENVS = ("textworld", "gridworld", "screens", "webworld")
HERE = Path(__file__).parent
PROMPTS = HERE / "prompts"

OPTIONS: dict[str, object] = {
    "min_actions": 3,
    "min_turns": 3,
    "max_turns": 12,
    "max_retries": 2,
    "require_correction": True,
    "mask_errors": True,
    "feedback": True,
    "temperature": 0.8,
    "max_tokens": 1536,
}
OPTION_SOURCES: dict[str, str] = {
    "min_actions": "ours (PAPERS.md #38: a script lists actions with parameters; how many is not given)",
    "min_turns": "ours (a mistake and its correction need at least 3 turns to end with the task done)",
    "max_turns": "ours (bounds one reply's length)",
    "max_retries": "ours (PAPERS.md #38: 'on failure it regenerates'; the count is not given)",
    "require_correction": "PAPERS.md #38 protocol test: a trajectory without an error→correction pair is not kept",
    "mask_errors": "PAPERS.md #38: SFT loss masked on the wrong turns [paper; unverified]",
    "feedback": "ours (the regenerated reply is told what failed; False asks again from scratch)",
    "temperature": "ours (diverse scripts and trajectories)",
    "max_tokens": "ours (one whole trajectory as JSON)",
}
DEVIATIONS: list[str] = [
    "Personas are a short list shipped with the module (agentrefine/personas.txt, ours), not Persona Hub.",
    "With an environment, each script is written with one of its tasks (action space and start observation, "
    "from a journaled reset) as inspiration; the paper's scripts come from personas alone (env None does that).",
    "Scripts and trajectories are JSON objects (typed parameters), so the verifier checks types as well as names; "
    "the paper's trajectories are Thought/Action text.",
    "A rejected reply is regenerated with the verifier's problem told (feedback=True); the paper only says it "
    "regenerates.",
    "Whether a turn is a mistake is the simulated environment master's `error` flag; the paper's data marks the "
    "erroneous turns in its own format [unverified].",
]


def personas() -> list[str]:
    lines = (HERE / "personas.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build(model: Model, env: Any, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    opts = read_options(NAME, OPTIONS, options)
    for key in ("min_actions", "min_turns", "max_turns", "max_tokens"):
        if int(opts[key]) < 1:
            raise ConfigError(f"{NAME}: option {key} must be at least 1, got {opts[key]}")
    if int(opts["max_retries"]) < 0:
        raise ConfigError(f"{NAME}: option max_retries must be 0 or more, got {opts['max_retries']}")
    if int(opts["max_turns"]) < int(opts["min_turns"]):
        raise ConfigError(f"{NAME}: max_turns ({opts['max_turns']}) is below min_turns ({opts['min_turns']})")
    if limit < 1:
        raise ConfigError(f"{NAME}: limit must be at least 1, got {limit}")
    if env is not None and not callable(getattr(env, "step_episode", None)):
        raise ConfigError(f"{NAME}: the environment must be interactive (one of {', '.join(ENVS)}) or none, "
                          f"got {getattr(env, 'name', env)!r}")
    rng = random.Random(seed)
    people = personas()
    order = rng.sample(range(len(people)), len(people))
    seeds: list[Item] = [{"persona": people[order[i % len(order)]]} for i in range(limit)]
    tasks = {t.id: t for t in env.tasks()} if env is not None else {}
    if tasks:
        ids = list(tasks)
        picked = rng.sample(ids, min(limit, len(ids)))
        for i, s in enumerate(seeds):
            s["task_id"] = picked[i % len(picked)]
    sampling = {"temperature": float(opts["temperature"]), "max_tokens": int(opts["max_tokens"])}

    async def script(item: Item, ctx: Context) -> list[Item] | Drop:
        inspiration = None
        if "task_id" in item:
            driver = StepDriver(env, tasks[item["task_id"]], seed=seed)
            try:
                first = await driver.reset(ctx.child("env"))
            finally:
                await driver.close()
            inspiration = render(PROMPTS / "inspiration.j2", actions=(driver.start or {}).get("actions", ""),
                                 start=first.text)
        prompt = render(PROMPTS / "script.j2", persona=item["persona"], inspiration=inspiration,
                        min_actions=opts["min_actions"])
        made, rejections = await _generate(model, prompt, ctx.child("scripter"), sampling, opts,
                                           lambda data: check_script(data, min_actions=int(opts["min_actions"])))
        if made is None:
            return Drop(rejections[-1]["category"])
        return [{**item, "env": env.name if env is not None else None, **made,
                 "note": {"attempts": len(rejections) + 1, "rejected": rejections}}]

    async def simulate(item: Item, ctx: Context) -> list[Item] | Drop:
        prompt = render(PROMPTS / "simulate.j2", description=item["description"], actions=item["actions"],
                        state=item["state"], task=item["task"], min_turns=opts["min_turns"],
                        max_turns=opts["max_turns"])

        def check(data: dict[str, Any]) -> dict[str, Any]:
            return check_trajectory(data, item["actions"], min_turns=int(opts["min_turns"]),
                                    max_turns=int(opts["max_turns"]),
                                    require_correction=bool(opts["require_correction"]))
        made, rejections = await _generate(model, prompt, ctx.child("simulator"), sampling, opts, check)
        if made is None:
            return Drop(rejections[-1]["category"])
        note = {"attempts": len(rejections) + 1, "rejected": rejections,
                "errors": sum(t["error"] for t in made["turns"])}
        return [{**item, **made, "mask_errors": bool(opts["mask_errors"]), "note": note}]

    async def dedup(items: list[Item], ctx: Context) -> list[Item]:
        seen: set[tuple[Any, ...]] = set()
        out = []
        for item in items:
            key = (_norm(item["task"]).lower(), tuple(json.dumps(t["action"], sort_keys=True) for t in item["turns"]))
            if key not in seen:
                seen.add(key)
                out.append(item)
        return out

    meta = {"pipeline": NAME, "env": env.name if env is not None else None, "limit": limit, "seed": seed,
            "options": opts}
    return Pipeline(NAME, [Stage("script", script), Stage("simulate", simulate), Stage("dedup", dedup, batch=True)],
                    seeds=seeds, meta=meta)


async def _generate(model: Model, prompt: str, ctx: Context, sampling: dict[str, Any], opts: dict[str, Any],
                    check: Callable[[dict[str, Any]], dict[str, Any]],
                    ) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Ask, verify, and ask again on a rejection (up to `max_retries` more calls, all in `ctx`): the checked
    result (or None) and every rejection's category and problem, in order."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    rejections: list[dict[str, str]] = []
    for attempt in range(1 + int(opts["max_retries"])):
        request = ModelRequest(messages=list(messages), response_format={"type": "json_object"}, seed=attempt,
                               **sampling)
        text = (await ctx.model(model, request)).text or ""
        try:
            return check(json_object(text)), rejections
        except FormatError as exc:
            rejected = Rejected("unreadable JSON", str(exc))
        except Rejected as exc:
            rejected = exc
        rejections.append({"category": rejected.category, "problem": rejected.problem})
        if opts["feedback"]:
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": render(PROMPTS / "retry.j2", problem=rejected.problem)}]
    return None, rejections


def rows(items: list[dict[str, Any]], run_id: str, *, mask_errors: bool | None = None) -> list[dict[str, Any]]:
    """SFT rows with tools; `mask_errors` (default: the run's option, kept on each item) turns the loss off on
    the turns marked as mistakes."""
    out = []
    for item in items:
        mask = item.get("mask_errors", True) if mask_errors is None else mask_errors
        actions = [Action(a["name"], a["description"], a["parameters"]) for a in item["actions"]]
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render(PROMPTS / "system.j2", description=item["description"])},
            {"role": "user", "content": render(PROMPTS / "user.j2", task=item["task"], state=item["state"])}]
        loss: list[bool] = []
        for k, turn in enumerate(item["turns"]):
            call_id = f"call_{k}"
            messages.append({"role": "assistant", "content": turn["thought"] or None, "tool_calls": [
                {"id": call_id, "type": "function", "function": {
                    "name": turn["action"]["name"], "arguments": json.dumps(turn["action"]["arguments"])}}]})
            messages.append({"role": "tool", "tool_call_id": call_id, "content": turn["observation"]})
            loss.append(not (mask and turn["error"]))
        if item.get("final"):
            messages.append({"role": "assistant", "content": item["final"]})
            loss.append(True)
        lineage = {"persona": item["persona"], "task_id": item.get("task_id"), "env": item.get("env"),
                   "error_turns": [k for k, t in enumerate(item["turns"]) if t["error"]],
                   "corrected": has_correction(item["turns"])}
        out.append({"kind": "sft", "messages": messages, "tools": [a.tool() for a in actions], "loss": loss,
                    "provenance": {**provenance(item, NAME, run_id), **lineage}})
    return out


_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text or "").strip()
