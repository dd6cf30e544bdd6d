"""AgentTorch archetypes (`agenttorch`): step time at 10k, 100k and 1M agents, numpy against a plain Python loop.

    python bench/agenttorch.py [--sizes 10000 100000 1000000] [--steps 3] [--template age_group,occupation,gender]
                               [--n-arch 1] [--out bench/results/agenttorch.md]

Per size, on the shipped `riverton-epidemic` scenario (its attributes and parameters; the population drawn at that
size), in one process:

- **numpy**: grouping by the template once (`grouping.group_by`), then per step the broadcast of one value per
  group to every agent (`Groups.broadcast`) and one epidemic week (`Epidemic.step`: the weekly stay-home draw and
  seven daily SEIR sub-steps); median over `--steps` steps.
- **Python floor**: the same work written as a plain per-agent loop (a dict from attribute tuple to group, a list
  lookup per agent, the same SEIR rules agent by agent with `random.random()`), timed on one step in the same
  run; "ratio" is Python over numpy.
- **full step**: the recipe itself (`build_recipe("agenttorch", scripted)`) through the runner with a journal on
  disk: the per-group prompts rendered, G × n_arch calls of a scripted model (`local=True`: a pure function,
  committed in batches) through the gateway, the broadcast, the week, the journaled step record and clock tick;
  the median time between consecutive steps' records (a listener on the journal) over a run of 1 + `--steps`
  steps, so the setup (population, grouping, first prompts) is left out.

The machine's load average is printed with each row: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from agentzoo import Journal  # noqa: E402
from agentzoo.envs.populations import load_scenario  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.recipes.agenttorch.epidemic import Epidemic  # noqa: E402
from agentzoo.recipes.agenttorch.grouping import group_by  # noqa: E402
from agentzoo.recipes.agenttorch.population import synthesize  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402

SCENARIO = "riverton-epidemic"


def answer(request) -> str:
    """A scripted archetype: a probability from the prompt's length, so groups differ."""
    return json.dumps({"stay_home_probability": round((len(request.messages[-1]["content"]) % 50) / 100, 2)})


# --- numpy ------------------------------------------------------------------------------------------------


def numpy_parts(scenario, size: int, template: tuple[str, ...], steps: int) -> dict:
    rng = np.random.default_rng(0)
    population = synthesize(scenario, size, rng)
    start = time.perf_counter()
    groups = group_by(population, template)
    grouping = time.perf_counter() - start
    world = Epidemic(scenario, population, rng)
    values = np.linspace(0.1, 0.6, len(groups))
    broadcast, week = [], []
    for k in range(steps):
        start = time.perf_counter()
        behaviour = groups.broadcast(values)
        middle = time.perf_counter()
        world.step(behaviour, rng, k, None)
        end = time.perf_counter()
        broadcast.append(middle - start)
        week.append(end - middle)
    return {"population": population, "groups": groups, "grouping": grouping, "values": values,
            "broadcast": statistics.median(broadcast), "week": statistics.median(week)}


# --- the plain Python floor ---------------------------------------------------------------------------------


def python_parts(scenario, population, template: tuple[str, ...], values: np.ndarray) -> dict:
    """Grouping, broadcast and one epidemic week, agent by agent, with the same rules as `Epidemic`."""
    p = scenario.parameters
    n = population.size
    columns = [population.codes[name].tolist() for name in template]
    place = population.codes[scenario.locality].tolist()
    places = len(scenario.attributes[scenario.locality].values)
    start = time.perf_counter()
    index: dict[tuple, int] = {}
    group_of = [index.setdefault(key, len(index)) for key in zip(*columns, strict=True)]
    grouping = time.perf_counter() - start

    rnd = random.Random(0)
    susceptibility = [1.0] * n
    for name, table in p["susceptibility"].items():
        factors = [table.get(v, 1.0) for v in scenario.attributes[name].values]
        codes = population.codes[name].tolist()
        susceptibility = [s * factors[c] for s, c in zip(susceptibility, codes, strict=True)]
    stage = [2 if rnd.random() < p["initial_infected"] else 0 for _ in range(n)]
    timer = [rnd.randint(1, p["infectious_days"]) if s == 2 else 0 for s in stage]
    size = [0] * places
    for where in place:
        size[where] += 1
    by_group = [float(values[g % len(values)]) for g in range(len(index))]  # any value per group: this times

    start = time.perf_counter()
    behaviour = [by_group[g] for g in group_of]
    middle = time.perf_counter()
    beta, mixing, factor = p["r0"] / p["infectious_days"], p["mixing"], p["isolation_contact_factor"]
    contacts = [factor if rnd.random() < b else 1.0 for b in behaviour]
    cases = 0
    for _ in range(7):
        for i in range(n):
            s = stage[i]
            if s == 1 or s == 2:
                timer[i] -= 1
                if timer[i] <= 0:
                    if s == 1:
                        stage[i], timer[i] = 2, p["infectious_days"]
                        cases += 1
                    else:
                        stage[i] = 3
        load = [0.0] * places
        for i in range(n):
            if stage[i] == 2:
                load[place[i]] += contacts[i]
        total = sum(load)
        pressure = [beta * ((1 - mixing) * load[q] / size[q] + mixing * total / n) if size[q] else 0.0
                    for q in range(places)]
        for i in range(n):
            if stage[i] == 0 and rnd.random() < 1.0 - math.exp(-contacts[i] * susceptibility[i] * pressure[place[i]]):
                stage[i], timer[i] = 1, p["exposed_days"]
    end = time.perf_counter()
    return {"grouping": grouping, "broadcast": middle - start, "week": end - middle, "groups": len(index)}


