"""A synthesis run's report: counts in and out per stage with the reasons items were dropped, what each stage
spent (model calls, tokens, cost: the journal's entries summed under the stage's scope), judge scores, and the
rows written after deduplication and decontamination.

Everything comes from the journal and the rows, so the report of a finished run can be made again at any time
with no model call (`agentzoo synth ... ` on a finished folder).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..runtime.journal import Journal
from .pipeline import KIND, StageRecord, stage_records


@dataclass
class StageCost:
    model_calls: int = 0
    other_effects: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    """Model calls whose price is unknown (a local or scripted model): cost says $0 for them."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def spending(journal: Journal, run_id: str) -> tuple[dict[str, StageCost], dict[str, dict[str, Any]]]:
    """What the run spent, in one pass over its journal: by stage (every entry under the stage's scope, its
    first segment), and model calls by role (the name of the scope that made each call, its last segment without
    `#i`, with the models that served it: the names `--role-model ROLE=MODEL` takes)."""
    costs: dict[str, StageCost] = defaultdict(StageCost)
    roles: dict[str, dict[str, Any]] = {}
    for entry in journal.entries(run_id):
        cost = costs[entry.scope.split("/", 1)[0].partition("#")[0]]
        if entry.kind == "model":
            cost.model_calls += 1
            cost.input_tokens += entry.usage.input_tokens
            cost.output_tokens += entry.usage.output_tokens
            if entry.cost_usd is None:
                cost.unpriced += 1
            else:
                cost.cost_usd += entry.cost_usd
            role = entry.scope.rsplit("/", 1)[-1].partition("#")[0] or "(run)"
            row = roles.setdefault(role, {"model_calls": 0, "input_tokens": 0, "output_tokens": 0, "models": []})
            row["model_calls"] += 1
            row["input_tokens"] += entry.usage.input_tokens
            row["output_tokens"] += entry.usage.output_tokens
            if entry.name and entry.name not in row["models"]:
                row["models"].append(entry.name)
        elif entry.kind != KIND:
            cost.other_effects += 1
    return dict(costs), dict(sorted(roles.items()))


def judge_scores(records: list[StageRecord]) -> dict[str, dict[str, Any]]:
    """Per stage that noted verdicts (`{score, passed}` under a key of its note): how many, their mean, and the
    share that passed, over the items it passed on (the dropped ones count in the stage's drop reasons)."""
    out: dict[str, dict[str, Any]] = {}
    for record in records:
        scores: list[float] = []
        for item in record.items:
            for entry in item.get("provenance") or ():
                if entry.get("stage") != record.stage or not isinstance(entry.get("note"), dict):
                    continue
                for verdict in entry["note"].values():
                    if isinstance(verdict, dict) and isinstance(verdict.get("score"), int | float):
                        scores.append(float(verdict["score"]))
        if scores:
            out[record.stage] = {"judged": len(scores), "mean": sum(scores) / len(scores),
                                 "min": min(scores), "max": max(scores)}
    return out


@dataclass
class SynthReport:
    pipeline: str
    meta: dict[str, Any]
    records: list[StageRecord]
    costs: dict[str, StageCost]
    rows: dict[str, Any] = field(default_factory=dict)
    """kinds, count and the files written by format"""
    dedup: Any = None
    decontam: Any = None
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, journal: Journal, run_id: str, pipeline: str, meta: dict[str, Any]) -> SynthReport:
        costs, roles = spending(journal, run_id)
        return cls(pipeline, {**meta, "run_id": run_id, "status": journal.get_run(run_id).status},
                   stage_records(journal, run_id), costs, roles=roles)

    def to_json(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "meta": self.meta,
                "stages": [{"stage": r.stage, "in": r.items_in, "out": r.items_out, "dropped": r.dropped,
                            "cost": self.costs.get(r.stage, StageCost()).to_json()} for r in self.records],
                "roles": self.roles, "judges": judge_scores(self.records), "rows": self.rows,
                "dedup": _json_of(self.dedup), "decontamination": _json_of(self.decontam)}

    def to_markdown(self) -> str:
        m = self.meta
        lines = [f"# Synthesis: {self.pipeline}", "",
                 " · ".join(f"{k} {m[k]}" for k in ("paper", "env", "model", "models", "limit", "seed", "run_id",
                                                                 "status")
                            if m.get(k) is not None), "",
                 "## Stages", "",
                 "Items in and out of each stage, why the others were dropped, and what the stage spent (the "
                 "journal's entries under its scope).", "",
                 "| stage | in | out | dropped | model calls | tokens in / out | cost |",
                 "| --- | ---: | ---: | --- | ---: | ---: | ---: |"]
        for r in self.records:
            c = self.costs.get(r.stage, StageCost())
            why = ", ".join(f"{n} {reason}" for reason, n in r.dropped.items()) or "—"
            cost = f"${c.cost_usd:.4f}" + (" (unpriced calls)" if c.unpriced else "")
            lines.append(f"| {r.stage} | {r.items_in} | {r.items_out} | {_cell(why)} | {c.model_calls} | "
                         f"{c.input_tokens:,} / {c.output_tokens:,} | {cost} |")
        if self.roles:
            lines += ["", "## Roles", "", "Model calls by the scope that made them: `--role-model ROLE=MODEL` gives a "
                      "role its own model.", "", "| role | model calls | tokens in / out | models |",
                      "| --- | ---: | ---: | --- |"]
            lines += [f"| {role} | {r['model_calls']} | {r['input_tokens']:,} / {r['output_tokens']:,} | "
                      f"{_cell(', '.join(r['models'])) or '—'} |" for role, r in self.roles.items()]
        judges = judge_scores(self.records)
        if judges:
            lines += ["", "## Judge scores", "", "Over the items each judging stage passed on.", "",
                      "| stage | judged | mean | min | max |", "| --- | ---: | ---: | ---: | ---: |"]
            lines += [f"| {s} | {j['judged']} | {j['mean']:.2f} | {j['min']:g} | {j['max']:g} |"
                      for s, j in judges.items()]
        if self.rows:
            lines += ["", "## Rows", "", f"{self.rows.get('count', 0)} rows "
                      f"({', '.join(f'{n} {k}' for k, n in sorted((self.rows.get('kinds') or {}).items())) or 'none'})"
                      " after deduplication and decontamination.", ""]
            lines += [f"- {fmt}: `{path}`" for fmt, path in sorted((self.rows.get("files") or {}).items())]
        for title, part in (("Deduplication", self.dedup), ("Decontamination", self.decontam)):
            if part is not None:
                lines += ["", f"## {title}", "", part.to_markdown().strip()]
        return "\n".join(lines) + "\n"


def _json_of(part: Any) -> Any:
    return part.to_json() if part is not None and hasattr(part, "to_json") else part


def _cell(text: str) -> str:
    """A table cell's text: a drop reason may come from a model's words, so no pipe or newline breaks the table."""
    return text.replace("|", "\\|").replace("\n", " ")
