"""AgentTuning (Zeng et al. 2023, #19): agent trajectories kept by reward, mixed with general instruction data at a
ratio η, as SFT rows.

The trajectories are an eval's (`agentzoo eval ... --out DIR`, then `--opt source=DIR`): each sample's
conversation as `agentzoo export` reads it (`agentzoo.eval.export.export_eval`), with its reward. AgentTuning keeps
only the trajectories with the strict reward (`min_reward`, 1.0) and trains on agent data and general chat data
mixed so that a share η of the examples are agent ones (η = 0.2 in the paper). The general data is a JSONL of
`{"id", "messages"}` (`general`; default: the small corpus shipped in `agentzoo/synth/data`, ours).

Stages:
- `collect` (batch): every sample of the folder, in key order; a sample that failed on infrastructure, or whose
  run has no model call in `scope`, becomes a marker the next stage drops with that reason;
- `filter`: drops markers, samples of another environment than `--env`, trajectories below `min_reward`, and
  trajectories with an empty assistant turn (nothing to learn from it, and no trainer reads it);
- `mix` (batch): a seeded sample of at most `limit` kept trajectories, and ⌊A·(1−η)/η⌉ general examples drawn
  without repeats; when the corpus is too short for that, fewer trajectories (so η holds and nothing is
  duplicated). The two kinds are interleaved evenly (`interleave`): every run of k consecutive rows holds
  ⌊k·η⌋ or ⌈k·η⌉ agent rows, so any batch a trainer takes in order holds ≈ η agent rows;
- `keep`: the mix in order; the trajectories left out are dropped there, counted by reason.

No model is called: `model` is unused (AgentTuning's trajectories come from GPT-4 runs; here from the eval's).
Every agent row names the eval sample and journal run its conversation was read from.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from ... import _json
from ...envs.registry import ENVIRONMENTS
from ...errors import ConfigError, JournalError
from ...eval.export import ExportCounts, export_eval
from ...protocols import Model
from ...runtime.context import Context
from ..pipeline import Drop, Item, Pipeline, Stage, provenance
from ._options import read_options

NAME = "agenttuning"
PAPER = "Zeng et al. 2023, AgentTuning: Enabling Generalized Agent Abilities for LLMs (#19)"
SUMMARY = "an eval's trajectories kept by reward, mixed with general instruction data at ratio η, as SFT rows"
ENVS = ("gsm8k", *(name for name in ENVIRONMENTS if name != "gsm8k"))  # any: --env picks the folder's samples of one
GENERAL = Path(__file__).parents[1] / "data" / "agenttuning_general.jsonl"
OPTIONS: dict[str, object] = {
    "source": None,
    "journal": None,
    "scope": "",
    "eta": 0.2,
    "min_reward": 1.0,
    "general": None,
}
OPTION_SOURCES: dict[str, str] = {
    "source": "ours: the --out folder of an `agentzoo eval` (results.db and journal.db)",
    "journal": "ours: the journal of `source` when it is not source/journal.db (as `agentzoo export`)",
    "scope": "ours: the scope whose conversation is the trajectory, '' = the root agent's (as `agentzoo export`)",
    "eta": "AgentTuning paper §2.3 hybrid instruction tuning, η = 0.2 (PAPERS.md #19 [paper; unverified])",
    "min_reward": "THUDM/AgentTuning README: only trajectories with the strict reward are kept (PAPERS.md #19)",
    "general": f"ours: a JSONL of {{id, messages}}; default {GENERAL.name}, 60 examples written for agentzoo "
               "(the paper mixes in ShareGPT)",
}
DEVIATIONS: list[str] = [
    "The paper mixes by sampling η of each training batch from the agent data during fine-tuning; here the mix is "
    "a fixed, seeded dataset whose rows interleave the two kinds evenly, so any in-order batch holds ≈ η agent "
    "rows (a trainer that shuffles keeps η in expectation).",
    "The general data is a 60-example corpus of our own instead of ShareGPT (which is not ours to ship); give "
    "`general=FILE` for a real one.",
    "Trajectories come from an agentzoo eval (any agent, any model) instead of GPT-4 on the six held-in tasks.",
    "A bare journal is no source: it records no rewards, and the reward filter is the method. Its eval folder is.",
    "When the general corpus is too short for η, fewer trajectories are used (counted as dropped) rather than "
    "general examples repeated.",
]
AGENT, GENERAL_KIND = "agent", "general"


def build(model: Model, env: Any, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    opts = read_options(NAME, OPTIONS, options, {"source": str, "journal": str, "scope": str, "general": str,
                                                  "eta": float, "min_reward": float})
    if not opts["source"]:
        raise ConfigError("agenttuning reads the trajectories of an eval: --opt source=DIR, the --out folder of an "
                          "`agentzoo eval` run")
    source = Path(opts["source"])
    if not (source / "results.db").is_file():
        hint = (" (a journal alone records no rewards: give the eval folder it belongs to)"
                if source.is_file() else "")
        raise ConfigError(f"agenttuning: source {source} is not an eval results folder (no results.db){hint}")
    if not 0 < opts["eta"] <= 1:
        raise ConfigError(f"agenttuning: eta is the share of agent rows, above 0 and at most 1, not {opts['eta']}")
    if limit < 1:
        raise ConfigError(f"agenttuning: limit must be at least 1, got {limit}")
    general_path = Path(opts["general"]) if opts["general"] else GENERAL
    general = load_general(general_path)  # read (and checked) now: a bad file fails before the run starts
    env_name = getattr(env, "name", None)
    journal = Path(opts["journal"]) if opts["journal"] else None

    async def collect(items: list[Item], ctx: Context) -> list[Item]:
        found = read_trajectories(source, opts["scope"], journal, ctx.scope.path)
        envs = sorted({i["trajectory"]["env"] for i in found if "trajectory" in i})
        if env_name is not None and envs and env_name not in envs:
            raise ConfigError(f"agenttuning: source {source} holds samples of {', '.join(envs)}, none of "
                              f"{env_name}: give --env {envs[0]}")
        return found

    async def filter_(item: Item, ctx: Context) -> list[Item] | Drop:
        return keep_trajectory(item, env_name, float(opts["min_reward"]))

    async def mix_(items: list[Item], ctx: Context) -> list[Item]:
        return mix(items, general, eta=float(opts["eta"]), limit=limit, seed=seed, scope=ctx.scope.path,
                   general_file=str(general_path))

    async def keep(item: Item, ctx: Context) -> list[Item] | Drop:
        return Drop(item["cut"]) if item.get("cut") else [item]

    stages = [Stage("collect", collect, batch=True), Stage("filter", filter_), Stage("mix", mix_, batch=True),
              Stage("keep", keep, concurrency=64)]
    return Pipeline(NAME, stages, meta={"env": env_name, "seed": seed, "limit": limit, "options": opts})


def load_general(path: Path) -> list[dict[str, Any]]:
    """The general instruction examples of a JSONL file: `{"id", "messages"}` a line, each with an assistant turn."""
    out = []
    for number, row in _json.read_lines(path, "agenttuning general corpus"):
        try:
            messages = row["messages"]
            ok = isinstance(messages, list) and any(isinstance(m, dict) and m.get("role") == "assistant"
                                                    and m.get("content") for m in messages)
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ConfigError(f"agenttuning: general corpus {path} line {number}: expected JSON with `messages`, "
                              "a chat holding an assistant reply")
        out.append({"id": str(row.get("id", f"line-{number}")), "messages": messages})
    if not out:
        raise ConfigError(f"agenttuning: general corpus {path} holds no example")
    return out


def read_trajectories(source: Path, scope: str, journal: Path | None, stage_scope: str) -> list[Item]:
    """Every sample of an eval folder as an item: its trajectory and where it comes from, or a marker naming why
    it has none (infrastructure error, no model call in `scope`)."""
    counts = ExportCounts()
    try:
        records = list(export_eval(source, "openai-jsonl", -math.inf, scope, journal_path=journal, counts=counts))
    except JournalError as exc:
        raise ConfigError(f"agenttuning: source {source}: {exc}") from None
    items: list[Item] = []
    for record in records:
        meta = record["metadata"]
        trajectory = {"results": str(source), **{k: meta.get(k) for k in (
            "run_id", "scope", "key", "env", "task", "agent", "model", "seed", "reward", "success")}}
        items.append({"messages": record["messages"], "tools": record.get("tools", []), "trajectory": trajectory,
                      "provenance": [{"stage": "collect", "scope": stage_scope,
                                      "note": {"run_id": meta["run_id"], "key": meta["key"],
                                               "reward": meta.get("reward")}}]})
    items += [{"skip": "infrastructure error"}] * counts.infra_errors
    items += [{"skip": f"no model call in scope {scope or '<root>'!r}", "key": key} for key in counts.no_trajectory]
    return items


def keep_trajectory(item: Item, env: str | None, min_reward: float) -> list[Item] | Drop:
    """AgentTuning's filter: only trajectories with the strict reward (and of the environment asked for)."""
    if "skip" in item:
        return Drop(item["skip"])
    trajectory = item["trajectory"]
    if env is not None and trajectory["env"] != env:
        return Drop("another environment")
    if float(trajectory["reward"] or 0.0) < min_reward:
        return Drop(f"reward below {min_reward:g}")
    if any(m["role"] == "assistant" and not m.get("content") and not m.get("tool_calls") for m in item["messages"]):
        return Drop("empty assistant turn")
    return [{**item, "note": {"reward": trajectory["reward"]}}]


