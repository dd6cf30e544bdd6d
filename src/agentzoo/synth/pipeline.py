"""A synthesis pipeline: stages that turn items into items, run as one journaled run.

    pipeline = Pipeline("pae", [Stage("propose", propose), Stage("attempt", attempt, concurrency=4),
                                Stage("judge", judge), Stage("sample", keep_best, batch=True)])
    result = await runner.run(pipeline, "seed", journal=journal)        # or `agentzoo synth pae ...`
    rows = final_items(journal, result.run_id)

An item is a JSON dict. A per-item stage (`fn(item, ctx) -> list of items`) runs each item in its own scope
`<stage>/item#<i>`, created in order before any runs, so model calls, tool calls and environment steps made
inside are journaled where a replay and a resume find them again whatever the order they finished in; up to
`concurrency` items run at once. A batch stage (`batch=True`, `fn(items, ctx) -> items`) sees the whole list
(dedup, sampling, mixing). An item a stage drops can say why: return `Drop("reason")` instead of a list.

Each stage ends with one local `synth/stage` effect holding its counts in and out, the reasons items were
dropped, and the items it passed on. So a finished stage is served from the journal on resume (its items are
not made again), the report reads counts per stage without re-running anything, and the final stage's items
are the dataset (`final_items`). Every item out of a per-item stage gets a `provenance` entry for that stage:
its scope (where the calls that made it are) and any `note` the stage attached (judge scores, the parent's id).
A budget (the run's) that runs out inside an item drops that item with reason `budget` and stops the stage
from starting more; later stages still run on what was made, so a budgeted pipeline ends with a dataset. An
item whose request outgrows the model's context is dropped with reason `context too long` (it would fail the
same way again); any other error fails the run, cancels the item's siblings, and the run resumes from there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _json
from ..errors import BudgetExceeded, ConfigError, ContextLengthError, JournalError
from ..runtime.context import Context
from ..runtime.journal import Journal
from ..types import AgentResult

KIND = "synth"
STAGE = "stage"
BUDGET = "budget"
CONTEXT = "context too long"
Item = dict[str, Any]


@dataclass(frozen=True)
class Drop:
    """What a per-item stage returns for an item it does not pass on, and why (counted in the report)."""

    reason: str


ItemFn = Callable[[Item, Context], Awaitable["list[Item] | Drop"]]
BatchFn = Callable[[list[Item], Context], Awaitable[list[Item]]]


@dataclass(frozen=True)
class Stage:
    name: str
    fn: ItemFn | BatchFn
    batch: bool = False
    concurrency: int = 4

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "#" in self.name:
            raise ConfigError(f"stage name {self.name!r}: a non-empty name without '/' or '#'")
        if self.concurrency < 1:
            raise ConfigError(f"stage {self.name}: concurrency must be at least 1, not {self.concurrency}")


@dataclass
class StageRecord:
    """One stage's journaled outcome."""

    stage: str
    items_in: int
    items_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "in": self.items_in, "out": self.items_out, "dropped": self.dropped,
                "items": self.items}


