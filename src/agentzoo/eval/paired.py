"""Paired comparisons: each agent against a baseline agent, on the same tasks and the same seeds.

A *pair* is two scored samples (status `finished` or `failed`; an infrastructure failure is no
outcome) with the same environment, model, task and seed, one of the agent and one of the
baseline. Only pairs count: a sample whose partner is missing (not run yet, or failed on
infrastructure) is counted as unpaired and left out. Per agent × environment × model, the mean of
(agent − baseline) success over the pairs, its paired bootstrap interval (`stats.paired_difference`:
tasks resampled with all their seeds), whether the interval leaves out 0, and the minimum
detectable difference of the design (`stats.minimum_detectable_difference`).

Pairing removes what the two agents share (how hard each task is), so a paired interval is
narrower than the two separate intervals of the success rates suggest, and it is the one that says
whether a difference is noise.

`paired_summary(rows, meta)` is what summary.json holds under `paired`; `comparisons(rows,
baseline, who=...)` serves `agentzoo compare`, where an agent is a (folder, label).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from .stats import (ALPHA, ASSUMED_VARIANCE, CONFIDENCE, MIN_TASKS_OBSERVED, POWER, RESAMPLES,
                    minimum_detectable_difference, paired_difference)

INFRA = "infra_error"  # a sample that failed on infrastructure has no outcome (as in the report)
NOT_DISTINGUISHABLE = "not distinguishable from the baseline"
METHOD = {
    "paired": (f"mean of (agent − baseline) success over pairs of scored samples with the same environment, model, "
               f"task and seed; {CONFIDENCE:.0%} percentile bootstrap interval, {RESAMPLES} resamples of the paired "
               f"tasks (each with all its seeds), fixed seed; '{NOT_DISTINGUISHABLE}' when the interval contains 0; "
               "samples without a partner are counted as unpaired and left out"),
    "mde": (f"minimum detectable difference (two-sided α = {ALPHA}, power {POWER}): (z(1−α/2) + z(power)) · σ / √tasks "
            "(Bloom 1995's multiplier, 2.80, times the standard error of a paired mean), σ the standard deviation "
            f"over tasks of a task's mean paired difference; observed with {MIN_TASKS_OBSERVED} or more paired tasks "
            f"whose differences vary, else assumed σ² = {ASSUMED_VARIANCE} (two unrelated agents at 50%: the most "
            "0/1 outcomes vary without negative correlation, seeds given no credit)"),
}


def scored(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("status") != INFRA]


def choose_baseline(meta: dict[str, Any] | None, agents: list[str]) -> dict[str, Any]:
    """The baseline label and why: the one the eval named (`baseline:`/`--baseline`), the matched
    single-agent anchor the plan added, or else the first agent listed — said so in `note`."""
    meta = meta or {}
    named = meta.get("baseline")
    anchor = (meta.get("anchor") or {}).get("label") if isinstance(meta.get("anchor"), dict) else None
    if not agents:
        return {"label": named, "source": "named" if named else None, "note": None}
    if named in agents:
        if named == anchor:
            agents_for = ", ".join(meta["anchor"].get("for") or ())
            return {"label": named, "source": "anchor",
                    "note": f"the matched single-agent anchor the eval added (the same model and per-sample budget) "
                            f"because every other agent is a multi-agent recipe ({agents_for}); --no-anchor or "
                            "`anchor: false` leaves it out"}
        return {"label": named, "source": "named", "note": None}
    first = agents[0]
    if named:
        note = f"the first agent listed: the named baseline {named} has no samples here"
    else:
        note = ("the first agent listed, as no baseline was named (name one with --baseline, or `baseline:` in an "
                "experiment file)")
    return {"label": first, "source": "first agent", "note": note}


def comparisons(rows: Iterable[dict[str, Any]], baseline: Hashable, *,
                who: Callable[[dict[str, Any]], Hashable] = lambda r: r["agent"],
                order: Callable[[tuple[Hashable, str, str]], Any] | None = None) -> list[dict[str, Any]]:
    """Each (agent, env, model) other than the baseline's against the baseline on the same env and model.

    `who(row)` names a row's agent (a label; a (folder, label) in `agentzoo compare`); `baseline` is one
    such name. The result is in `order` of (agent, env, model), default the order rows first show them;
    a group whose env × model the baseline did not run has 0 pairs and no difference.
    """
    outcomes: dict[tuple[Hashable, str, str], dict[tuple[str, Any], bool]] = {}
    for r in scored(rows):
        outcomes.setdefault((who(r), r["env"], r["model"]), {})[(r["task"], r.get("seed"))] = bool(r.get("success"))
    groups = [g for g in outcomes if g[0] != baseline]
    if order is not None:
        groups.sort(key=order)
    out = []
    for agent, env, model in groups:
        mine, theirs = outcomes[(agent, env, model)], outcomes.get((baseline, env, model), {})
        by_task: dict[str, list[tuple[bool, bool]]] = {}
        for (task, seed), success in mine.items():
            if (task, seed) in theirs:
                by_task.setdefault(task, []).append((success, theirs[(task, seed)]))
        ci = paired_difference(by_task)
        out.append({"agent": agent, "env": env, "model": model, "baseline": baseline,
                    "unpaired_agent": len(mine) - ci.pairs, "unpaired_baseline": len(theirs) - ci.pairs,
                    **ci.as_dict(), "mde": ci.mde.as_dict() if ci.mde else None})
    return out


def design_mde(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per environment, the minimum detectable difference a paired comparison of its tasks and seeds
    would have under the assumed variance: what the design can see before any agent is compared."""
    tasks: dict[str, set[str]] = {}
    seeds: dict[str, set[Any]] = {}
    for r in scored(rows):
        tasks.setdefault(r["env"], set()).add(r["task"])
        seeds.setdefault(r["env"], set()).add(r.get("seed"))
    return [{"env": env, "tasks": len(found), "seeds": len(seeds[env]),
             "mde": minimum_detectable_difference([], tasks=len(found)).as_dict()}
            for env, found in tasks.items()]


def paired_summary(rows: list[dict[str, Any]], meta: dict[str, Any] | None,
                   order: Callable[[tuple[str, str, str]], Any] | None = None,
                   agents: list[str] | None = None) -> dict[str, Any]:
    """What summary.json holds under `paired`: the baseline and why, every comparison with it, and
    the design's minimum detectable difference per environment. `agents`: the labels in the eval's
    order (default: the meta's agents that have rows, then the others as rows show them)."""
    present = list(dict.fromkeys(r["agent"] for r in rows))
    if agents is None:
        listed = [a for a in (meta or {}).get("agents") or () if a in present]
        agents = listed + [a for a in present if a not in listed]
    choice = choose_baseline(meta, agents)
    found = comparisons(rows, choice["label"], order=order) if choice["label"] is not None and len(agents) > 1 else []
    return {"baseline": choice["label"], "baseline_source": choice["source"], "note": choice["note"],
            "method": METHOD, "comparisons": found, "design": design_mde(rows)}
