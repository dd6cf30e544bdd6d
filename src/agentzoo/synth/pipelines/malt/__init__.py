"""MALT (Motwani et al. 2024, #52): role-specific SFT and preference data from generator → verifier → refiner trees.

Per question: `generations` answers (role `generator`), `critiques` critiques of each (role `verifier`),
`refinements` refined answers per critique (role `refiner`): 3 × 3 × 3 = 27 leaves by default. Each leaf is graded
0/1 by the environment's own scorer (GSM8K's final-number rule; MBPP/HumanEval's tests in the sandbox), a
recorded effect, so a replay grades nothing again. Value iteration gives every node the mean of its children's
values (`tree.assign_values`); a node is positive at ≥ 0.5. Rows per role: SFT on each positive node (its prompt
and its reply), and a preference pair for each negative node with its best positive sibling.

Stages: `expand` (the model calls and grades, one tree per question) → `credit` (values, no calls) →
`examples` (the role examples; a tree with no positive node gives none).

Scopes: `expand/item#i/generator#g/verifier#v/refiner#r`, so a spec's role models (`generator`, `verifier`,
`refiner`) serve each role and cost adds up per role.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from pathlib import Path
from typing import Any

from ....envs.base import Environment, ScoringContext
from ....envs.registry import get_env
from ....errors import ConfigError
from ....prompts import render
from ....protocols import Model
from ....runtime.context import Context
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .._options import read_options
from . import tree

NAME = "malt"
PAPER = "Motwani et al. 2024, MALT: Improving Reasoning with Multi-Agent LLM Training (#52)"
SUMMARY = ("generator → verifier → refiner trees per question, leaves graded by the env, value iteration → "
           "SFT and DPO rows per role")
ENVS = ("gsm8k", "mbpp", "humaneval")
OPTIONS: dict[str, object] = {
    "generations": 3,
    "critiques": 3,
    "refinements": 3,
    "threshold": 0.5,
    "temperature": 0.7,
    "max_tokens": 512,
    "concurrency": 2,
    "tasks": None,
}
OPTION_SOURCES: dict[str, str] = {
    "generations": "PAPERS.md #52: n = 3 generations per question [paper; unverified]",
    "critiques": "PAPERS.md #52: m = 3 critiques per generation [paper; unverified]",
    "refinements": "PAPERS.md #52: l = 3 refinements per critique (27 leaves) [paper; unverified]",
    "threshold": "PAPERS.md #52: values binarised at 0.5 [paper; unverified]",
    "temperature": "ours: siblings must differ for their values to differ; the paper's sampling settings unread",
    "max_tokens": "ours: room for a worked grade-school solution",
    "concurrency": "ours: questions expanded at once (each tree also fans out its siblings)",
    "tasks": "ours: a tasks file in the environment's format (e.g. GSM8K's train split); default its shipped tasks, "
             "a test set, whose rows `agentzoo synth` then drops as contaminated",
}
DEVIATIONS: list[str] = [
    "One model plays all three roles unless the spec gives role models (the paper trains three copies of one base "
    "model, so at data-generation time they are the same model too).",
    "Each sibling call carries its own request seed (from the run's seed and its place in the tree), so siblings "
    "differ on backends that honour seeds and a rerun asks the same requests.",
    "A node whose subtree was cut short (a budget) has no value and makes no row; the paper's trees are complete.",
    "Preference pairs take the best positive sibling for each negative node (one pair per negative); the paper's "
    "exact pair selection is not read here.",
    "Inference-time majority vote over 3 chains is not part of this data pipeline.",
]
PROMPTS = Path(__file__).parent / "prompts"


def build(model: Model, env: Environment | None, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    opts = read_options(NAME, OPTIONS, options, {"threshold": float, "temperature": float, "tasks": str})
    for key in ("generations", "critiques", "refinements", "max_tokens", "concurrency"):
        if not isinstance(opts[key], int) or isinstance(opts[key], bool) or opts[key] < 1:
            raise ConfigError(f"malt: option {key} must be a whole number ≥ 1, got {opts[key]!r}")
    if not isinstance(opts["threshold"], (int, float)) or not 0 <= opts["threshold"] <= 1:
        raise ConfigError(f"malt: option threshold must be a number from 0 to 1, got {opts['threshold']!r}")
    if env is None or getattr(env, "name", None) not in ENVS:
        named = getattr(env, "name", None)
        raise ConfigError(f"malt grades answers with an environment's scorer: give one of {', '.join(ENVS)}"
                          + (f", not {named}" if named else ""))
    if opts["tasks"]:
        env = get_env(env.name, opts["tasks"])
    tasks = env.tasks()
    if limit < 1:
        raise ConfigError(f"malt: limit must be at least 1, got {limit}")
    picked = sorted(random.Random(seed).sample(range(len(tasks)), min(limit, len(tasks))))
    by_id = {tasks[i].id: tasks[i] for i in picked}
    seeds = [{"task_id": tasks[i].id, "question": tasks[i].prompt} for i in picked]
    expander = _Expander(model, env, by_id, opts, seed)

    async def credit(item: Item, ctx: Context) -> list[Item]:
        nodes = tree.assign_values(item["nodes"], float(opts["threshold"]))
        roots = [n for n in nodes if n["parent"] is None]
        root_values = [n["value"] for n in roots if n["value"] is not None]
        return [{**item, "nodes": nodes,
                 "note": {"question_value": sum(root_values) / len(root_values) if root_values else None,
                          "positive": {r: sum(1 for n in nodes if n["role"] == r and n["positive"])
                                       for r in tree.ROLES}}}]

    async def examples(item: Item, ctx: Context) -> list[Item] | Drop:
        made = _examples(item)
        return made if made else Drop("no positive node")

    stages = [Stage("expand", expander.expand, concurrency=int(opts["concurrency"])),
              Stage("credit", credit), Stage("examples", examples)]
    return Pipeline(NAME, stages, seeds=seeds,
                    meta={"env": env.name, "seed": seed, "limit": limit, "options": opts})


class _Expander:
    """Grows one question's tree: every model call in its role's scope, every leaf graded as a recorded effect."""

    def __init__(self, model: Model, env: Environment, tasks: dict, opts: dict[str, Any], seed: int) -> None:
        self.model, self.env, self.tasks, self.opts, self.seed = model, env, tasks, opts, seed

    async def expand(self, item: Item, ctx: Context) -> list[Item]:
        task = self.tasks[item["task_id"]]
        problem = task.prompt
        nodes: list[tree.Node] = []
        n, m, l = self.opts["generations"], self.opts["critiques"], self.opts["refinements"]

        async def refine(k: int, scope: Context, parent: tree.Node, answer: str) -> None:
            prompt = render(PROMPTS / "refiner.j2", problem=problem, solution=answer, critique=parent["text"])
            node = await self._call(scope, "refiner", f"{parent['id']}.r{k}", parent["id"], prompt)
            node["grade"] = await self._grade(scope, task, node["text"])
            nodes.append(node)

        async def verify(j: int, scope: Context, parent: tree.Node) -> None:
            prompt = render(PROMPTS / "verifier.j2", problem=problem, solution=parent["text"])
            node = await self._call(scope, "verifier", f"{parent['id']}.v{j}", parent["id"], prompt)
            nodes.append(node)
            scopes = [scope.child("refiner", k) for k in range(l)]
            await asyncio.gather(*(refine(k, s, node, parent["text"]) for k, s in enumerate(scopes)))

        async def generate(i: int, scope: Context) -> None:
            prompt = render(PROMPTS / "generator.j2", problem=problem)
            node = await self._call(scope, "generator", f"g{i}", None, prompt)
            nodes.append(node)
            scopes = [scope.child("verifier", j) for j in range(m)]
            await asyncio.gather(*(verify(j, s, node) for j, s in enumerate(scopes)))

        scopes = [ctx.child("generator", i) for i in range(n)]  # created in program order: stable names
        await asyncio.gather(*(generate(i, s) for i, s in enumerate(scopes)))
        nodes.sort(key=_order)
        grades = [node["grade"] for node in nodes if "grade" in node]
        return [{**item, "nodes": nodes, "note": {"leaves": len(grades), "correct": sum(grades)}}]

    async def _call(self, ctx: Context, role: str, node_id: str, parent: str | None, prompt: str) -> tree.Node:
        messages = [{"role": "user", "content": prompt}]
        request = ModelRequest(messages=messages, temperature=float(self.opts["temperature"]),
                               max_tokens=int(self.opts["max_tokens"]), seed=_request_seed(self.seed, node_id))
        response = await ctx.model(self.model, request)
        return {"id": node_id, "role": role, "parent": parent, "prompt": messages, "text": response.text or "",
                "scope": ctx.scope.path}

    async def _grade(self, ctx: Context, task: Any, answer: str) -> int:
        """The environment's own verdict on a leaf, recorded (a code env runs the tests in its sandbox)."""
        async def perform() -> dict[str, Any]:
            score = await self.env.score(self.env.episode(task), answer, ScoringContext())
            return {"reward": score.reward, "success": score.success}

        got = await ctx.effect("synth", "grade", {"env": self.env.name, "task": task.id, "answer": answer}, perform)
        return 1 if got["success"] else 0