class Pipeline:
    """Stages in order, as an agent: it runs wherever an agent runs (`runner.run`, resume, replay, fork).

    `seeds`: the first stage's items (default: one empty item, for pipelines whose first stage generates).
    `meta`: what the pipeline records about itself (its name, env, settings) in the first effect."""

    def __init__(self, name: str, stages: Sequence[Stage], *, seeds: Sequence[Item] | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        if not stages:
            raise ConfigError(f"pipeline {name}: no stages")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ConfigError(f"pipeline {name}: stage names must be unique, got {names}")
        self.name, self.stages = name, list(stages)
        self.seeds = [dict(s) for s in seeds] if seeds is not None else [{}]
        self.meta = dict(meta or {})
        self.records: list[StageRecord] = []

    async def run(self, task: str, ctx: Context) -> AgentResult:
        self.records = []
        items = [_with_provenance(item) for item in self.seeds]
        for stage in self.stages:
            record = await run_stage(stage, items, ctx.child(stage.name), pipeline=self.name)
            self.records.append(record)
            items = record.items
        counts = " → ".join(f"{r.stage} {r.items_out}" for r in self.records)
        return AgentResult(f"{self.name}: {len(self.seeds)} seed(s) → {counts}", [], len(self.records))


async def run_stage(stage: Stage, items: list[Item], ctx: Context, *, pipeline: str) -> StageRecord:
    """Run one stage on `items` in `ctx` (the stage's scope) and journal its outcome."""
    async def perform() -> dict[str, Any]:
        if stage.batch:
            out = [_with_provenance(i) for i in await stage.fn(items, ctx.child("batch"))]  # type: ignore[call-arg]
            dropped = {"filtered": len(items) - len(out)} if len(out) < len(items) else {}
            return StageRecord(stage.name, len(items), len(out), dropped, out).to_json()
        return (await _per_item(stage, items, ctx, pipeline)).to_json()

    request = {"pipeline": pipeline, "stage": stage.name, "in": len(items),
               "digest": _json.request_hash({"items": items})[:16]}
    recorded = await ctx.effect(KIND, STAGE, request, perform, local=True)
    return StageRecord(recorded["stage"], recorded["in"], recorded["out"], dict(recorded["dropped"]),
                       list(recorded["items"]))


async def _per_item(stage: Stage, items: list[Item], ctx: Context, pipeline: str) -> StageRecord:
    scopes = [ctx.child("item", i) for i in range(len(items))]  # in program order: the same names every run
    gate = asyncio.Semaphore(stage.concurrency)
    stopped = False

    async def one(item: Item, scope: Context) -> list[Item] | Drop:
        nonlocal stopped
        async with gate:
            if stopped:
                return Drop(BUDGET)
            try:
                made = await stage.fn(item, scope)  # type: ignore[call-arg]
            except BudgetExceeded:
                stopped = True
                return Drop(BUDGET)
            except ContextLengthError:  # this item's prompt outgrew the model: its own failure, not the run's
                return Drop(CONTEXT)
        if isinstance(made, Drop):
            return made
        if not isinstance(made, list) or not all(isinstance(m, dict) for m in made):
            raise ConfigError(f"pipeline {pipeline}, stage {stage.name}: a per-item stage returns a list of "
                              f"dicts or Drop(reason), got {type(made).__name__}")
        return [_stamp(m, item, stage.name, scope.scope.path) for m in made]

    tasks = [asyncio.ensure_future(one(item, scope)) for item, scope in zip(items, scopes)]
    try:
        if tasks:  # a stage may get no items (all dropped before it)
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:  # an item that failed (not on a budget) fails the run: its siblings stop, spending nothing more
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failed = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if failed:
        raise failed[0]
    results = [t.result() for t in tasks]
    out: list[Item] = []
    dropped: Counter[str] = Counter()
    for result in results:
        if isinstance(result, Drop):
            dropped[result.reason] += 1
        elif not result:
            dropped["no output"] += 1
        else:
            out += result
    return StageRecord(stage.name, len(items), len(out), dict(sorted(dropped.items())), out)


def _with_provenance(item: Item) -> Item:
    item = dict(item)
    item.setdefault("provenance", [])
    return item


def _stamp(made: Item, parent: Item, stage: str, scope: str) -> Item:
    """`made` with the parent's provenance and this stage's entry (its scope; the note the stage attached)."""
    made = dict(made)
    note = made.pop("note", None)
    entry: dict[str, Any] = {"stage": stage, "scope": scope}
    if note is not None:
        entry["note"] = note
    inherited = made.get("provenance") if "provenance" in made else parent.get("provenance", [])
    made["provenance"] = [*(inherited or []), entry]
    return made


def stage_records(journal: Journal, run_id: str) -> list[StageRecord]:
    """Every stage a pipeline run finished, in order, from its journal."""
    info = journal.get_run(run_id)
    records = []
    for entry in journal.entries(info.run_id):
        if entry.kind == KIND and entry.name == STAGE and entry.status == "ok":
            r = entry.result
            records.append(StageRecord(r["stage"], r["in"], r["out"], dict(r["dropped"]), list(r["items"])))
    return records


def final_items(journal: Journal, run_id: str) -> list[Item]:
    """The last stage's items: the dataset a pipeline run made."""
    records = stage_records(journal, run_id)
    if not records:
        raise JournalError(f"run {run_id}: no finished synthesis stage (not a pipeline run, or it stopped in its "
                           "first stage: `agentzoo resume` it)")
    return records[-1].items


def provenance(item: Item, pipeline: str, run_id: str) -> dict[str, Any]:
    """A dataset row's provenance from an item: the pipeline and run, the last stage and the scope whose calls
    made the item, every stage it went through, and the notes stages attached (judge scores) by stage."""
    stages = list(item.get("provenance") or [])
    last = stages[-1] if stages else {}
    scores = {p["stage"]: p["note"] for p in stages if "note" in p}
    return {"pipeline": pipeline, "run_id": run_id, "stage": last.get("stage"), "scope": last.get("scope"),
            "stages": [p["stage"] for p in stages], "scopes": [p["scope"] for p in stages], "scores": scores}