def plan(agent: int, general: int, eta: float) -> tuple[int, int]:
    """(agent rows, general rows) with agent/(agent + general) ≈ η, using at most `agent` and `general` of each."""
    if eta >= 1:
        return agent, 0
    want = round(agent * (1 - eta) / eta)
    if want <= general:
        return agent, want
    fitted = math.floor(general * eta / (1 - eta) + 1e-9)  # 8 · 0.2 / 0.8 is 2, not 1.999…
    return fitted, min(general, round(fitted * (1 - eta) / eta))


def interleave(agent: int, total: int) -> list[bool]:
    """Where the agent rows go among `total`: position p is an agent row when ⌊(p+1)·a/n⌋ > ⌊p·a/n⌋, which
    spreads them evenly (every window of k positions holds ⌊k·a/n⌋ or ⌈k·a/n⌉ of them)."""
    return [(p + 1) * agent // total > p * agent // total for p in range(total)]


def mix(items: list[Item], general: list[dict[str, Any]], *, eta: float, limit: int, seed: int, scope: str,
        general_file: str) -> list[Item]:
    """The mixture in training order, followed by the trajectories left out (marked `cut` with the reason)."""
    rng = random.Random(seed)
    order = list(range(len(items)))
    rng.shuffle(order)
    chosen, over_limit = order[:limit], order[limit:]
    n_agent, n_general = plan(len(chosen), len(general), eta)
    chosen, too_few = chosen[:n_agent], chosen[n_agent:]
    agent_rows = [{**items[i], "source": AGENT} for i in chosen]
    general_rows = [{"source": GENERAL_KIND, "messages": g["messages"], "tools": [], "general_id": g["id"],
                     "general_file": general_file, "provenance": []}
                    for g in rng.sample(general, n_general)]
    note = {"eta": eta, "agent": n_agent, "general": n_general}
    placed = []
    for is_agent in interleave(n_agent, n_agent + n_general):
        row = agent_rows.pop(0) if is_agent else general_rows.pop(0)
        placed.append({**row, "provenance": [*row["provenance"], {"stage": "mix", "scope": scope, "note": note}]})
    cut = [{**items[i], "cut": "over the limit"} for i in over_limit]
    cut += [{**items[i], "cut": f"general corpus too short for eta {eta:g}"} for i in too_few]
    return placed + cut


def rows(items: list[Item], run_id: str) -> list[dict[str, Any]]:
    """One SFT row per example of the mix, in its order; loss on every assistant turn (AgentTuning trains on all
    of the agent's replies). Provenance: `source` (agent or general), the eval sample and journal run of an agent
    row (`trajectory`), the corpus and id of a general one."""
    out = []
    for item in items:
        assistants = sum(m["role"] == "assistant" for m in item["messages"])
        prov = {**provenance(item, NAME, run_id), "source": item["source"], "trajectory": item.get("trajectory"),
                "general_id": item.get("general_id"), "general_file": item.get("general_file")}
        row: dict[str, Any] = {"kind": "sft", "messages": item["messages"], "loss": [True] * assistants,
                               "provenance": prov}
        if item.get("tools"):
            row["tools"] = item["tools"]
        out.append(row)
    return out