def _order(node: tree.Node) -> list[int]:
    return [int(part[1:]) for part in node["id"].split(".")]


def _request_seed(seed: int, node_id: str) -> int:
    """A sibling's own sampling seed: the run's seed and its place in the tree (31 bits, as backends take)."""
    return zlib.crc32(f"{seed}:{node_id}".encode()) & 0x7FFFFFFF


def _examples(item: Item) -> list[Item]:
    """One SFT example per positive node and one preference example per (positive sibling, negative node)."""
    nodes = item["nodes"]
    out: list[Item] = []
    for node in nodes:
        if node["positive"]:
            out.append({"kind": "sft", "role": node["role"], "task_id": item["task_id"], "prompt": node["prompt"],
                        "reply": node["text"], "node": node["id"], "value": node["value"], "scope": node["scope"],
                        "note": {"role": node["role"], "node": node["id"], "value": node["value"]}})
    for chosen, rejected in tree.pairs(nodes):
        out.append({"kind": "preference", "role": chosen["role"], "task_id": item["task_id"],
                    "prompt": chosen["prompt"], "chosen": chosen["text"], "rejected": rejected["text"],
                    "chosen_node": chosen["id"], "rejected_node": rejected["id"], "chosen_value": chosen["value"],
                    "rejected_value": rejected["value"], "chosen_scope": chosen["scope"],
                    "rejected_scope": rejected["scope"],
                    "note": {"role": chosen["role"], "chosen": chosen["id"], "rejected": rejected["id"],
                             "values": [chosen["value"], rejected["value"]]}})
    return out


def rows(items: list[Item], run_id: str) -> list[dict[str, Any]]:
    """The dataset rows: `sft` (prompt + the positive reply) and `preference` (prompt, chosen, rejected). The
    provenance names the role, the question, the node(s) and value(s), and `scope`: the scope of the model call
    that wrote the reply (for a pair, the chosen one's; `rejected_scope` the other's)."""
    out = []
    for item in items:
        prov = {**provenance(item, NAME, run_id), "role": item["role"], "task_id": item["task_id"]}
        if item["kind"] == "sft":
            prov.update(scope=item["scope"], node=item["node"], value=item["value"])
            out.append({"kind": "sft", "messages": [*item["prompt"], {"role": "assistant", "content": item["reply"]}],
                        "provenance": prov})
        else:
            prov.update(scope=item["chosen_scope"], rejected_scope=item["rejected_scope"],
                        chosen_node=item["chosen_node"], rejected_node=item["rejected_node"],
                        chosen_value=item["chosen_value"], rejected_value=item["rejected_value"])
            out.append({"kind": "preference", "prompt": item["prompt"],
                        "chosen": [{"role": "assistant", "content": item["chosen"]}],
                        "rejected": [{"role": "assistant", "content": item["rejected"]}], "provenance": prov})
    return out
