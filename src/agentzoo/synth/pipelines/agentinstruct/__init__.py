"""AgentInstruct (Mitra et al. 2024, Orca-3; PAPERS.md #35): instruction data made by agentic flows over raw text.

One skill's flows, as the paper runs them for reading comprehension, over the seed corpus shipped in
`agentzoo/synth/data/agentinstruct_seeds.jsonl` (or a corpus of your own, `corpus=PATH`):

    transform   each seed document → k texts, each by one content-transformation agent (argument, debate, …)
    generate    each text → m questions, each of one type of the skill's taxonomy
    refine      each question → `refine_rounds` suggester→editor rounds that make it harder
    respond     each refined instruction (text + question) → the model's answer
    dedup       an instruction made twice is kept once

Every item keeps its lineage (seed id, transformation flow, taxonomy type, each refinement round) and the scopes
of the calls that made it; a row is one SFT example (the instruction as the user turn, the answer as the
assistant's) with that lineage in its provenance. Roles have their own scope names (`transformer#j`,
`generator#j`, `suggester#r`, `editor#r`, `responder`) so a spec can give each role its own model.
"""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path
from typing import Any

from .... import _json
from ....errors import ConfigError
from ....prompts import render
from ....protocols import Model
from ....runtime.context import Context
from ....types import ModelRequest
from ...pipeline import Drop, Item, Pipeline, Stage, provenance
from .._options import refuse_unknown

NAME = "agentinstruct"
PAPER = "Mitra et al. 2024, AgentInstruct: Toward Generative Teaching with Agentic Flows (Orca-3) (#35)"
SUMMARY = "reading-comprehension SFT data: seed texts transformed, questions by taxonomy type, refined, answered"
ENVS: tuple[str, ...] = ()
"""None: it reads a text corpus (`corpus=FILE`, or the shipped one), not an environment; `build` ignores `env`."""

HERE = Path(__file__).parent
PROMPTS = HERE / "prompts"
CORPUS = HERE.parent.parent / "data" / "agentinstruct_seeds.jsonl"

OPTIONS: dict[str, object] = {
    "transformations": 2,
    "instructions": 2,
    "refine_rounds": 1,
    "words": 250,
    "corpus": "",
    "concurrency": 4,
}
OPTION_SOURCES: dict[str, str] = {
    "transformations": "ours: k transformed texts per seed (the paper varies it per flow; PAPERS.md #35 protocol: k)",
    "instructions": "ours: m questions per transformed text (PAPERS.md #35 protocol: m)",
    "refine_rounds": "PAPERS.md #35 protocol: every instruction passes through at least one suggester→editor round",
    "words": "ours: the length cap asked of a transformed text, so it fits a small model's context",
    "corpus": "ours: a JSONL of {id, text[, title]} to use instead of the shipped seeds",
    "concurrency": "ours: items in flight per stage",
}
DEVIATIONS: list[str] = [
    "One skill (reading comprehension) of the paper's 17, with 6 transformation agents and a 10-type taxonomy of "
    "our own wording (the paper lists 43 reading-comprehension question types); other skills are new flows.json "
    "entries and prompts.",
    "No tool use inside the flows (the paper's agents may search or run code); reading comprehension needs none.",
    "The seed corpus is 22 passages written for agentzoo, not web documents (see data/SOURCE.md).",
    "Quality filtering is an exact-duplicate check and dropping empty replies here; near-duplicates and benchmark "
    "overlap are left to `agentzoo.synth.dedup`/`decontam` at export.",
]


@cache
def flows() -> dict[str, Any]:
    """The skill's transformation agents and question taxonomy (flows.json): data, not code."""
    return json.loads((HERE / "flows.json").read_text(encoding="utf-8"))


def load_corpus(path: str | Path = "") -> list[dict[str, str]]:
    """The seed documents: the shipped corpus, or a JSONL file of {id, text[, title]}."""
    source = Path(path) if path else CORPUS
    docs = []
    for number, doc in _json.read_lines(source, "agentinstruct corpus"):
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not isinstance(doc.get("text"), str):
            raise ConfigError(f"agentinstruct corpus {source}, line {number}: needs text fields `id` and `text`")
        docs.append({"id": doc["id"], "title": str(doc.get("title", doc["id"])), "text": doc["text"]})
    if not docs:
        raise ConfigError(f"agentinstruct corpus {source}: no documents")
    return docs


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    refuse_unknown(NAME, OPTIONS, options)
    merged = {**OPTIONS, **options}
    for key, default in OPTIONS.items():
        value = merged[key]
        if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"pipeline {NAME}: option {key} must be a whole number of at least 1, got {value!r}")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"pipeline {NAME}: option {key} must be text, got {value!r}")
    spec = flows()
    for key, pool in (("transformations", "transformations"), ("instructions", "taxonomy")):
        if merged[key] > len(spec[pool]):
            raise ConfigError(f"pipeline {NAME}: option {key}={merged[key]} is more than the {len(spec[pool])} "
                              f"{pool} in flows.json")
    return merged