# --- the recipe, end to end ---------------------------------------------------------------------------------


async def full_run(size: int, steps: int, template: list[str], n_arch: int, folder: Path) -> tuple[float, int]:
    """The median time between consecutive steps' records (so the setup before the first step is left out), and
    the run's model calls."""
    model = ScriptedModel(answer, name="archetypes", local=True)
    agent = build_recipe("agenttorch", model, population=size, steps=1 + steps, template=template, n_arch=n_arch,
                         concurrency=8)
    ends: list[float] = []

    def listen(entry, served) -> None:
        if entry.kind == "env":
            ends.append(time.perf_counter())

    with Journal(folder / f"j-{size}.db") as journal:
        result = await runner.run(agent, SCENARIO, journal=journal, listeners=[listen])
    assert result.ok, result.error
    return statistics.median(b - a for a, b in zip(ends, ends[1:])), json.loads(result.answer)["model_calls"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--template", default="age_group,occupation,gender")
    parser.add_argument("--n-arch", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    template = tuple(args.template.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            fast = numpy_parts(scenario, size, template, args.steps)
            slow = python_parts(scenario, fast["population"], template, fast["values"])
            step, calls = asyncio.run(full_run(size, args.steps, list(template), args.n_arch, Path(tmp)))
            row = {"agents": size, "groups": len(fast["groups"]), "calls_per_step": calls // (1 + args.steps),
                   "grouping_ms": 1e3 * fast["grouping"], "python_grouping_ms": 1e3 * slow["grouping"],
                   "numpy_step_ms": 1e3 * (fast["broadcast"] + fast["week"]),
                   "broadcast_ms": 1e3 * fast["broadcast"], "week_ms": 1e3 * fast["week"],
                   "python_step_ms": 1e3 * (slow["broadcast"] + slow["week"]),
                   "full_step_ms": 1e3 * step, "load": os.getloadavg()[0]}
            row["ratio"] = row["python_step_ms"] / row["numpy_step_ms"]
            rows.append(row)
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    if args.out is not None:
        args.out.write_text(report(rows, args), encoding="utf-8")


def report(rows: list[dict], args) -> str:
    command = (f"python bench/agenttorch.py --sizes {' '.join(map(str, args.sizes))} --steps {args.steps} "
               f"--template {args.template} --n-arch {args.n_arch}")
    lines = ["# AgentTorch archetypes: step time by population size", "", f"`{command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}. "
             f"Scenario `{SCENARIO}` (an epidemic week a step: 7 daily SEIR sub-steps); template `{args.template}`.",
             "",
             "| agents | groups | grouping once (numpy / Python) ms | numpy step ms (broadcast + week) | "
             "Python per-agent step ms | Python / numpy | full recipe step ms (calls) | load avg |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['agents']:,} | {r['groups']} | {r['grouping_ms']:.1f} / {r['python_grouping_ms']:.0f} | "
                     f"{r['numpy_step_ms']:.1f} ({r['broadcast_ms']:.1f} + {r['week_ms']:.1f}) | "
                     f"{r['python_step_ms']:,.0f} | {r['ratio']:.0f}× | {r['full_step_ms']:.1f} "
                     f"({r['calls_per_step']}) | {r['load']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
