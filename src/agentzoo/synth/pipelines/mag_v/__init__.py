"""MAG-V (Sengupta et al. 2024; PAPERS.md #44): customer questions made by agents, answered with tool calls on a
tau-bench domain, and the answers' trajectories verified by reverse-engineered questions, without a judge model.

    investigate  an investigator writes `questions` new customer questions per seed, by in-context learning from
                 one seed (question, trajectory) pair and the trajectory of another seed (ids they need included)
    dedup        a question written twice is kept once
    answer       the assistant (a tool-calling agent on a fresh copy of the domain's data) answers: its trajectory
    reverse      a reverse engineer reads only the assistant's reply and writes `alternates` other questions it
                 answers
    alternate    the assistant answers each alternate (each on fresh data): the alternate trajectories
    verify       deterministic features (exact match, edit distance, graph edit distance, answer similarity) and a
                 classical classifier (a rule, or kNN from labelled examples) keep the likely correct ones

Seeds: `agentzoo/synth/data/mag_v_seeds.jsonl` (19 pairs over the shipped retail and airline data, as the paper's
19), or a file of your own (`seeds=PATH`). A row is the assistant's base conversation (system, question, tool
calls and results, reply) with the domain's tools, and the verifier's features and verdict in its provenance.
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from typing import Any

from .... import _json
from ....agents.tool_calling import ToolCallingAgent
from ....errors import ConfigError, FormatError, StepLimitExceeded
from ....prompts import render
from ....protocols import Model
from ....replies import json_format, json_object, object_schema
from ....runtime.context import Context
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from . import features as F
from .._options import refuse_unknown

NAME = "mag-v"
PAPER = "Sengupta et al. 2024, MAG-V: A Multi-Agent Framework for Synthetic Data Generation and Verification (#44)"
SUMMARY = "customer questions answered with tool calls on tau-bench domains, kept when alternate questions agree"
ENVS = ("tau-retail", "tau-airline")

HERE = Path(__file__).parent
PROMPTS = HERE / "prompts"
SEEDS = HERE.parent.parent / "data" / "mag_v_seeds.jsonl"
MAX_RESULT_CHARS = 100_000  # as tau_env: a one-stop flight search can return 25,000 characters

OPTIONS: dict[str, object] = {
    "questions": 10,
    "alternates": 3,
    "max_steps": 10,
    "policy": True,
    "identity": True,
    "verifier": "rule",
    "agree_distance": 0.34,
    "agree_fraction": 0.5,
    "labels": "",
    "k": 5,
    "embedder": "",
    "seeds": "",
    "tools": "",
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "questions": "paper §3 (as summarised in public reviews): the investigator writes 10 questions per in-context "
                 "prompt (19 seeds → 190)",
    "alternates": "ours: alternate questions per reply (the paper's count is not in the summaries we read; PAPERS.md "
                  "#44's protocol uses 2)",
    "max_steps": "ours: the assistant's step limit per question (tau-bench's agents allow 30)",
    "policy": "ours: give the assistant the domain's policy (wiki.md) as tau-bench does; off for small contexts",
    "identity": "ours: tell the reverse engineer the ids and emails of the original question (tau's tools need them)",
    "verifier": "paper: a classical classifier over the features; `rule` (ours, no labels needed) or `knn`",
    "agree_distance": "ours: an alternate within one call in three of the base agrees with it",
    "agree_fraction": "ours: half the alternates must agree",
    "labels": "ours: labelled feature rows for `verifier=knn` (the paper trains on its annotated dataset)",
    "k": "ours: neighbours of the kNN verifier",
    "embedder": "paper: semantic similarity by embeddings; empty → bag-of-words cosine (deterministic, offline)",
    "seeds": "ours: a JSONL of {id, domain, question, trajectory} to use instead of the shipped 19",
    "tools": "ours: comma-separated names of the domain's tools the assistant gets (empty: all); fewer tools "
             "make a shorter prompt for a small model",
    "concurrency": "ours: items in flight per stage",
}
DEVIATIONS: list[str] = [
    "The tool environments are tau-bench retail and airline (the paper's are proprietary), and the 19 seed pairs "
    "are ours, over the shipped databases.",
    "The paper clusters the generated questions by embeddings to pick representative ones; here exact duplicates "
    "are dropped and near-duplicates are left to `agentzoo.synth.dedup` at export.",
    "The default verifier is a fixed rule over the features (no labelled data ships); the paper's trained "
    "classifier is `verifier=knn` with `labels=FILE`. XGBoost is not used (no dependency for one classifier).",
    "Semantic similarity is bag-of-words cosine unless an `embedder` is given (deterministic and offline).",
    "The reverse engineer is told the identifiers of the original question (`identity`), since tau's tools "
    "need a user, order or reservation id that a reply may not repeat; `identity=false` is the paper's setting.",
    "The assistant answers in one turn (no simulated customer): a question must carry what the tools need.",
]


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    refuse_unknown(NAME, OPTIONS, options)
    merged = {**OPTIONS, **options}
    for key, default in OPTIONS.items():
        value = merged[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"pipeline {NAME}: option {key} must be true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"pipeline {NAME}: option {key} must be a whole number of at least 1, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"pipeline {NAME}: option {key} must be a number from 0 to 1, got {value!r}")
        elif not isinstance(value, str):
            raise ConfigError(f"pipeline {NAME}: option {key} must be text, got {value!r}")
    if merged["verifier"] not in ("rule", "knn"):
        raise ConfigError(f"pipeline {NAME}: option verifier must be rule or knn, not {merged['verifier']!r}")
    if merged["verifier"] == "knn" and not merged["labels"]:
        raise ConfigError(f"pipeline {NAME}: verifier=knn needs labels=FILE (labelled feature rows)")
    return merged


def load_seeds(path: str | Path = "", domain: str | None = None) -> list[dict[str, Any]]:
    """Seed (question, trajectory) pairs, those of `domain` when given."""
    source = Path(path) if path else SEEDS
    seeds = []
    for number, seed in _json.read_lines(source, "MAG-V seeds file"):
        try:
            ok = isinstance(seed["question"], str) and all(isinstance(c["name"], str) and isinstance(
                c["arguments"], dict) for c in seed["trajectory"])
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ConfigError(f"MAG-V seeds {source}, line {number}: needs `id`, `domain`, `question` and "
                              "`trajectory` (a list of {name, arguments})")
        if domain is None or seed.get("domain") == domain:
            seeds.append(seed)
    if not seeds:
        raise ConfigError(f"MAG-V seeds {source}: none for domain {domain!r}")
    return seeds


def parse_questions(text: str | None, n: int) -> list[str]:
    """Up to n distinct questions from a reply: the JSON {"questions": [...]} asked for, else one per line."""
    try:
        found = json_object(text)["questions"]
        lines = [q for q in found if isinstance(q, str)] if isinstance(found, list) else []
    except (FormatError, KeyError, TypeError):
        lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line) for line in (text or "").splitlines()]
    out: list[str] = []
    for q in (" ".join(q.split()).strip('"') for q in lines):
        if q and q.lower() not in {o.lower() for o in out}:
            out.append(q)
    return out[:n]


def questions_schema(n: int) -> dict[str, Any]:
    """The reply's JSON schema: 1 to n questions, each one or two sentences."""
    question = {"type": "string", "minLength": 8, "maxLength": 300}
    return object_schema(questions={"type": "array", "items": question, "minItems": 1, "maxItems": n})