def _text(reply: str | None) -> str:
    """A model's reply as plain text: trimmed, one pair of wrapping quotes removed."""
    text = (reply or "").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def build(model: Model, env: Any = None, *, limit: int = 4, seed: int = 0, **options: Any) -> Pipeline:
    opts = check_options(options)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"pipeline {NAME}: limit must be a whole number of at least 1, got {limit!r}")
    spec = flows()
    docs = load_corpus(opts["corpus"])
    random.Random(seed).shuffle(docs)  # which documents a small limit takes depends on the seed only
    seeds = [{"seed_id": d["id"], "title": d["title"], "seed_text": d["text"]} for d in docs[:limit]]

    async def ask(ctx: Context, prompt: str) -> str:
        response = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": prompt}]))
        return _text(response.text)

    async def transform(item: Item, ctx: Context) -> list[Item] | Drop:
        names = random.Random(f"{seed}/{item['seed_id']}").sample(sorted(spec["transformations"]),
                                                                  opts["transformations"])
        scopes = [ctx.child("transformer", j) for j in range(len(names))]
        out = []
        for name, scope in zip(names, scopes):
            text = await ask(scope, render(PROMPTS / "transform.j2", brief=spec["transformations"][name],
                                           title=item["title"], text=item["seed_text"], words=opts["words"]))
            if text:
                out.append({"seed_id": item["seed_id"], "flow": name, "text": text})
        return out or Drop("empty transformation")

    async def generate(item: Item, ctx: Context) -> list[Item] | Drop:
        kinds = random.Random(f"{seed}/{item['seed_id']}/{item['flow']}").sample(sorted(spec["taxonomy"]),
                                                                                 opts["instructions"])
        scopes = [ctx.child("generator", j) for j in range(len(kinds))]
        out = []
        for kind, scope in zip(kinds, scopes):
            question = await ask(scope, render(PROMPTS / "generate.j2", text=item["text"],
                                               description=spec["taxonomy"][kind]))
            if question:
                out.append({**item, "taxonomy": kind, "question": question})
        return out or Drop("empty question")

    async def refine(item: Item, ctx: Context) -> list[Item] | Drop:
        instruction, rounds = item["question"], []
        for r in range(opts["refine_rounds"]):
            suggestions = await ask(ctx.child("suggester", r),
                                    render(PROMPTS / "suggest.j2", text=item["text"], instruction=instruction))
            edited = await ask(ctx.child("editor", r), render(PROMPTS / "edit.j2", text=item["text"],
                                                              instruction=instruction, suggestions=suggestions))
            if not edited:
                return Drop("empty edit")
            rounds.append({"suggestions": suggestions, "instruction": edited})
            instruction = edited
        return [{**item, "refinements": rounds, "instruction": instruction}]

    async def respond(item: Item, ctx: Context) -> list[Item] | Drop:
        answer = await ask(ctx.child("responder"), _prompt(item))
        return [{**item, "response": answer}] if answer else Drop("empty response")

    async def dedup(items: list[Item], ctx: Context) -> list[Item]:
        seen: set[str] = set()
        out = []
        for item in items:
            key = " ".join(_prompt(item).lower().split())
            if key not in seen:
                seen.add(key)
                out.append(item)
        return out

    c = opts["concurrency"]
    stages = [Stage("transform", transform, concurrency=c), Stage("generate", generate, concurrency=c),
              Stage("refine", refine, concurrency=c), Stage("respond", respond, concurrency=c),
              Stage("dedup", dedup, batch=True)]
    return Pipeline(NAME, stages, seeds=seeds,
                    meta={"skill": spec["skill"], "limit": limit, "seed": seed, **opts})


def _prompt(item: Item) -> str:
    """The instruction as the trainee sees it: the transformed text, then the refined question."""
    return render(PROMPTS / "task.j2", text=item["text"], instruction=item["instruction"])


def rows(items: list[dict], run_id: str) -> list[dict]:
    out = []
    for item in items:
        lineage = {"seed_id": item["seed_id"], "flow": item["flow"], "taxonomy": item["taxonomy"],
                   "skill": flows()["skill"], "seed_question": item["question"],
                   "refinements": item["refinements"]}
        out.append({"kind": "sft",
                    "messages": [{"role": "user", "content": _prompt(item)},
                                 {"role": "assistant", "content": item["response"]}],
                    "provenance": {**provenance(item, NAME, run_id), **lineage}})
    return out