_IDS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"      # an email
                  r"|#W\d+|\b[a-z]+_[a-z]+_\d{4}\b"        # a retail order id, a user id
                  r"|\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b")  # a reservation code (or flight number)


def identifiers(question: str) -> list[str]:
    """Emails, user ids, order ids and reservation codes a question names (what tau's tools look up by)."""
    seen: list[str] = []
    for match in _IDS.findall(question):
        if match not in seen:
            seen.append(match)
    return seen


@cache
def _system(domain: str, policy: str) -> str:
    return render(PROMPTS / "system.j2", domain=domain, policy=policy)


def build(model: Model, env: Any = None, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    opts = check_options(options)
    domain = getattr(env, "domain", None)
    if domain is None or not hasattr(domain, "tools"):
        raise ConfigError(f"pipeline {NAME} runs on a tau-bench domain ({', '.join(ENVS)}), not {env!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"pipeline {NAME}: limit must be a whole number of at least 1, got {limit!r}")
    seeds = load_seeds(opts["seeds"], domain.name)
    rng = random.Random(seed)
    starts = []
    for i in range(limit):  # example pair i (round robin), target trajectory another seed's, by the seed
        example = seeds[i % len(seeds)]
        others = [s for s in seeds if s is not example] or [example]
        starts.append({"domain": domain.name, "example": example, "target": rng.choice(others)})
    system = _system(domain.name, domain.policy if opts["policy"] else "")
    offered = tool_names(domain.name, opts["tools"])
    knn = F.Knn.from_file(opts["labels"], opts["k"]) if opts["verifier"] == "knn" else None
    embedder = None
    if opts["embedder"]:
        from ....models.embeddings import parse_embedder

        embedder = parse_embedder(opts["embedder"])

    async def ask_questions(ctx: Context, prompt: str, n: int) -> list[str]:
        # A JSON schema as the response format: a server that constrains decoding (llama.cpp) then makes even a
        # small model write the list asked for; `parse_questions` still reads a reply that ignores it.
        request = ModelRequest(messages=[{"role": "user", "content": prompt}],
                               response_format=json_format(questions_schema(n), "questions"))
        return parse_questions((await ctx.model(model, request)).text, n)

    async def assist(question: str, ctx: Context) -> dict[str, Any] | None:
        """One assistant run on a fresh copy of the domain's data: its conversation, calls and reply."""
        bound = domain.tools(domain.fresh_data(), max_result_chars=MAX_RESULT_CHARS)
        tools = [t for t in bound if t.name in offered]
        agent = ToolCallingAgent(model, tools, system=system, max_steps=opts["max_steps"], name="assistant")
        try:
            result = await agent.run(question, ctx)
        except StepLimitExceeded:
            return None
        calls = F.tool_calls(result.messages)
        return {"messages": result.messages, "trajectory": [c["name"] for c in calls], "calls": calls,
                "response": result.answer or ""}

    async def investigate(item: Item, ctx: Context) -> list[Item] | Drop:
        ex, target = item["example"], item["target"]
        questions = await ask_questions(ctx.child("investigator"), render(
            PROMPTS / "investigate.j2", domain=item["domain"], example_question=ex["question"],
            example_trajectory=ex["trajectory"], target_trajectory=target["trajectory"], n=opts["questions"]),
            opts["questions"])
        return [{"domain": item["domain"], "seed_id": ex["id"], "target_id": target["id"], "question": q,
                 "tools": offered}
                for q in questions] or Drop("no question")

    async def dedup(items: list[Item], ctx: Context) -> list[Item]:
        seen: set[str] = set()
        out = []
        for item in items:
            key = " ".join(item["question"].lower().split())
            if key not in seen:
                seen.add(key)
                out.append(item)
        return out

    async def answer(item: Item, ctx: Context) -> list[Item] | Drop:
        run = await assist(item["question"], ctx.child("assistant"))
        if run is None:
            return Drop("assistant: step limit")
        return [{**item, "base": run}]

    async def reverse(item: Item, ctx: Context) -> list[Item] | Drop:
        ids = identifiers(item["question"]) if opts["identity"] else []
        alternates = await ask_questions(ctx.child("reverse_engineer"), render(
            PROMPTS / "reverse.j2", response=item["base"]["response"], identifiers=ids, n=opts["alternates"]),
            opts["alternates"])
        return [{**item, "alternate_questions": alternates}] if alternates else Drop("no alternate question")

    async def alternate(item: Item, ctx: Context) -> list[Item] | Drop:
        scopes = [ctx.child("assistant", j) for j in range(len(item["alternate_questions"]))]
        runs = [await assist(q, scope) for q, scope in zip(item["alternate_questions"], scopes)]
        return [{**item, "alternates": [None if r is None else {k: r[k] for k in ("trajectory", "calls", "response")}
                                        for r in runs]}]

    async def verify(item: Item, ctx: Context) -> list[Item] | Drop:
        base, alts = item["base"], item["alternates"]
        replies = [a["response"] if a else "" for a in alts]
        if embedder is not None:
            vectors = await ctx.embed(embedder, [base["response"] or " ", *[r or " " for r in replies]])
            sims = [F.cosine(vectors[0], v) for v in vectors[1:]]
        else:
            sims = [F.text_similarity(base["response"], r) for r in replies]
        f = F.features(base["trajectory"], [a["trajectory"] if a else None for a in alts], sims)
        correct = knn.predict(f) if knn is not None else F.rule_verdict(
            f, agree_distance=opts["agree_distance"], agree_fraction=opts["agree_fraction"])
        verdict = {"likely_correct": correct, "verifier": opts["verifier"], "features": f}
        if not correct:
            return Drop("verifier: likely incorrect")
        return [{**item, "verdict": verdict, "note": {"verifier": {"likely_correct": True,
                                                                    "exact_match": f["exact_match"]}}}]

    c = opts["concurrency"]
    stages = [Stage("investigate", investigate, concurrency=c), Stage("dedup", dedup, batch=True),
              Stage("answer", answer, concurrency=c), Stage("reverse", reverse, concurrency=c),
              Stage("alternate", alternate, concurrency=c), Stage("verify", verify, concurrency=c)]
    return Pipeline(NAME, stages, seeds=starts, meta={"domain": domain.name, "limit": limit, "seed": seed, **opts})


def tool_names(domain: str, wanted: str = "") -> list[str]:
    """The domain's tool names (all, or the comma-separated `wanted`, checked), in tool_schemas.json order."""
    names = [t["function"]["name"] for t in _schemas(domain)]
    if not wanted.strip():
        return names
    asked = [w.strip() for w in wanted.split(",") if w.strip()]
    unknown = [w for w in asked if w not in names]
    if unknown:
        raise ConfigError(f"pipeline {NAME}: option tools names {', '.join(unknown)}, not tools of tau {domain} "
                          f"({', '.join(names)})")
    return [n for n in names if n in asked]


def tools_of(domain: str, names: list[str]) -> list[dict[str, Any]]:
    """The OpenAI tool schemas of `names` (what the assistant was offered)."""
    return [dict(t) for t in _schemas(domain) if t["function"]["name"] in names]


@cache
def _schemas(domain: str) -> tuple[dict[str, Any], ...]:
    from ....envs.tau import load_domain

    return load_domain(domain).tool_schemas  # type: ignore[arg-type]


def rows(items: list[dict], run_id: str) -> list[dict]:
    out = []
    for item in items:
        lineage = {"domain": item["domain"], "seed_id": item["seed_id"], "target_id": item["target_id"],
                   "alternate_questions": item["alternate_questions"],
                   "alternate_trajectories": [a["trajectory"] if a else None for a in item["alternates"]],
                   "verdict": item["verdict"]}
        out.append({"kind": "sft", "messages": item["base"]["messages"],
                    "tools": tools_of(item["domain"], item["tools"]),
                    "provenance": {**provenance(item, NAME, run_id), **lineage}})
    return out
